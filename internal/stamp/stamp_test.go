package stamp

import (
	"testing"
)

func TestStampRoundTrips(t *testing.T) {
	p := make([]byte, Size)
	for _, k := range []Kind{Echo, Push, Broadcast} {
		Put(p, k, 0xdeadbeef, -12345)
		gk, seq, at, ok := Parse(p)
		if !ok || gk != k || seq != 0xdeadbeef || at != -12345 {
			t.Errorf("kind %c: parsed %c %x %d %v", k, gk, seq, at, ok)
		}
	}
}

func TestParseRefusesWhatIsNotAStamp(t *testing.T) {
	good := make([]byte, Size)
	Put(good, Echo, 1, 2)
	for name, p := range map[string][]byte{
		"short":        good[:Size-1],
		"no marker":    append([]byte{'x'}, good[1:]...),
		"old version":  append([]byte{'w', 'h', 0}, good[3:]...),
		"unknown kind": append(append([]byte{}, good[:3]...), append([]byte{'z'}, good[4:]...)...),
	} {
		if _, _, _, ok := Parse(p); ok {
			t.Errorf("%s: parsed as a stamp", name)
		}
	}
}

// A receiver checks a message chunk by chunk, knowing only how much of the
// payload is still to come: any split gives the same verdict, and one
// changed byte anywhere is found.
func TestPatternChecksInAnyChunks(t *testing.T) {
	const n = 300
	key := Key(77)
	p := make([]byte, n)
	Fill(p, key)
	for _, split := range []int{0, 1, 7, 150, 299, 300} {
		if !Check(p[:split], n, key) || !Check(p[split:], int64(n-split), key) {
			t.Errorf("split at %d: the intact pattern did not check", split)
		}
	}
	for _, at := range []int{0, 1, 128, 255, 256, 299} {
		bad := append([]byte(nil), p...)
		bad[at] ^= 0x10
		if Check(bad[:at+1], n, key) {
			t.Errorf("byte %d changed: not found", at)
		}
	}
	if Check(p, n, Key(78)) {
		t.Error("the pattern of another message checked")
	}
}
