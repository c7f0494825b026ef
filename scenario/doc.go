// Package scenario describes what a wshold run does and what it expects:
// the Scenario type, its TOML file format, its command-line flags, and the
// expectation grammar ("no-drops", "drop-at=60s±2s", …).
//
// Scenarios come from three layers, later ones winning: Defaults(), a file's
// [defaults] table and then its [[scenario]] table, and finally the flags the
// user set. Resolve checks the result and converts it, once, into the typed
// values every command uses (Resolved); every layer is checked the same way
// (Validate is Resolve without the result), and
// every problem is reported at once, with file:line when it came from a file,
// so one edit fixes them all. Nothing is coerced: "60" is not a duration and
// 3.0 is not a connection count.
package scenario
