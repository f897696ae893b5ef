package e2e

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/google/uuid"

	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

// publisher sends QoS 1 messages to one broker over its plain TCP listener,
// reconnecting (and re-sending) when the broker went away, so that a message
// counts as published only once the broker acknowledged it.
type publisher struct {
	broker *testsvc.Mosquitto
	id     string

	mu     sync.Mutex
	client *paho.Client
}

func newPublisher(t testing.TB, b *testsvc.Mosquitto, id string) *publisher {
	p := &publisher{broker: b, id: id}
	t.Cleanup(p.close)
	return p
}

func (p *publisher) connect(ctx context.Context) (*paho.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil {
		select {
		case <-p.client.Done():
			p.client = nil
		default:
			return p.client, nil
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.broker.TCPAddr)
	if err != nil {
		return nil, err
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn})
	_, err = c.Connect(ctx, &paho.Connect{
		ClientID: p.id + "-" + uuid.NewString()[:8], CleanStart: true, KeepAlive: 30,
		Username: p.broker.Username, UsernameFlag: true,
		Password: []byte(p.broker.Password), PasswordFlag: true,
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	p.client = c
	return c, nil
}

// drop forgets a client that failed.
func (p *publisher) drop(c *paho.Client) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client == c {
		_ = c.Disconnect(&paho.Disconnect{})
		p.client = nil
	}
}

func (p *publisher) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil {
		_ = p.client.Disconnect(&paho.Disconnect{})
		<-p.client.Done()
		p.client = nil
	}
}

// Publish sends payload with QoS 1 and returns once the broker sent PUBACK,
// retrying through reconnections until ctx ends.
func (p *publisher) Publish(ctx context.Context, topic string, payload []byte) error {
	var last error
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("publish to %s: %w (last error: %v)", topic, err, last)
		}
		c, err := p.connect(ctx)
		if err == nil {
			actx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = c.Publish(actx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload})
			cancel()
			if err == nil {
				return nil
			}
			p.drop(c)
		}
		last = err
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// MustPublish publishes or fails the test.
func (p *publisher) MustPublish(t testing.TB, topic string, payload []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Publish(ctx, topic, payload); err != nil {
		t.Fatal(err)
	}
}

// note is one WIS2 notification message, built from the real sample.
type note struct {
	ID      string
	DataID  string
	Pubtime time.Time
	Href    string
	Rel     string         // canonical when empty
	Type    string         // link type; omitted when empty
	Length  int64          // link length; omitted when 0
	Method  string         // integrity method; no integrity block when empty
	Value   string         // integrity value
	Content map[string]any // properties.content (inline data); nil = none
	Drop    []string
}

// newNote describes body served at href, with a fresh id, data_id derived
// from centre and name, pubtime now, sha512 integrity and the length.
func newNote(centre, name, href string, body []byte) note {
	sum := sha512.Sum512(body)
	return note{
		ID:      uuid.NewString(),
		DataID:  centre + "/data/core/weather/surface-based-observations/synop/" + name,
		Pubtime: time.Now().UTC(),
		Href:    href,
		Type:    "application/octet-stream",
		Length:  int64(len(body)),
		Method:  "sha512",
		Value:   base64.StdEncoding.EncodeToString(sum[:]),
	}
}

// JSON renders the notification: the sample with its fields replaced.
func (n note) JSON() []byte {
	m := deepCopy(sampleTemplate)
	m["id"] = n.ID
	props := m["properties"].(map[string]any)
	props["data_id"] = n.DataID
	props["pubtime"] = n.Pubtime.Format("2006-01-02T15:04:05.000000Z")
	props["datetime"] = n.Pubtime.Format("2006-01-02T15:04:05Z")
	if n.Method == "" {
		delete(props, "integrity")
	} else {
		props["integrity"] = map[string]any{"method": n.Method, "value": n.Value}
	}
	if n.Content != nil {
		props["content"] = n.Content
	}
	rel := n.Rel
	if rel == "" {
		rel = "canonical"
	}
	link := map[string]any{"href": n.Href, "rel": rel}
	if n.Type != "" {
		link["type"] = n.Type
	}
	if n.Length > 0 {
		link["length"] = n.Length
	}
	m["links"] = []any{link}
	for _, k := range n.Drop {
		if strings.HasPrefix(k, "properties.") {
			delete(props, strings.TrimPrefix(k, "properties."))
		} else {
			delete(m, k)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func deepCopy(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// dataTopic is the WIS2 topic of synoptic data of centre on channel
// ("cache" or "origin").
func dataTopic(channel, centre string) string {
	return channel + "/a/wis2/" + centre + "/data/core/weather/surface-based-observations/synop"
}
