package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/wshold/wshold/internal/check"
)

const checkUsage = `Usage: wshold check [flags] URL

Do one WebSocket upgrade and explain it: the request sent, the status line
and headers received, Sec-WebSocket-Accept verified against the key, and
for a failure who answered (the backend through a proxy, or the proxy
itself), the likely cause and the fix for the proxy in front (nginx,
HAProxy, Caddy, Apache; the one detected from Server/Via is listed first).

Example: nginx in front of a backend, without the upgrade headers:

  $ wshold check ws://127.0.0.1:8080/ws
  FAIL (http_426): nginx relayed the backend's refusal: nginx did not forward Upgrade
  ...
  Fix:
    1. nginx: speak HTTP/1.1 to the backend and forward the upgrade headers …
           proxy_http_version 1.1;
           proxy_set_header Upgrade $http_upgrade;
           proxy_set_header Connection "upgrade";

More examples:
  wshold check wss://example.com/socket --origin https://example.com
  wshold check ws://127.0.0.1:8080/ws -H 'Authorization: Bearer TOKEN' --json
  wshold check wss://10.0.0.5/ws --ca ./internal-ca.pem -H 'Host: app.internal'

Values of Authorization, Proxy-Authorization, Cookie, Set-Cookie and of
headers named by --redact are shown as [redacted], in text and JSON alike.
A URL's user:password@ is sent as Authorization: Basic. An answer upgrades
here exactly when it upgrades in wshold run: one judge decides both.

Flags:
%s
Exit status: 0 a valid upgrade (101 over HTTP/1.x, Upgrade: websocket,
Connection holding upgrade, one correct Sec-WebSocket-Accept, no extension,
no subprotocol not offered); 1 the upgrade failed, or no answer came
(refused, reset, timeout, TLS); 2 bad usage (URL, scheme, flags, a header
that could smuggle a request) or a host name that does not resolve.
`

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	var o check.Options
	var asJSON bool
	fs := pflag.NewFlagSet("check", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringArrayVarP(&o.Headers, "header", "H", nil, "extra request `HEADER` 'Name: value' (repeatable)")
	fs.StringVar(&o.Origin, "origin", "", "send this `ORIGIN` header, as a browser would (e.g. https://example.com)")
	fs.StringArrayVar(&o.Subprotocols, "subprotocol", nil, "offer subprotocol `NAME` in Sec-WebSocket-Protocol (repeatable)")
	fs.DurationVar(&o.Timeout, "timeout", check.DefaultTimeout, "`DURATION` limit for the whole check: lookup, connect, TLS and the answer")
	fs.BoolVar(&o.Insecure, "insecure", false, "wss: do not verify the server's certificate")
	fs.StringVar(&o.CAFile, "ca", "", "wss: trust the CA certificates in this PEM `FILE` instead of the system's")
	fs.StringArrayVar(&o.Redact, "redact", nil, "never show the value of this header `NAME` (repeatable)")
	fs.BoolVar(&asJSON, "json", false, "print the explanation as JSON (schema "+check.Schema+")")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(stdout, checkUsage, fs.FlagUsages())
			return errHelp
		}
		return usagef("check: %v; run 'wshold check --help'", err)
	}
	switch fs.NArg() {
	case 1:
	case 0:
		return usagef("check: give the WebSocket URL to check, e.g. wshold check ws://127.0.0.1:8080/ws")
	default:
		return usagef("check: give one URL, got %d (%q); put flags before or after it, quoted values in quotes", fs.NArg(), fs.Args())
	}
	if o.Timeout <= 0 {
		return usagef("check: --timeout %v must be positive, e.g. --timeout 10s", o.Timeout)
	}

	r, err := check.Run(context.Background(), fs.Arg(0), o)
	if err != nil {
		return usagef("check: %w", err)
	}
	if asJSON {
		err = r.WriteJSON(stdout)
	} else {
		err = r.WriteText(stdout)
	}
	if err != nil {
		return fmt.Errorf("check: writing the report: %w", err)
	}
	switch {
	case r.OK:
		return nil
	case r.Cause == check.CauseDNS:
		return usagef("check: the host in %s does not resolve; check its spelling or use an IP address", r.URL)
	default:
		return errFail
	}
}
