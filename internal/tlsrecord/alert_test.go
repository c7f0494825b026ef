package tlsrecord

import (
	"crypto/tls"
	"testing"
)

// Which alerts end the connection: all but TLS 1.2's warnings and TLS
// 1.3's user_canceled, which are passed over as crypto/tls and OpenSSL do;
// and what is no alert.
func TestAlerts(t *testing.T) {
	cases := []struct {
		vers    uint16
		p       []byte
		end, ok bool
	}{
		{tls.VersionTLS12, []byte{1, AlertCloseNotify}, true, true},
		{tls.VersionTLS12, []byte{2, AlertCloseNotify}, true, true},
		{tls.VersionTLS12, []byte{1, AlertUserCanceled}, false, true},
		{tls.VersionTLS12, []byte{1, AlertNoRenegotiation}, false, true},
		{tls.VersionTLS12, []byte{2, AlertBadRecordMAC}, true, true},
		{tls.VersionTLS12, []byte{3, AlertBadRecordMAC}, false, false},
		{tls.VersionTLS12, []byte{3, AlertCloseNotify}, true, false},
		{tls.VersionTLS13, []byte{1, AlertCloseNotify}, true, true},
		{tls.VersionTLS13, []byte{1, AlertUserCanceled}, false, true},
		{tls.VersionTLS13, []byte{1, AlertBadRecordMAC}, true, true},
		{tls.VersionTLS13, []byte{7, AlertBadRecordMAC}, true, true},
		{tls.VersionTLS13, []byte{2}, false, false},
		{tls.VersionTLS13, []byte{2, 20, 0}, false, false},
	}
	for _, tc := range cases {
		s := &State{vers: tc.vers}
		if _, end, ok := s.Alert(tc.p); ok != tc.ok || ok && end != tc.end {
			t.Errorf("%s % x: end %v ok %v, want end %v ok %v", tls.VersionName(tc.vers), tc.p, end, ok, tc.end, tc.ok)
		}
	}
}
