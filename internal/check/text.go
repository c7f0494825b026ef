package check

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/wshold/wshold/internal/handshake"
)

// textWidth is where explanations wrap.
const textWidth = 78

// WriteText writes the report for a person: the verdict first, then the
// request and the answer as exchanged, the 101 checks, whose answer it
// was, why, and the fixes.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if r.OK {
		fmt.Fprintf(bw, "OK: %s\n", r.Verdict)
	} else {
		fmt.Fprintf(bw, "FAIL (%s): %s\n", r.Cause, r.Verdict)
	}
	fmt.Fprintf(bw, "\n%s\n", r.URL)
	if r.Address != "" {
		fmt.Fprintf(bw, "  connected to %s in %s\n", r.Address, fmtMs(r.ConnectMs))
	}
	if t := r.TLS; t != nil {
		verified := "verified"
		if !t.Verified {
			verified = "NOT verified (--insecure)"
		}
		fmt.Fprintf(bw, "  %s, %s, in %s; certificate %s, issued by %s, valid until %s, %s\n",
			t.Version, t.Cipher, fmtMs(r.TLSMs), t.Subject, t.Issuer, t.NotAfter, verified)
	}

	if r.Request.Line != "" {
		fmt.Fprintf(bw, "\nRequest:\n  > %s\n", r.Request.Line)
		for _, h := range r.Request.Headers {
			fmt.Fprintf(bw, "  > %s\n", headerLine(h))
		}
	}
	if resp := r.Response; resp != nil {
		fmt.Fprintf(bw, "\nResponse (%s):\n  < %s\n", fmtMs(r.HandshakeMs), resp.StatusLine)
		for _, h := range resp.Headers {
			fmt.Fprintf(bw, "  < %s\n", headerLine(h))
		}
		if resp.Body != "" {
			fmt.Fprintf(bw, "  <\n")
			for _, l := range strings.Split(strings.TrimRight(resp.Body, "\n"), "\n") {
				fmt.Fprintf(bw, "  < %s\n", l)
			}
			if resp.BodyTruncated {
				fmt.Fprintf(bw, "  < … (body truncated)\n")
			}
		}
		if resp.Status == 101 {
			r.writeChecks(bw)
		}
	}

	if r.AnsweredBy != "" {
		fmt.Fprintf(bw, "\nAnswered by: %s\n", r.AnsweredBy)
	}
	if r.Error != "" {
		fmt.Fprintf(bw, "\nError: %s\n", r.Error)
	}
	if len(r.Explanation) > 0 {
		fmt.Fprintf(bw, "\nWhy:\n")
		for i, p := range r.Explanation {
			if i > 0 {
				fmt.Fprintln(bw)
			}
			writeWrapped(bw, p, "  ", "  ")
		}
	}
	if len(r.Fixes) > 0 {
		fmt.Fprintf(bw, "\nFix:\n")
		for i, f := range r.Fixes {
			if i > 0 {
				fmt.Fprintln(bw)
			}
			num := fmt.Sprintf("  %d. ", i+1)
			writeWrapped(bw, f.Title, num, strings.Repeat(" ", len(num)))
			if f.Config != "" {
				for _, l := range strings.Split(f.Config, "\n") {
					if l == "" {
						fmt.Fprintln(bw)
						continue
					}
					fmt.Fprintf(bw, "%s%s\n", strings.Repeat(" ", len(num)+4), l)
				}
			}
		}
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(bw, "\nNote:\n")
		for _, n := range r.Notes {
			writeWrapped(bw, n, "  - ", "    ")
		}
	}
	return bw.Flush()
}

// writeChecks lists the conditions of a valid 101 and whether each held,
// as the judge found them (Report.Problems).
func (r *Report) writeChecks(w io.Writer) {
	resp := r.Response
	failed := func(header string) bool {
		for _, p := range r.Problems {
			if p.Header == header {
				return true
			}
		}
		return false
	}
	mark := func(ok bool) string {
		if ok {
			return "ok  "
		}
		return "FAIL"
	}
	// The values as shown above them, secrets redacted.
	show := func(name string) string {
		var vs []string
		for _, h := range resp.Headers {
			if strings.EqualFold(h.Name, name) {
				vs = append(vs, h.Value)
			}
		}
		if len(vs) == 0 {
			return "(missing)"
		}
		return strings.Join(vs, " | ")
	}
	fmt.Fprintf(w, "\nChecks:\n")
	if r.Cause == CauseBadResponse {
		fmt.Fprintf(w, "  [FAIL] status 101 over HTTP/1.x — got %s\n", resp.Proto)
	} else {
		fmt.Fprintf(w, "  [ok  ] status 101\n")
	}
	fmt.Fprintf(w, "  [%s] Upgrade: websocket — got %s\n", mark(!failed(handshake.HeaderUpgrade)), show(handshake.HeaderUpgrade))
	fmt.Fprintf(w, "  [%s] Connection: upgrade — got %s\n", mark(!failed(handshake.HeaderConnection)), show(handshake.HeaderConnection))
	fmt.Fprintf(w, "  [%s] Sec-WebSocket-Accept — got %s, expected %s for key %s\n", mark(!failed(handshake.HeaderAccept)), show(handshake.HeaderAccept), r.AcceptExpected, r.Key)
	for _, h := range []string{handshake.HeaderExtensions, handshake.HeaderProtocol} {
		if show(h) != "(missing)" {
			fmt.Fprintf(w, "  [%s] %s — got %s\n", mark(!failed(h)), h, show(h))
		}
	}
}

func headerLine(h Header) string {
	if h.Name == "" {
		return h.Value
	}
	return h.Name + ": " + h.Value
}

// writeWrapped writes text wrapped at textWidth, the first line after
// first and the others after rest.
func writeWrapped(w io.Writer, text, first, rest string) {
	prefix := first
	line := ""
	flush := func() {
		fmt.Fprintf(w, "%s%s\n", prefix, line)
		prefix, line = rest, ""
	}
	for _, word := range strings.Fields(text) {
		if line != "" && len(prefix)+len(line)+1+len(word) > textWidth {
			flush()
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" || prefix == first {
		flush()
	}
}
