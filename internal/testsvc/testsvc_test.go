package testsvc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/redisconn"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRedisRequiresPassword(t *testing.T) {
	ctx := testCtx(t)
	r := StartRedis(t)

	if err := r.Client(t).Ping(ctx).Err(); err != nil {
		t.Fatalf("PING with password: %v", err)
	}
	anon := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	defer anon.Close()
	if err := anon.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("PING without password: got %v, want a NOAUTH error", err)
	}
	wrong := redis.NewClient(&redis.Options{Addr: r.Addr, Password: "wrong", MaxRetries: -1})
	defer wrong.Close()
	if err := wrong.Ping(ctx).Err(); err == nil {
		t.Fatal("PING with a wrong password succeeded")
	}
	if r.Host != "127.0.0.1" || r.Addr != net.JoinHostPort(r.Host, fmt.Sprint(r.Port)) {
		t.Fatalf("Addr %q, Host %q, Port %d disagree", r.Addr, r.Host, r.Port)
	}
}

func TestRedisConfigBuildsClients(t *testing.T) {
	ctx := testCtx(t)
	r := StartRedis(t)
	cfg := r.Config(3)
	if cfg.Addr() != r.Addr || cfg.Password != r.Password || cfg.DB != 3 || cfg.QueueDB != 3 {
		t.Fatalf("Config(3) = %+v, server at %s", cfg, r.Addr)
	}
	clients := redisconn.New(cfg)
	defer clients.Close()
	if err := redisconn.Ping(ctx, clients.App); err != nil {
		t.Fatal(err)
	}
	if err := clients.App.Set(ctx, "k", "in-db-3", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// Database 0 must not see the key written to database 3.
	if n, err := r.Client(t).Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS k in db 0 = %d, %v; want 0", n, err)
	}
}

func TestRedisKeepsDataAcrossRestart(t *testing.T) {
	ctx := testCtx(t)
	r := StartRedis(t)
	c := r.Client(t)
	port, dir := r.Port, r.Dir

	if err := c.Set(ctx, "stopped", "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	if err := r.Client(t).Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded while the server was stopped")
	}
	r.Start()
	if r.Port != port || r.Dir != dir {
		t.Fatalf("restart moved the server: port %d→%d, dir %s→%s", port, r.Port, dir, r.Dir)
	}
	if got, err := c.Get(ctx, "stopped").Result(); err != nil || got != "v1" {
		t.Fatalf("after Stop/Start GET = %q, %v; want v1", got, err)
	}

	if err := c.Set(ctx, "killed", "v2", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Kill()
	r.Start()
	if got, err := c.Get(ctx, "killed").Result(); err != nil || got != "v2" {
		t.Fatalf("after Kill/Start GET = %q, %v; want v2 (appendfsync always)", got, err)
	}
	if _, err := os.Stat(r.Dir + "/appendonlydir"); err != nil {
		t.Fatalf("no AOF directory: %v", err)
	}
}

// connectPaho opens a plain MQTT v5 connection on the TCP listener.
func connectPaho(ctx context.Context, m *Mosquitto, cp *paho.Connect, onMsg func(*paho.Publish)) (*paho.Client, *paho.Connack, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.TCPAddr)
	if err != nil {
		return nil, nil, err
	}
	cfg := paho.ClientConfig{Conn: conn}
	if onMsg != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) { onMsg(pr.Packet); return true, nil },
		}
	}
	c := paho.NewClient(cfg)
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		conn.Close()
		return nil, ca, err
	}
	return c, ca, nil
}

func disconnect(t *testing.T, c *paho.Client) {
	t.Helper()
	if err := c.Disconnect(&paho.Disconnect{ReasonCode: 0}); err != nil {
		t.Errorf("disconnect: %v", err)
	}
	<-c.Done()
}

func TestMosquittoTransports(t *testing.T) {
	m := StartMosquitto(t)
	for _, tc := range []struct{ name, url string }{
		{"tcp", m.TCPURL()},
		{"websocket", m.WSURL()},
		{"tls", m.TLSURL()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			roundTrip(t, m, tc.url, m.TLSConfig())
		})
	}
}

// roundTrip connects with autopaho to serverURL, subscribes, publishes a QoS
// 1 message to itself and waits for it.
func roundTrip(t *testing.T, m *Mosquitto, serverURL string, tlsCfg *tls.Config) {
	ctx := testCtx(t)
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	topic := "test/" + t.Name()
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		TlsCfg:                        tlsCfg,
		KeepAlive:                     30,
		CleanStartOnInitialConnection: true,
		ConnectUsername:               m.Username,
		ConnectPassword:               []byte(m.Password),
		ConnectTimeout:                5 * time.Second,
		OnConnectError:                func(err error) { t.Logf("connect %s: %v", serverURL, err) },
		ClientConfig: paho.ClientConfig{
			ClientID: "rt-" + randomSecret()[:8],
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){
				func(pr paho.PublishReceived) (bool, error) {
					select {
					case got <- string(pr.Packet.Payload):
					default:
					}
					return true, nil
				},
			},
		},
	}
	cm, err := autopaho.NewConnection(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cm.Disconnect(context.Background())
		<-cm.Done()
	}()
	if err := cm.AwaitConnection(ctx); err != nil {
		t.Fatalf("connect to %s: %v", serverURL, err)
	}
	if _, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if _, err := cm.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte("ping " + u.Scheme)}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	select {
	case p := <-got:
		if p != "ping "+u.Scheme {
			t.Fatalf("received %q", p)
		}
	case <-ctx.Done():
		t.Fatalf("message over %s not received", serverURL)
	}
}

