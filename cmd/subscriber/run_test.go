package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/hibiken/asynq"

	"github.com/wmo-im/wis2downloader/internal/subscription"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// The binary's run() with the real variable names: WebSocket transport,
// healthcheck subcommand, /metrics, a subscription command, a queued task,
// and a clean exit on cancel.
func TestRunWithEnvironment(t *testing.T) {
	r := testsvc.StartRedis(t)
	m := testsvc.StartMosquitto(t)
	rdb := r.Client(t)
	port := testsvc.FreePort(t)
	env := map[string]string{
		"REDIS_HOST":                    r.Host,
		"REDIS_PORT":                    strconv.Itoa(r.Port),
		"REDIS_PASSWORD":                r.Password,
		"GLOBAL_BROKER_HOST":            "127.0.0.1",
		"GLOBAL_BROKER_PORT":            strconv.Itoa(m.WSPort),
		"GLOBAL_BROKER_USERNAME":        m.Username,
		"GLOBAL_BROKER_PASSWORD":        m.Password,
		"MQTT_PROTOCOL":                 "websockets",
		"MQTT_WS_PATH":                  "/mqtt",
		"MQTT_TLS":                      "false",
		"MQTT_SESSION_ID":               "run-test",
		"SUBSCRIBER_METRICS_PORT":       strconv.Itoa(port),
		"SUBSCRIBER_RECONCILE_INTERVAL": "1s",
		"SUBSCRIBER_ENQUEUERS":          "2",
		"DOWNLOAD_QUEUE":                "downloads",
		"LOG_LEVEL":                     "DEBUG",
	}
	getenv := testsvc.Getenv(env)
	ctx := context.Background()
	svc := testsvc.StartRun(t, ctx, run, env)
	stdout := svc.Stdout

	eventually(t, "healthy", func() bool {
		return run(context.Background(), []string{"healthcheck"}, getenv, io.Discard, io.Discard) == nil
	})
	eventually(t, "command listener", func() bool { return strings.Contains(stdout.String(), "Listening for subscription commands") })
	path := "run"
	sub := subscription.Subscription{ID: "run-1", Topic: "origin/a/wis2/+/data/#", SavePath: &path}
	b, _ := json.Marshal(sub)
	rdb.HSet(ctx, subscription.HashKey, sub.ID, b)
	cmd, _ := json.Marshal(subscription.Command{Action: "subscribe", Topic: sub.Topic,
		Subscriptions: map[string]subscription.Entry{sub.ID: {ID: sub.ID, SavePath: &path}}})
	rdb.Publish(ctx, subscription.CommandChannel, cmd)
	eventually(t, "SUBSCRIBE", func() bool { return strings.Contains(stdout.String(), "topic=origin/a/wis2/+/data/# qos=1") })

	publish(t, m, "origin/a/wis2/ca-eccc-msc/data/core/weather", `{"id":"run-msg","type":"Feature"}`)
	ins := asynq.NewInspectorFromRedisClient(rdb)
	eventually(t, "the task", func() bool {
		ti, err := ins.GetTaskInfo("downloads", "msg:run-msg")
		return err == nil && ti.State == asynq.TaskStatePending
	})

	// The counter moves just after the task is queued: poll.
	var body string
	eventually(t, "/metrics", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		return strings.Contains(body, `wis2downloader_subscriber_messages_total{broker="127.0.0.1",result="queued"} 1`)
	})
	for _, want := range []string{`wis2downloader_subscriber_connected{broker="127.0.0.1"} 1`, `go_goroutines`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, want := range []string{"Connected successfully", "broker=127.0.0.1", "client_id=run-test", "GLOBAL_BROKER_PASSWORD=[redacted]"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}

	if err := svc.Stop(t); err != nil {
		t.Fatalf("run returned %v after cancel", err)
	}
}

func TestRunRejectsBadConfiguration(t *testing.T) {
	err := run(context.Background(), nil, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "GLOBAL_BROKER_HOST") || !strings.Contains(err.Error(), "REDIS_PASSWORD") {
		t.Fatalf("run with no environment: %v", err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-version"}, func(string) string { return "" }, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "subscriber ") {
		t.Fatalf("-version: %v %q", err, out.String())
	}
}

func publish(t *testing.T, m *testsvc.Mosquitto, topic, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := net.Dial("tcp", m.TCPAddr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: "run-pub"})
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "run-pub", KeepAlive: 30, CleanStart: true,
		Username: m.Username, UsernameFlag: true, Password: []byte(m.Password), PasswordFlag: true}); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(&paho.Disconnect{})
	if _, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(payload)}); err != nil {
		t.Fatal(err)
	}
}
