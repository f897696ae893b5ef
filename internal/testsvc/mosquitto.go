package testsvc

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Mosquitto is a running mosquitto broker owned by one test. It listens on
// 127.0.0.1 for plain MQTT (TCPPort), MQTT over WebSockets (WSPort, any path
// such as /mqtt) and MQTT over TLS (TLSPort, certificate signed by the CA in
// CAFile/CAPool). Anonymous clients are refused; use Username and Password.
type Mosquitto struct {
	TCPAddr  string // 127.0.0.1:TCPPort
	TCPPort  int
	WSPort   int
	TLSPort  int
	Username string
	Password string
	CAFile   string         // PEM of the CA that signed the TLS listener's certificate
	CAPool   *x509.CertPool // the same CA as a pool, for tls.Config.RootCAs
	Dir      string         // mosquitto.conf, mosquitto.log, certificates, data/

	server
	extra       []string
	maxQueued   int
	noPasswdBin bool // write the password file without mosquitto_passwd
}

// MosquittoOption changes how StartMosquitto configures the broker.
type MosquittoOption func(*Mosquitto)

// MosquittoConfig adds mosquitto.conf lines to the global section (before
// the listeners), e.g. "max_inflight_messages 1".
func MosquittoConfig(lines ...string) MosquittoOption {
	return func(m *Mosquitto) { m.extra = append(m.extra, lines...) }
}

// MosquittoMaxQueued sets max_queued_messages (default 100000): how many QoS
// 1/2 messages the broker keeps for one disconnected persistent session.
func MosquittoMaxQueued(n int) MosquittoOption {
	return func(m *Mosquitto) { m.maxQueued = n }
}

// StartMosquitto starts a mosquitto broker on three free loopback ports in a
// directory of t.TempDir(): password authentication (anonymous refused),
// persistence on (saved on SIGTERM and every second, so sessions and queued
// QoS 1 messages survive Stop/Start), and a TLS listener whose CA is generated
// here. It returns once every listener accepts and an authenticated MQTT v5
// CONNECT on the TCP listener succeeds, and stops the broker when the test
// ends; the broker log is printed when the test failed.
func StartMosquitto(t testing.TB, opts ...MosquittoOption) *Mosquitto {
	t.Helper()
	bin := findBinary(t, "mosquitto")
	m := &Mosquitto{
		Username:  "wis2test",
		Password:  randomSecret(),
		Dir:       filepath.Join(t.TempDir(), "mosquitto"),
		maxQueued: 100000,
	}
	for _, o := range opts {
		o(m)
	}
	if err := m.prepareDir(); err != nil {
		t.Fatalf("testsvc: prepare mosquitto: %v", err)
	}
	m.server = server{
		t: t,
		proc: &process{
			name:    "mosquitto",
			bin:     bin,
			args:    []string{"-c", filepath.Join(m.Dir, "mosquitto.conf")},
			logPath: filepath.Join(m.Dir, "mosquitto.log"),
		},
		probe: m.probe,
		where: func() string {
			return fmt.Sprintf("mosquitto on ports %d/%d/%d", m.TCPPort, m.WSPort, m.TLSPort)
		},
	}
	err := m.launch(func() error {
		ports, err := freePorts(3)
		if err != nil {
			return err
		}
		m.TCPPort, m.WSPort, m.TLSPort = ports[0], ports[1], ports[2]
		m.TCPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(m.TCPPort))
		return m.writeConfig()
	})
	if err != nil {
		t.Fatalf("testsvc: start mosquitto: %v", err)
	}
	return m
}

// prepareDir creates the directory, the certificates and the password file.
func (m *Mosquitto) prepareDir() error {
	if err := os.MkdirAll(filepath.Join(m.Dir, "data"), 0o755); err != nil {
		return err
	}
	pki, err := newTestPKI()
	if err != nil {
		return err
	}
	m.CAFile = filepath.Join(m.Dir, "ca.pem")
	m.CAPool = pki.Pool
	if err := pki.write(m.CAFile, filepath.Join(m.Dir, "server.pem"), filepath.Join(m.Dir, "server-key.pem")); err != nil {
		return err
	}
	return writePasswordFile(filepath.Join(m.Dir, "passwd"), m.Username, m.Password, !m.noPasswdBin)
}

func (m *Mosquitto) writeConfig() error {
	d := m.Dir
	lines := []string{
		"per_listener_settings false",
		"allow_anonymous false",
		"password_file " + filepath.Join(d, "passwd"),
		"persistence true",
		"persistence_location " + filepath.Join(d, "data") + "/",
		"persistence_file mosquitto.db",
		"autosave_interval 1",
		"autosave_on_changes false",
		"max_queued_messages " + strconv.Itoa(m.maxQueued),
		"max_queued_bytes 0",
		"log_dest stdout",
		"log_type error",
		"log_type warning",
		"log_type notice",
		"log_type information",
		"connection_messages true",
		"log_timestamp_format %Y-%m-%dT%H:%M:%S",
	}
	if os.Geteuid() == 0 {
		// As root mosquitto would switch to the "mosquitto" user, which
		// cannot read the test's temporary directory.
		lines = append(lines, "user root")
	}
	lines = append(lines, m.extra...)
	lines = append(lines,
		"",
		"listener "+strconv.Itoa(m.TCPPort)+" 127.0.0.1",
		"protocol mqtt",
		"",
		"listener "+strconv.Itoa(m.WSPort)+" 127.0.0.1",
		"protocol websockets",
		"",
		"listener "+strconv.Itoa(m.TLSPort)+" 127.0.0.1",
		"protocol mqtt",
		"cafile "+m.CAFile,
		"certfile "+filepath.Join(d, "server.pem"),
		"keyfile "+filepath.Join(d, "server-key.pem"),
	)
	return os.WriteFile(filepath.Join(d, "mosquitto.conf"), []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

// TLSConfig returns a client TLS configuration that trusts the broker's CA.
func (m *Mosquitto) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: m.CAPool, MinVersion: tls.VersionTLS12}
}

// TCPURL is mqtt://127.0.0.1:TCPPort.
func (m *Mosquitto) TCPURL() string { return "mqtt://" + m.TCPAddr }

// WSURL is ws://127.0.0.1:WSPort/mqtt.
func (m *Mosquitto) WSURL() string {
	return "ws://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(m.WSPort)) + "/mqtt"
}

// TLSURL is mqtts://127.0.0.1:TLSPort.
func (m *Mosquitto) TLSURL() string {
	return "mqtts://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(m.TLSPort))
}
