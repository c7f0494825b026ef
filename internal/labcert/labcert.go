// Package labcert makes throwaway TLS certificates for the lab and the
// tests, with crypto/x509 alone (no openssl): a CA of its own and server
// certificates it signs, by default for loopback (127.0.0.1, ::1,
// localhost). Never for anything but a lab: the keys are written readable
// by every user, because proxy workers that run as another user must read
// them.
package labcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Loopback are the names a lab server certificate carries by default.
var Loopback = []string{"127.0.0.1", "::1", "localhost"}

// Options shape a server certificate.
type Options struct {
	// Names are DNS names or IP addresses; default Loopback.
	Names []string
	// NotBefore and NotAfter bound its validity; default from a minute ago
	// to a day from now. Both in the past make an expired certificate.
	NotBefore, NotAfter time.Time
	// RSA gives the certificate an RSA 2048 key instead of ECDSA P-256,
	// for TLS 1.2 peers and suites that sign with RSA.
	RSA bool
}

// CA is a certificate authority made for one lab.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// PEM is the CA's certificate: what --ca FILE takes.
	PEM []byte
}

// Files are a server certificate and its key, in PEM.
type Files struct {
	CertPEM, KeyPEM []byte
}

// NewCA makes a CA valid for a day.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "wshold lab CA"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{cert: cert, key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// Sign makes a server certificate signed by the CA.
func (ca *CA) Sign(o Options) (*Files, error) {
	names := o.Names
	if len(names) == 0 {
		names = Loopback
	}
	now := time.Now()
	if o.NotBefore.IsZero() {
		o.NotBefore = now.Add(-time.Minute)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = now.Add(24 * time.Hour)
	}
	var key crypto.Signer
	var err error
	if o.RSA {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    o.NotBefore,
		NotAfter:     o.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Files{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// Write puts the set in dir, as every lab template reads it: ca.pem (for
// --ca and a proxy that verifies its backend), cert.pem and key.pem, and
// cert-key.pem (both in one file, as HAProxy's crt wants).
func Write(dir string, ca *CA, f *Files) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"ca.pem":       ca.PEM,
		"cert.pem":     f.CertPEM,
		"key.pem":      f.KeyPEM,
		"cert-key.pem": append(append([]byte{}, f.CertPEM...), f.KeyPEM...),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}

// WriteLoopback makes a CA and a loopback server certificate and writes
// them in dir.
func WriteLoopback(dir string) error {
	ca, err := NewCA()
	if err != nil {
		return err
	}
	f, err := ca.Sign(Options{})
	if err != nil {
		return err
	}
	return Write(dir, ca, f)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n.Add(n, big.NewInt(1))
}
