package report

// checkMessageInvariants is CheckInvariants for the sections of timed
// messages, pushes and reconnects: counts never negative, parts that add
// up, and each latency histogram holding what it stands for.
func checkMessageInvariants(res *Result) error {
	type count struct {
		name string
		v    int64
	}
	type latency struct {
		name  string
		l     Latency
		count int64
		of    string
	}
	var counts []count
	var lats []latency
	if m := res.Messages; m != nil {
		counts = append(counts, count{"messages.sent", m.Sent}, count{"messages.received", m.Received},
			count{"messages.lost", m.Lost}, count{"messages.out_of_order", m.OutOfOrder}, count{"messages.corrupted", m.Corrupted})
		lats = append(lats, latency{"messages.rtt", m.RTT, m.Received, "messages.received"})
	}
	if p := res.Push; p != nil {
		counts = append(counts, count{"push.received", p.Received}, count{"push.broadcast_received", p.BroadcastReceived},
			count{"push.corrupted", p.Corrupted}, count{"push.below_zero", p.BelowZero})
		lats = append(lats, latency{"push.delay", p.Delay, p.Received, "push.received"},
			latency{"push.fanout", p.Fanout, p.BroadcastReceived, "push.broadcast_received"})
	}
	rc := res.Reconnects
	if rc != nil {
		counts = append(counts, count{"reconnects.attempted", rc.Attempted}, count{"reconnects.upgraded", rc.Upgraded},
			count{"reconnects.failed", rc.Failed})
		lats = append(lats, latency{"reconnects.handshake", rc.Handshake, rc.Upgraded, "reconnects.upgraded"})
	}
	for _, c := range counts {
		if c.v < 0 {
			return invariantErr("%s is %d, and a count is never negative", c.name, c.v)
		}
	}
	if m := res.Messages; m != nil {
		if m.OutOfOrder > m.Received {
			return invariantErr("messages.out_of_order is %d but only %d came back", m.OutOfOrder, m.Received)
		}
		if m.Lost > m.Sent {
			return invariantErr("messages.lost is %d but only %d were sent", m.Lost, m.Sent)
		}
	}
	if rc != nil {
		if rc.Attempted != rc.Upgraded+rc.Failed {
			return invariantErr("reconnects.attempted is %d but reconnects.upgraded + reconnects.failed is %d + %d", rc.Attempted, rc.Upgraded, rc.Failed)
		}
		var failed int64
		for i, f := range rc.Failures {
			if f.Count < 0 {
				return invariantErr("reconnects.failures[%d].count is %d, and a count is never negative", i, f.Count)
			}
			failed += f.Count
		}
		if failed != rc.Failed {
			return invariantErr("reconnects.failures add up to %d but reconnects.failed is %d", failed, rc.Failed)
		}
		if int64(len(rc.Events)) > rc.Attempted {
			return invariantErr("reconnects lists %d events but only %d attempts", len(rc.Events), rc.Attempted)
		}
	}
	for _, l := range lats {
		if err := checkLatency(l.name, l.l, l.count, l.of); err != nil {
			return err
		}
	}
	return nil
}
