package report

import (
	"bytes"
	"strings"
	"testing"
)

// Shards run as pods are all PID 1: their rows in a merged report are told
// apart by the shard each process ran.
func TestProcessRowsNameTheirShard(t *testing.T) {
	res := fixtureResult()
	res.Resources.Procs = []ProcResources{{PID: 1, Shard: "0/2", Held: 5}, {PID: 1, Shard: "1/2", Held: 5}, {PID: 4242, Held: 1}}
	var b bytes.Buffer
	if err := WriteTable(&b, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"shard 0/2 (pid 1)", "shard 1/2 (pid 1)", "pid 4242"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
