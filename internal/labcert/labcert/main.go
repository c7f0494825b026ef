// Command labcert writes a throwaway CA and a loopback server certificate
// into a directory, for scripts/lab.sh (see package labcert).
//
//	go run ./internal/labcert/labcert DIR
package main

import (
	"fmt"
	"os"

	"github.com/wshold/wshold/internal/labcert"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: labcert DIR")
		os.Exit(2)
	}
	if err := labcert.WriteLoopback(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "labcert:", err)
		os.Exit(1)
	}
}
