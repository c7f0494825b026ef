// Package handshaketest holds the answers every judge of a handshake is
// tested on, and a server that gives them: check and the engine (ws:// in
// the loops, wss:// and ws:// on a goroutine) each run every case, so the
// tests show that they decide each answer alike.
package handshaketest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/handshake"
)

// Case is one answer to an upgrade request and the judge's decision.
type Case struct {
	Name string
	// Answer is what the server sends; ACCEPT stands for the right
	// Sec-WebSocket-Accept.
	Answer string
	// Chunk, if set, sends the answer in pieces of this many bytes, a few
	// milliseconds apart, so that it arrives across reads.
	Chunk int
	// Protocols are the subprotocols the client offers.
	Protocols []string
	// Cause is the decision: "" for an upgrade, else a handshake.Cause*
	// code; Status is the status of a refusal (Cause "http").
	Cause  string
	Status int
}

const ok101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ACCEPT\r\n"

// pad is n header lines of 100 bytes.
func pad(n int) string {
	return strings.Repeat("X-Pad: "+strings.Repeat("a", 91)+"\r\n", n)
}

// Cases are the answers whose decision once differed between check and
// run, the ones browsers and a strict reading of RFC 6455 disagree on, and
// one of each refusal.
var Cases = []Case{
	{Name: "valid 101", Answer: ok101 + "\r\n"},
	{Name: "Connection: keep-alive, Upgrade", Answer: strings.Replace(ok101, "Connection: Upgrade", "Connection: keep-alive, Upgrade", 1) + "\r\n"},
	{Name: "HTTP/1.1 101 with no reason phrase", Answer: strings.Replace(ok101, "101 Switching Protocols", "101", 1) + "\r\n"},
	{Name: "HTTP/1.0 101", Answer: strings.Replace(ok101, "HTTP/1.1", "HTTP/1.0", 1) + "\r\n"},
	{Name: "10 KB 101 split across reads", Answer: ok101 + pad(100) + "\r\n", Chunk: 1000},
	{Name: "101 byte by byte", Answer: ok101 + "\r\n", Chunk: 1},
	{Name: "lower-case names, as HAProxy writes them", Answer: "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ACCEPT\r\n\r\n"},
	{Name: "bare LF line ends", Answer: strings.ReplaceAll(ok101+"\r\n", "\r\n", "\n")},
	{Name: "offered subprotocol selected", Answer: ok101 + "Sec-WebSocket-Protocol: chat\r\n\r\n", Protocols: []string{"mqtt", "chat"}},

	{Name: "unrequested permessage-deflate", Answer: ok101 + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", Cause: handshake.CauseBadExtensions},
	{Name: "two Sec-WebSocket-Accept headers", Answer: ok101 + "Sec-WebSocket-Accept: ACCEPT\r\n\r\n", Cause: handshake.CauseBadAccept},
	{Name: "no Sec-WebSocket-Accept", Answer: strings.Replace(ok101, "Sec-WebSocket-Accept: ACCEPT\r\n", "", 1) + "\r\n", Cause: handshake.CauseBadAccept},
	{Name: "wrong Sec-WebSocket-Accept", Answer: strings.Replace(ok101, "ACCEPT", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 1) + "\r\n", Cause: handshake.CauseBadAccept},
	{Name: "Upgrade: websocket, h2c", Answer: strings.Replace(ok101, "Upgrade: websocket", "Upgrade: websocket, h2c", 1) + "\r\n", Cause: handshake.CauseBadUpgrade},
	{Name: "Connection: close", Answer: strings.Replace(ok101, "Connection: Upgrade", "Connection: close", 1) + "\r\n", Cause: handshake.CauseBadUpgrade},
	{Name: "subprotocol not offered", Answer: ok101 + "Sec-WebSocket-Protocol: mqtt\r\n\r\n", Protocols: []string{"chat"}, Cause: handshake.CauseBadSubprotocol},
	{Name: "HTTP/2.0 101", Answer: strings.Replace(ok101, "HTTP/1.1", "HTTP/2.0", 1) + "\r\n", Cause: handshake.CauseBadResponse},
	{Name: "not HTTP", Answer: "SSH-2.0-OpenSSH_9.2\r\n", Cause: handshake.CauseBadResponse},
	{Name: "70 KB 101", Answer: ok101 + pad(700) + "\r\n", Chunk: 8000, Cause: handshake.CauseHeaderTooLarge},
	{Name: "400 refusal", Answer: "HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nbad request", Cause: handshake.CauseHTTP, Status: 400},
	{Name: "403 with a 10 KB header, split", Answer: "HTTP/1.1 403 Forbidden\r\n" + pad(100) + "Content-Length: 0\r\n\r\n", Chunk: 1000, Cause: handshake.CauseHTTP, Status: 403},
}

// Server answers upgrade requests to /case/N with Cases[N].Answer, then
// holds an upgraded connection until the client sends anything (its close
// frame) or 10 s pass, and closes a refused one.
type Server struct {
	ln   net.Listener
	tls  bool
	ca   []byte
	mu   sync.Mutex
	open []net.Conn
	wg   sync.WaitGroup
}

// NewServer starts a server on loopback, with TLS when useTLS is set
// (its certificate is for 127.0.0.1, signed by the CA of CAPEM). It stops
// when the test ends.
func NewServer(tb testing.TB, useTLS bool) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{ln: ln, tls: useTLS}
	if useTLS {
		cert, ca, err := SelfSigned()
		if err != nil {
			tb.Fatal(err)
		}
		s.ca = ca
		s.ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	}
	s.wg.Add(1)
	go s.serve()
	tb.Cleanup(func() {
		s.ln.Close()
		s.mu.Lock()
		for _, c := range s.open {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

// URL is where case i is answered.
func (s *Server) URL(i int) string {
	scheme := "ws"
	if s.tls {
		scheme = "wss"
	}
	return fmt.Sprintf("%s://%s/case/%d", scheme, s.ln.Addr(), i)
}

// CAPEM is the PEM certificate that signed a TLS server's certificate.
func (s *Server) CAPEM() []byte { return s.ca }

// ClientTLS trusts the server's certificate.
func (s *Server) ClientTLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.ca)
	return &tls.Config{RootCAs: pool}
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.open = append(s.open, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.answer(c)
		}()
	}
}

func (s *Server) answer(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	i, err := strconv.Atoi(strings.TrimPrefix(req.URL.Path, "/case/"))
	if err != nil || i < 0 || i >= len(Cases) {
		_, _ = io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
		return
	}
	tc := Cases[i]
	answer := []byte(strings.ReplaceAll(tc.Answer, "ACCEPT", handshake.Accept(req.Header.Get("Sec-WebSocket-Key"))))
	if tc.Chunk == 0 {
		_, _ = c.Write(answer)
	}
	for len(answer) > 0 && tc.Chunk > 0 {
		n := min(tc.Chunk, len(answer))
		if _, err := c.Write(answer[:n]); err != nil {
			return
		}
		answer = answer[n:]
		if tc.Chunk > 1 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if tc.Cause == "" {
		// Until the client's close frame (or its FIN): then close, which
		// ends the client's closing handshake at once.
		_, _ = c.Read(make([]byte, 64))
	}
}

// SelfSigned makes a certificate for 127.0.0.1 that is its own root, and
// its PEM for the client to trust: enough for a test server on loopback.
func SelfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wshold handshaketest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
