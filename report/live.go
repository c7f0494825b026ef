package report

// LiveOf is the progress snapshot a result gives: what a --procs parent
// shows from its workers' merged checkpoints.
func LiveOf(res *Result) Live {
	c := res.Counts
	l := Live{
		Attempted: c.Attempted, Upgraded: c.Upgraded, Failed: c.Failed,
		Dropped: c.Dropped, Alive: c.Upgraded - c.Dropped,
		HandshakeP99Ms: res.Handshake.P99Ms,
	}
	if rc := res.Reconnects; rc != nil {
		l.Reconnected = rc.Upgraded
		l.Alive += rc.Upgraded
	}
	if m := res.Messages; m != nil {
		l.MessagesSent, l.MessagesReceived, l.RTTP99Ms = m.Sent, m.Received, m.RTT.P99Ms
	}
	return l
}
