// Package labtest starts real reverse proxies (nginx, HAProxy, Caddy, Apache)
// on loopback for integration tests, from the config templates kept in
// scripts/lab/ — the same files that scripts/lab.sh renders for people.
//
// A test starts its own backend (an internal/server instance, or anything
// listening on a loopback port), then a proxy in front of it:
//
//	p := labtest.Nginx(t, "nginx-timeout.conf", map[string]string{
//		"UPSTREAM": backendAddr, // loopback host:port
//		"TIMEOUT":  "2",         // whole seconds
//	})
//	url := p.URL("/ws") // ws://127.0.0.1:PORT/ws
//
// Each proxy runs as a child process in its own process group with its own
// scratch directory, listens on a free port outside the kernel's ephemeral
// range (so no outgoing connection can be squatting on it), and is stopped by
// t.Cleanup, which also prints the tail of its log when the test failed.
//
// A missing proxy binary fails the test rather than skipping it: CI installs
// every proxy (.ci/run), and a silently skipped integration test would hide
// exactly the regressions these tests exist for.
package labtest
