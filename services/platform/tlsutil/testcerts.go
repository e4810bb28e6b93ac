package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
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

// DevCerts are the PEM files of a throwaway CA with a server certificate and
// client certificates, for development and tests. Never use them in production.
type DevCerts struct {
	CAFile                        string
	ServerCertFile, ServerKeyFile string
	// ClientCertFile and ClientKeyFile are the first client's.
	ClientCertFile, ClientKeyFile string
	dir                           string
}

// Client returns the certificate and key files of a client named when the
// certificates were written.
func (d DevCerts) Client(name string) (certFile, keyFile string) {
	return filepath.Join(d.dir, "client-"+name+".pem"), filepath.Join(d.dir, "client-"+name+"-key.pem")
}

// WriteDevCerts creates in dir a CA, a server certificate for 127.0.0.1 and
// localhost, and one client certificate per name (its common name), all
// signed by that CA.
func WriteDevCerts(dir string, clientNames ...string) (DevCerts, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return DevCerts{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "dpsweep dev CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return DevCerts{}, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return DevCerts{}, err
	}
	d := DevCerts{
		CAFile:         filepath.Join(dir, "ca.pem"),
		ServerCertFile: filepath.Join(dir, "server.pem"),
		ServerKeyFile:  filepath.Join(dir, "server-key.pem"),
		dir:            dir,
	}
	if err := writePEM(d.CAFile, "CERTIFICATE", caDER); err != nil {
		return DevCerts{}, err
	}
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, certFile, keyFile string) error {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			DNSNames:     []string{"localhost"},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		if err := writePEM(certFile, "CERTIFICATE", der); err != nil {
			return err
		}
		return writePEM(keyFile, "EC PRIVATE KEY", keyDER)
	}
	if err := leaf(2, "localhost", x509.ExtKeyUsageServerAuth, d.ServerCertFile, d.ServerKeyFile); err != nil {
		return DevCerts{}, fmt.Errorf("server certificate: %w", err)
	}
	for i, name := range clientNames {
		cert, key := d.Client(name)
		if err := leaf(int64(3+i), name, x509.ExtKeyUsageClientAuth, cert, key); err != nil {
			return DevCerts{}, fmt.Errorf("client certificate %s: %w", name, err)
		}
		if i == 0 {
			d.ClientCertFile, d.ClientKeyFile = cert, key
		}
	}
	return d, nil
}

func writePEM(file, typ string, der []byte) error {
	return os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}
