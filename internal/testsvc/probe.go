package testsvc

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"

	"github.com/eclipse/paho.golang/paho"
)

// probe succeeds when all three listeners accept: the WebSocket port takes a
// TCP connection, the TLS port completes a handshake verified against the CA,
// and the TCP port accepts an authenticated MQTT v5 CONNECT.
func (m *Mosquitto) probe(ctx context.Context) error {
	var d net.Dialer
	ws, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(m.WSPort)))
	if err != nil {
		return fmt.Errorf("websocket listener: %w", err)
	}
	ws.Close()

	td := tls.Dialer{Config: m.TLSConfig()}
	tc, err := td.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(m.TLSPort)))
	if err != nil {
		return fmt.Errorf("tls listener: %w", err)
	}
	tc.Close()

	conn, err := d.DialContext(ctx, "tcp", m.TCPAddr)
	if err != nil {
		return fmt.Errorf("mqtt listener: %w", err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn})
	_, err = c.Connect(ctx, &paho.Connect{
		ClientID:     "testsvc-probe-" + randomSecret()[:8],
		CleanStart:   true,
		KeepAlive:    30,
		Username:     m.Username,
		UsernameFlag: true,
		Password:     []byte(m.Password),
		PasswordFlag: true,
	})
	if err != nil {
		conn.Close()
		return fmt.Errorf("mqtt connect: %w", err)
	}
	_ = c.Disconnect(&paho.Disconnect{ReasonCode: 0})
	<-c.Done()
	return nil
}
