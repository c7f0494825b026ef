package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/wshold/wshold/internal/server"
)

const serveUsage = `Usage: wshold serve [flags]

The built-in target: a WebSocket echo/hold server for labs, CI and proxy
tests. Put it behind the proxy under test and point 'wshold run' at the
proxy. It accepts any path, echoes text and binary messages, answers pings,
and holds idle connections cheaply (epoll: no goroutine or timer per
connection, one file descriptor each).

A request that is not a valid upgrade gets "400 Bad Request" with a one-line
body naming what is missing, like the Go and Node backends behind a broken
proxy config, e.g. for nginx's bare proxy_pass (HTTP/1.0, no Upgrade):
  HTTP/1.0 cannot upgrade; use HTTP/1.1; missing "Upgrade: websocket" header; ...

Flags:
  -l, --listen ADDR          host:port to listen on; repeat or comma-separate
                             for several; port 0 = a free port
                             (default 127.0.0.1:8080)
      --ping DUR             ping every connection every DUR (default 0 = never;
                             any frame re-arms a proxy's idle timer, so a
                             pinging server hides the proxy's timeout)
      --reuseport            set SO_REUSEPORT so several 'wshold serve'
                             processes share a port (past one process's
                             open-files limit)
      --loops N              epoll event loops (default: one per CPU)
      --stats-interval DUR   print counters to stderr every DUR (default 0 = off)
      --tls-cert FILE        serve wss:// with this PEM certificate (chain);
                             needs --tls-key. TLS is terminated in front of
                             the event loops, as a proxy would: a FIN the
                             server sends arrives as close_notify then FIN.
                             Each wss connection costs two goroutines: a
                             lab's TLS endpoint, not a scale target
      --tls-key FILE         the PEM private key of --tls-cert
  -h, --help                 this help

It runs until SIGINT or SIGTERM, then closes every connection (close frame
1001 where the socket has room) and prints its counters.

` + server.QueryHelp + `
Examples:
  wshold serve
  wshold serve --listen 127.0.0.1:13000 --stats-interval 10s
  wshold serve -l 127.0.0.1:13000,[::1]:13000 --reuseport --loops 2
  wshold run 'ws://127.0.0.1:8080/ws?fin_after=5s'   # what a FIN drop looks like
  wshold serve -l 127.0.0.1:8443 --tls-cert cert.pem --tls-key key.pem

Exit status: 0 stopped by a signal; 2 bad flags or could not listen.
`

func cmdServe(args []string, stdout, stderr io.Writer) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	return serve(args, stdout, stderr, sigs)
}

// serve runs the server until stop delivers; tests send their own signal.
func serve(args []string, stdout, stderr io.Writer, stop <-chan os.Signal) error {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	listen := fs.StringSliceP("listen", "l", []string{"127.0.0.1:8080"}, "")
	ping := fs.Duration("ping", 0, "")
	reusePort := fs.Bool("reuseport", false, "")
	loops := fs.Int("loops", 0, "")
	statsEvery := fs.Duration("stats-interval", 0, "")
	tlsCert := fs.String("tls-cert", "", "")
	tlsKey := fs.String("tls-key", "", "")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, serveUsage)
			return errHelp
		}
		return usagef("serve: %v; run 'wshold serve --help'", err)
	}
	switch {
	case fs.NArg() > 0:
		return usagef("serve: takes no arguments, got %q; to choose the address use --listen %s", fs.Arg(0), fs.Arg(0))
	case *ping < 0:
		return usagef("serve: --ping %v is negative; use 0 for no pings", *ping)
	case *loops < 0:
		return usagef("serve: --loops %d is negative; use 0 for one per CPU", *loops)
	case *statsEvery < 0:
		return usagef("serve: --stats-interval %v is negative; use 0 for none", *statsEvery)
	case (*tlsCert == "") != (*tlsKey == ""):
		return usagef("serve: --tls-cert and --tls-key go together: give the PEM certificate and its private key")
	}
	var tlsConf *tls.Config
	if *tlsCert != "" {
		var err error
		if tlsConf, err = server.LoadTLS(*tlsCert, *tlsKey); err != nil {
			return usagef("serve: %v", err)
		}
	}
	var addrs []string
	for _, a := range *listen {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return usagef("serve: --listen is empty; give host:port, e.g. --listen 127.0.0.1:8080")
	}

	var mu sync.Mutex // stderr is shared by the server's log and the stats ticker
	printf := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stderr, "wshold serve: "+format+"\n", a...)
	}
	srv, err := server.Start(server.Config{
		Listen:    addrs,
		Ping:      *ping,
		ReusePort: *reusePort,
		Loops:     *loops,
		TLS:       tlsConf,
		Logf:      printf,
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	scheme := "ws"
	if tlsConf != nil {
		scheme = "wss"
	}
	for _, a := range srv.Addrs() {
		printf("listening on %s://%s/ (any path)", scheme, a)
		if ip := a.(*net.TCPAddr).IP; !ip.IsLoopback() {
			printf("note: %s is reachable from other machines", a)
		}
	}

	var tick <-chan time.Time
	if *statsEvery > 0 {
		t := time.NewTicker(*statsEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			printf("%v", srv.Stats())
		case sig := <-stop:
			printf("%v: closing every connection", sig)
			err := srv.Close()
			printf("stopped; %v", srv.Stats())
			if err != nil {
				return fmt.Errorf("serve: close: %w", err)
			}
			return nil
		}
	}
}
