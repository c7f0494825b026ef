package engine

import (
	"net"
	"net/netip"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The system calls a connection costs, made without telling the scheduler.
//
// unix.Connect, unix.Read and the like go through syscall.Syscall, which
// marks the goroutine "in a system call" for its duration. The first such
// call after the process went idle wakes the runtime's monitor thread
// (sysmon), which then looks for stuck system calls every 20 µs for a
// while, and a call that takes longer than that (a loopback connect runs
// the whole TCP handshake of both ends inside it) has its P handed to
// another thread. At 2000 connections/s the process goes idle between
// every two attempts: perf put a fifth of the client's CPU in sysmon's
// sleeps and wake-ups. RawSyscall skips all of that.
//
// It is only right for calls that return at once: every socket here is
// non-blocking, epoll_wait is asked not to wait, and close does not linger
// (no SO_LINGER is set). A call that blocked would hold its P, and stall
// the garbage collector, for as long as it blocked.

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func rawSocket(domain, typ, proto int) (int, error) {
	fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(domain), uintptr(typ), uintptr(proto))
	return int(fd), errnoErr(e)
}

func rawSetsockoptInt(fd, level, opt, value int) error {
	v := int32(value)
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&v)), 4, 0)
	return errnoErr(e)
}

// rawGetsockopt reads option opt into the size bytes at p.
func rawGetsockopt(fd, level, opt int, p unsafe.Pointer, size uint32) error {
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(p), uintptr(unsafe.Pointer(&size)), 0)
	return errnoErr(e)
}

func rawGetsockoptInt(fd, level, opt int) (int, error) {
	var v int32
	err := rawGetsockopt(fd, level, opt, unsafe.Pointer(&v), 4)
	return int(v), err
}

// rawAddr is a socket address in the kernel's form, built once per run:
// connect and bind only read it, so every opener can share it.
type rawAddr struct {
	b      [unsafe.Sizeof(unix.RawSockaddrInet6{})]byte
	len    uint32
	family int // AF_INET or AF_INET6: the domain of a socket that uses it
}

// newRawAddr is ap in the kernel's form. An IPv6 zone is an interface's
// name or index.
func newRawAddr(ap netip.AddrPort) *rawAddr {
	ra := &rawAddr{}
	port := ap.Port()
	// sin_port and sin6_port are in network byte order.
	nport := uint16(port>>8) | uint16(port<<8)
	if ip := ap.Addr(); ip.Is4() {
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&ra.b))
		sa.Family, sa.Port, sa.Addr = unix.AF_INET, nport, ip.As4()
		ra.len, ra.family = unix.SizeofSockaddrInet4, unix.AF_INET
	} else {
		var zone uint32
		if z := ip.Zone(); z != "" {
			if ifi, err := net.InterfaceByName(z); err == nil {
				zone = uint32(ifi.Index)
			} else if n, err := strconv.Atoi(z); err == nil {
				zone = uint32(n)
			}
		}
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&ra.b))
		sa.Family, sa.Port, sa.Addr, sa.Scope_id = unix.AF_INET6, nport, ip.As16(), zone
		ra.len, ra.family = unix.SizeofSockaddrInet6, unix.AF_INET6
	}
	return ra
}

func rawConnect(fd int, to *rawAddr) error {
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&to.b)), uintptr(to.len))
	return errnoErr(e)
}

func rawBind(fd int, from *rawAddr) error {
	_, _, e := unix.RawSyscall(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(&from.b)), uintptr(from.len))
	return errnoErr(e)
}

func rawRead(fd int, p []byte) (int, error)  { return rawIO(unix.SYS_READ, fd, p) }
func rawWrite(fd int, p []byte) (int, error) { return rawIO(unix.SYS_WRITE, fd, p) }

// rawIO is read(2) or write(2) on p.
func rawIO(trap uintptr, fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawClose(fd int) error {
	_, _, e := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	return errnoErr(e)
}

func rawEpollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd),
		uintptr(unsafe.Pointer(ev)), 0, 0)
	return errnoErr(e)
}

// rawEpollPoll is epoll_wait with a zero timeout: what is ready now.
func rawEpollPoll(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])),
		uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// rawTCPInfo fills ti for fd.
func rawTCPInfo(fd int, ti *unix.TCPInfo) error {
	return rawGetsockopt(fd, unix.IPPROTO_TCP, unix.TCP_INFO, unsafe.Pointer(ti), uint32(unsafe.Sizeof(*ti)))
}

// rawRecv is recvfrom(2) with flags, into p; with p nil it asks for n
// bytes (MSG_TRUNC on TCP: discard them without copying).
func rawRecv(fd int, p []byte, n int, flags int) (int, error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr, n = unsafe.Pointer(&p[0]), len(p)
	}
	r, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(ptr), uintptr(n), uintptr(flags), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