func TestMosquittoTLSRejectsUnknownCA(t *testing.T) {
	m := StartMosquitto(t)
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", m.TLSPort), &tls.Config{MinVersion: tls.VersionTLS12})
	if err == nil {
		conn.Close()
		t.Fatal("TLS handshake verified without the generated CA")
	}
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("handshake error %v, want an unknown-authority error", err)
	}
	b, err := os.ReadFile(m.CAFile)
	if err != nil || !strings.Contains(string(b), "BEGIN CERTIFICATE") {
		t.Fatalf("CAFile %s: %v %q", m.CAFile, err, b)
	}
}

func TestMosquittoRefusesBadCredentials(t *testing.T) {
	m := StartMosquitto(t)
	ctx := testCtx(t)
	for _, tc := range []struct {
		name string
		cp   paho.Connect
	}{
		{"wrong password", paho.Connect{Username: m.Username, UsernameFlag: true, Password: []byte("wrong"), PasswordFlag: true}},
		{"anonymous", paho.Connect{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp := tc.cp
			cp.ClientID, cp.CleanStart, cp.KeepAlive = "bad-"+randomSecret()[:6], true, 30
			c, ca, err := connectPaho(ctx, m, &cp, nil)
			if err == nil {
				disconnect(t, c)
				t.Fatal("connect succeeded")
			}
			// 0x86 Bad User Name or Password, 0x87 Not authorized.
			if ca == nil || (ca.ReasonCode != 0x86 && ca.ReasonCode != 0x87) {
				t.Fatalf("connack %+v, err %v; want reason 0x86 or 0x87", ca, err)
			}
		})
	}
}

func TestMosquittoPasswordFileWithoutTool(t *testing.T) {
	m := StartMosquitto(t, func(m *Mosquitto) { m.noPasswdBin = true })
	b, err := os.ReadFile(m.Dir + "/passwd")
	if err != nil || !strings.HasPrefix(string(b), m.Username+":$6$") {
		t.Fatalf("password file %q, %v; want the $6$ form", b, err)
	}
	roundTrip(t, m, m.TCPURL(), nil)
}

// TestMosquittoKeepsQueuedMessagesAcrossRestart is what the subscriber's
// fault tests rely on: a QoS 1 message published while a persistent session
// is offline is delivered after the broker restarted.
func TestMosquittoKeepsQueuedMessagesAcrossRestart(t *testing.T) {
	m := StartMosquitto(t)
	ctx := testCtx(t)
	expiry := uint32(3600)
	subConnect := func() *paho.Connect {
		return &paho.Connect{
			ClientID: "persistent-sub", CleanStart: false, KeepAlive: 30,
			Username: m.Username, UsernameFlag: true, Password: []byte(m.Password), PasswordFlag: true,
			Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry},
		}
	}
	auth := func(id string) *paho.Connect {
		return &paho.Connect{
			ClientID: id, CleanStart: true, KeepAlive: 30,
			Username: m.Username, UsernameFlag: true, Password: []byte(m.Password), PasswordFlag: true,
		}
	}

	// Mosquitto 2.0 saves only sessions that were created with Clean
	// Start 0: a session opened with Clean Start 1 and a Session Expiry
	// Interval survives reconnects but not a broker restart.
	sub, _, err := connectPaho(ctx, m, subConnect(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "origin/a/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	disconnect(t, sub)

	pub, _, err := connectPaho(ctx, m, auth("publisher"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx, &paho.Publish{Topic: "origin/a/wis2/x", QoS: 1, Payload: []byte("queued-1")}); err != nil {
		t.Fatal(err)
	}
	disconnect(t, pub)

	m.Stop()
	m.Start()

	var mu sync.Mutex
	var received []string
	got := make(chan struct{}, 1)
	sub, ca, err := connectPaho(ctx, m, subConnect(), func(p *paho.Publish) {
		mu.Lock()
		received = append(received, p.Topic+" "+string(p.Payload))
		mu.Unlock()
		select {
		case got <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer disconnect(t, sub)
	if !ca.SessionPresent {
		t.Fatal("session not present after restart: persistence lost it")
	}
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatal("queued QoS 1 message not delivered after broker restart")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(received) != 1 || received[0] != "origin/a/wis2/x queued-1" {
		t.Fatalf("received %q", received)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and ends
// the calling goroutine, as the real one does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingBinaryFailsWithInstallCommand(t *testing.T) {
	rec := &fatalRecorder{TB: t}
	var wg sync.WaitGroup
	wg.Go(func() { findBinary(rec, "no-such-server-binary") })
	wg.Wait()
	if !strings.Contains(rec.msg, "apt-get install -y redis-server mosquitto") {
		t.Fatalf("Fatalf message %q does not name the install command", rec.msg)
	}
	if p := findBinary(t, "redis-server"); p == "" {
		t.Fatal("redis-server not found")
	}
}

func BenchmarkStartRedis(b *testing.B) {
	for b.Loop() {
		r := StartRedis(b)
		r.Stop()
	}
}

func BenchmarkStartMosquitto(b *testing.B) {
	for b.Loop() {
		m := StartMosquitto(b)
		m.Stop()
	}
}
