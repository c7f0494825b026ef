package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/scenario"
)

// A command due after the hold has ended would never run, and the run
// would end without its mark as if it had not mattered: refused before
// anything starts.
func TestAtPastTheHoldIsRefused(t *testing.T) {
	sc := scenario.Defaults()
	sc.Target, sc.Conns, sc.Hold = "ws://127.0.0.1:9/", 1, scenario.Duration(2*time.Second)
	at, err := ParseAt("5s=nginx -s reload")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), resolved(t, sc), Options{At: []At{at}})
	var se *StartError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "--at 5s=nginx -s reload would never run: the hold of 2s ends first") {
		t.Fatalf("got %v, want a start error saying the command would never run", err)
	}
}
