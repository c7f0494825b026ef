// Package integration holds the tests that run wshold end to end against
// real proxies from Debian packages (nginx, HAProxy, Caddy, Apache), started
// on loopback by internal/labtest from the configs in scripts/lab/, with
// wshold's own built-in target as the backend.
package integration
