package engine

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/internal/event"
)

// The steady state — holding, pings, pongs, reading control frames,
// discarding data — must allocate nothing per connection per event. These
// benchmarks drive one loop over a socketpair (the "server" end is written
// and read by the benchmark itself) and must report 0 allocs/op.

type nopSink struct{}

func (nopSink) Upgraded(event.Upgraded) {}
func (nopSink) Failed(event.Failed)     {}
func (nopSink) Dropped(event.Dropped)   {}

// pair returns a loop holding one connection (fd) whose server end is peer.
func pair(tb testing.TB, cfg Config) (l *loop, fd, peer int) {
	tb.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.URL, _ = url.Parse("ws://127.0.0.1/")
	if err := cfg.withDefaults(); err != nil {
		tb.Fatal(err)
	}
	cfg.Loops = 1
	e := &engine{cfg: cfg, start: time.Now(), sink: nopSink{}, conns: make([]connState, 4096)}
	l, err = newLoop(e, 0)
	if err != nil {
		tb.Fatal(err)
	}
	e.loops = []*loop{l}
	l.add(fds[0], e.now(), cfg.Ping > 0, nil)
	tb.Cleanup(func() {
		unix.Close(fds[0])
		unix.Close(fds[1])
		unix.Close(l.epfd)
		unix.Close(l.wake)
	})
	return l, fds[0], fds[1]
}

func BenchmarkSteadyStateAnswerPing(b *testing.B) {
	l, fd, peer := pair(b, Config{})
	ping := []byte{0x89, 0x04, 'p', 'i', 'n', 'g'}
	pong := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := unix.Write(peer, ping); err != nil {
			b.Fatal(err)
		}
		l.readable(fd, unix.EPOLLIN, l.e.now())
		if n, err := unix.Read(peer, pong); err != nil || n != 2+4+4 || pong[0] != 0x8A || pong[1]&0x80 == 0 {
			b.Fatalf("read %d %v: % x, want a masked pong", n, err, pong[:max(n, 0)])
		}
	}
}

func BenchmarkSteadyStatePingAndPong(b *testing.B) {
	l, fd, peer := pair(b, Config{Ping: time.Second})
	pongFrame := []byte{0x8A, 0x00}
	buf := make([]byte, 64)
	c := &l.e.conns[fd]
	b.ReportAllocs()
	for b.Loop() {
		// what the schedule does for one due connection, then its pong
		l.ping(fd, c, l.e.now())
		if n, err := unix.Read(peer, buf); err != nil || buf[0] != 0x89 {
			b.Fatalf("read %d %v, want a ping", n, err)
		}
		if _, err := unix.Write(peer, pongFrame); err != nil {
			b.Fatal(err)
		}
		l.readable(fd, unix.EPOLLIN, l.e.now())
		if c.pingSentAt != 0 {
			b.Fatal("pong did not clear the outstanding ping")
		}
	}
}

func BenchmarkSteadyStateScanSchedule(b *testing.B) {
	l, _, peer := pair(b, Config{Ping: time.Second, PongTimeout: time.Hour})
	buf := make([]byte, 4096)
	b.ReportAllocs()
	for b.Loop() {
		l.scan(l.e.now())
		_, _ = unix.Read(peer, buf)
	}
}

func BenchmarkSteadyStateDiscardData(b *testing.B) {
	l, fd, peer := pair(b, Config{})
	frame := make([]byte, 4+1000)
	frame[0], frame[1], frame[2], frame[3] = 0x82, 126, 0x03, 0xE8 // binary, 1000 bytes
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := unix.Write(peer, frame); err != nil {
			b.Fatal(err)
		}
		l.readable(fd, unix.EPOLLIN, l.e.now())
	}
	if !l.e.conns[fd].open || l.e.conns[fd].frames.skip != 0 {
		b.Fatal("data frames were not consumed whole")
	}
}

func TestSteadyStateAllocatesNothing(t *testing.T) {
	l, fd, peer := pair(t, Config{Ping: time.Second, PongTimeout: time.Hour})
	ping := []byte{0x89, 0x00}
	data := []byte{0x81, 0x03, 'a', 'b', 'c'}
	buf := make([]byte, 4096)
	allocs := testing.AllocsPerRun(200, func() {
		_, _ = unix.Write(peer, ping)
		_, _ = unix.Write(peer, data)
		l.readable(fd, unix.EPOLLIN, l.e.now())
		l.scan(l.e.now())
		_, _ = unix.Read(peer, buf)
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per ping+data+schedule round, want 0", allocs)
	}
}

func TestPartialFramesAcrossReadsAreReassembled(t *testing.T) {
	l, fd, peer := pair(t, Config{})
	// a ping split in three writes, then a close split in two
	for _, part := range [][]byte{{0x89}, {0x03, 'a'}, {'b', 'c'}, {0x88, 0x02, 0x03}} {
		_, _ = unix.Write(peer, part)
		l.readable(fd, unix.EPOLLIN, l.e.now())
	}
	buf := make([]byte, 64)
	n, _ := unix.Read(peer, buf)
	if n != 2+4+3 || buf[0] != 0x8A {
		t.Fatalf("got % x, want one masked pong with 3 bytes", buf[:max(n, 0)])
	}
	if !l.e.conns[fd].open {
		t.Fatal("connection ended on half a close frame")
	}
	_, _ = unix.Write(peer, []byte{0xE9})
	l.readable(fd, unix.EPOLLIN, l.e.now())
	if l.e.conns[fd].open {
		t.Fatal("completed close frame did not end the connection")
	}
}

// running starts l's goroutine, as startLoops does, so that a benchmark
// covers the wait in the runtime's poller too.
func running(tb testing.TB, l *loop) {
	l.wg.Add(1)
	go l.run()
	tb.Cleanup(func() {
		l.halt()
		if l.file != nil {
			l.file.Close()
			l.epfd = -1 // closed with the file; pair's cleanup must not close the number again
		}
	})
}

func BenchmarkSteadyStateAnswerPingThroughLoop(b *testing.B) {
	l, _, peer := pair(b, Config{})
	running(b, l)
	ping := []byte{0x89, 0x04, 'p', 'i', 'n', 'g'}
	pong := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := unix.Write(peer, ping); err != nil {
			b.Fatal(err)
		}
		fds := []unix.PollFd{{Fd: int32(peer), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, 1000); err == nil || !errors.Is(err, unix.EINTR) {
				break
			}
		}
		if n, err := unix.Read(peer, pong); err != nil || n != 2+4+4 || pong[0] != 0x8A {
			b.Fatalf("read %d %v: % x, want a masked pong", n, err, pong[:max(n, 0)])
		}
	}
}
