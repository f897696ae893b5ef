package subscriber

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// ackInterval is how often paho sends the acknowledgements that are ready
// (manual acknowledgement sends them in receive order, in batches).
const ackInterval = 5 * time.Millisecond

// connState is the broker connection as seen by health and heartbeat.
type connState struct {
	mu        sync.Mutex
	connected bool
	since     time.Time // last change
	reason    string    // why it went down last
}

func (c *connState) set(up bool, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.connected != up {
		c.since = time.Now()
	}
	c.connected = up
	if !up && reason != "" {
		c.reason = reason
	}
}

// setReason records why the connection is down without changing the state
// (error callbacks run on their own goroutines and may arrive late).
func (c *connState) setReason(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reason = reason
}

func (c *connState) get() (up bool, since time.Time, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected, c.since, c.reason
}

// serverURL builds the broker URL: mqtt/mqtts for tcp, ws/wss with the
// configured path for websockets.
func serverURL(host string, port int, protocol string, useTLS bool, wsPath string) *url.URL {
	u := &url.URL{Host: net.JoinHostPort(host, strconv.Itoa(port))}
	switch {
	case protocol == "tcp" && useTLS:
		u.Scheme = "mqtts"
	case protocol == "tcp":
		u.Scheme = "mqtt"
	case useTLS:
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	if strings.HasPrefix(u.Scheme, "ws") {
		if wsPath == "" {
			wsPath = "/mqtt"
		}
		if !strings.HasPrefix(wsPath, "/") {
			wsPath = "/" + wsPath
		}
		u.Path = wsPath
	}
	return u
}

// tlsConfig trusts the system roots plus the PEM certificates in caFile.
func tlsConfig(caFile string) (*tls.Config, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("MQTT_CA_FILE: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("MQTT_CA_FILE %s: no PEM certificate found", caFile)
		}
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// mqttConfig builds the autopaho configuration.
func (s *Subscriber) mqttConfig() (autopaho.ClientConfig, error) {
	c := s.cfg
	u := serverURL(c.BrokerHost, c.BrokerPort, c.Protocol, c.UseTLS(), c.WSPath)
	var tc *tls.Config
	if c.UseTLS() {
		var err error
		if tc, err = tlsConfig(c.CAFile); err != nil {
			return autopaho.ClientConfig{}, err
		}
	}
	keepAlive := c.KeepAlive / time.Second
	if keepAlive <= 0 {
		keepAlive = 60
	}
	expiry := c.SessionExpiry / time.Second
	if expiry < 0 {
		expiry = 0
	}
	if expiry > math.MaxUint32 {
		expiry = math.MaxUint32
	}
	if expiry == 0 {
		s.log.Warn("MQTT_SESSION_EXPIRY is 0: the broker drops the session (and its queued messages) at every disconnect")
	}
	receiveMax := s.tune.ReceiveMaximum
	debug := pahoLogger{log: s.log.With("component", "paho"), level: slog.LevelDebug - 4}
	return autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		TlsCfg:                        tc,
		KeepAlive:                     uint16(min(keepAlive, math.MaxUint16)),
		CleanStartOnInitialConnection: false,
		SessionExpiryInterval:         uint32(expiry),
		ReconnectBackoff:              autopaho.NewExponentialBackoff(s.tune.ReconnectMin, s.tune.ReconnectMax, s.tune.ReconnectMin*2, 2),
		ConnectTimeout:                20 * time.Second,
		ConnectUsername:               c.Username,
		ConnectPassword:               []byte(c.Password),
		ConnectPacketBuilder: func(cp *paho.Connect, _ *url.URL) (*paho.Connect, error) {
			if cp.Properties == nil {
				cp.Properties = &paho.ConnectProperties{}
			}
			cp.Properties.ReceiveMaximum = &receiveMax
			return cp, nil
		},
		OnConnectionUp:   s.onConnectionUp,
		OnConnectionDown: s.onConnectionDown,
		OnConnectError:   s.onConnectError,
		Debug:            debug,
		Errors:           debug,
		PahoDebug:        debug,
		PahoErrors:       pahoLogger{log: s.log.With("component", "paho"), level: slog.LevelDebug},
		ClientConfig: paho.ClientConfig{
			ClientID:                   s.clientID,
			OnPublishReceived:          []func(paho.PublishReceived) (bool, error){s.onPublish},
			OnClientError:              s.onClientError,
			OnServerDisconnect:         s.onServerDisconnect,
			EnableManualAcknowledgment: true,
			SendAcksInterval:           ackInterval,
		},
	}, nil
}

// onConnectionUp runs on autopaho's connection goroutine and must not block:
// it records the state and asks the broker-subscription keeper (its own
// goroutine) to subscribe every current filter again.
func (s *Subscriber) onConnectionUp(cm *autopaho.ConnectionManager, ca *paho.Connack) {
	s.conn.set(true, "")
	s.prom.connected.Set(1)
	s.prom.connects.Inc()
	s.log.Info("Connected successfully", "client_id", s.clientID, "session_present", ca.SessionPresent)
	s.subs.connectionUp(cm)
}

func (s *Subscriber) onConnectionDown() bool {
	s.subs.connectionDown()
	s.conn.set(false, "")
	s.prom.connected.Set(0)
	_, _, reason := s.conn.get()
	s.log.Warn("Disconnected from broker; reconnecting", "reason", reason)
	return true
}

func (s *Subscriber) onConnectError(err error) {
	s.prom.connectErrors.Inc()
	s.conn.setReason(err.Error())
	var ce *autopaho.ConnackError
	if errors.As(err, &ce) {
		s.log.Warn("Broker refused the connection", "reason_code", ce.ReasonCode, "reason", ce.Reason, "error", err)
		return
	}
	s.log.Warn("Connection attempt failed", "error", err)
}

func (s *Subscriber) onClientError(err error) {
	s.conn.setReason(err.Error())
	s.log.Warn("Broker connection lost", "reason", err)
}

func (s *Subscriber) onServerDisconnect(d *paho.Disconnect) {
	reason := fmt.Sprintf("server sent DISCONNECT (reason code %d)", d.ReasonCode)
	if d.Properties != nil && d.Properties.ReasonString != "" {
		reason += ": " + d.Properties.ReasonString
	}
	s.conn.setReason(reason)
	s.log.Warn("Broker closed the connection", "reason_code", d.ReasonCode, "reason", reason)
}

// subscribeCtx bounds one SUBSCRIBE or UNSUBSCRIBE round trip.
func subscribeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 15*time.Second)
}
