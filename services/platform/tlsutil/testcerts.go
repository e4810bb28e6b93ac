package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
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
// signed by that CA and valid for a day. It overwrites existing files.
func WriteDevCerts(dir string, clientNames ...string) (DevCerts, error) {
	return WriteDevCertsWith(dir, DevCertOptions{Clients: clientNames, Force: true})
}

// DevCertOptions shape WriteDevCertsWith's certificates.
type DevCertOptions struct {
	// Hosts are the server certificate's names: IP addresses become IP
	// SANs, anything else DNS SANs. Empty: 127.0.0.1 and localhost.
	Hosts []string
	// Clients are the client certificates to make, one per identity: the
	// name is the certificate's common name (and DNS SAN when it is a
	// valid DNS name).
	Clients []string
	// ValidFor is how long the certificates are valid; a day when zero.
	ValidFor time.Duration
	// Force overwrites existing files; without it WriteDevCertsWith
	// refuses before writing anything if any of its files exists.
	Force bool
}

// Files lists the files WriteDevCertsWith writes into dir for o.
func (o DevCertOptions) Files(dir string) []string {
	d := DevCerts{dir: dir}
	files := []string{filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")}
	for _, c := range o.Clients {
		cert, key := d.Client(c)
		files = append(files, cert, key)
	}
	return files
}

// WriteDevCertsWith creates in dir a CA (ca.pem, ca-key.pem), a server
// certificate (server.pem, server-key.pem) for o.Hosts, and a client
// certificate per o.Clients (client-NAME.pem, client-NAME-key.pem), all
// signed by that CA. Keys are written 0600, certificates 0644.
func WriteDevCertsWith(dir string, o DevCertOptions) (DevCerts, error) {
	if len(o.Hosts) == 0 {
		o.Hosts = []string{"127.0.0.1", "localhost"}
	}
	if o.ValidFor <= 0 {
		o.ValidFor = 24 * time.Hour
	}
	seen := map[string]bool{}
	for _, c := range o.Clients {
		if c == "" || strings.ContainsAny(c, `/\`) || c == "." || c == ".." {
			return DevCerts{}, fmt.Errorf("client name %q: want a name usable in a file name (no slashes)", c)
		}
		if seen[c] {
			return DevCerts{}, fmt.Errorf("client name %q given twice", c)
		}
		seen[c] = true
	}
	if !o.Force {
		for _, f := range o.Files(dir) {
			if _, err := os.Lstat(f); err == nil {
				return DevCerts{}, fmt.Errorf("%s exists; refusing to overwrite it (--force replaces the files)", f)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return DevCerts{}, err
			}
		}
	}
	var ips []net.IP
	var dnsNames []string
	for _, h := range o.Hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else {
			dnsNames = append(dnsNames, h)
		}
	}
	serverCN := "localhost"
	if len(dnsNames) > 0 {
		serverCN = dnsNames[0]
	} else if len(ips) > 0 {
		serverCN = ips[0].String()
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return DevCerts{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "dpsweep dev CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(o.ValidFor),
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
	if err := writePEM(d.CAFile, "CERTIFICATE", caDER, 0o644, o.Force); err != nil {
		return DevCerts{}, err
	}
	caKeyDER, err := x509.MarshalECPrivateKey(caKey)
	if err != nil {
		return DevCerts{}, err
	}
	if err := writePEM(filepath.Join(dir, "ca-key.pem"), "EC PRIVATE KEY", caKeyDER, 0o600, o.Force); err != nil {
		return DevCerts{}, err
	}
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, dnsNames []string, ips []net.IP, certFile, keyFile string) error {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(o.ValidFor),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			DNSNames:     dnsNames,
			IPAddresses:  ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		if err := writePEM(certFile, "CERTIFICATE", der, 0o644, o.Force); err != nil {
			return err
		}
		return writePEM(keyFile, "EC PRIVATE KEY", keyDER, 0o600, o.Force)
	}
	if err := leaf(2, serverCN, x509.ExtKeyUsageServerAuth, dnsNames, ips, d.ServerCertFile, d.ServerKeyFile); err != nil {
		return DevCerts{}, fmt.Errorf("server certificate: %w", err)
	}
	for i, name := range o.Clients {
		cert, key := d.Client(name)
		var names []string
		if isDNSName(name) {
			names = []string{name}
		}
		if err := leaf(int64(3+i), name, x509.ExtKeyUsageClientAuth, names, nil, cert, key); err != nil {
			return DevCerts{}, fmt.Errorf("client certificate %s: %w", name, err)
		}
		if i == 0 {
			d.ClientCertFile, d.ClientKeyFile = cert, key
		}
	}
	return d, nil
}

// writePEM writes one PEM block with mode perm; without force it fails
// rather than replace an existing file.
func writePEM(file, typ string, der []byte, perm os.FileMode, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		// Remove first so a replaced key never keeps a wider mode.
		if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	f, err := os.OpenFile(file, flags, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// isDNSName reports whether s is a plausible DNS name (letters, digits,
// hyphens and dots), so a client name can also be its DNS SAN.
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 || strings.HasPrefix(s, "-") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}
