// Package bench holds benchmark code, not product: the baseline client that
// scripts/bench.sh measures wshold against (baseline/), and the program
// that prints the comparison table (benchtable/). Nothing in wshold
// imports it.
package bench
