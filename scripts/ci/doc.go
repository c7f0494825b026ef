// Package ci holds the example CI workflow (github-actions.yml) that runs
// wshold as a timeout regression check, and the test that keeps it valid.
package ci
