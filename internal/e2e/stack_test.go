package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

// Broker labels: GLOBAL_BROKER_HOST of each subscriber, which is also the
// broker label of notifications_received_total. Broker A is reached over
// plain WebSockets at 127.0.0.1, broker B over MQTT/TLS at localhost (its
// certificate names both), so the two label values differ.
const (
	brokerAHost = "127.0.0.1"
	brokerBHost = "localhost"
	sessionA    = "e2e-subscriber-a"
	sessionB    = "e2e-subscriber-b"
)

// stackConfig says what to start and which settings differ from the defaults.
type stackConfig struct {
	workers    int               // worker processes (default 1; negative: none)
	worker     map[string]string // extra or overriding worker variables
	subscriber map[string]string // extra or overriding subscriber variables
	noUI       bool
}

// stack is the whole product running on loopback.
type stack struct {
	t    testing.TB
	dir  string
	data string // CONTAINER_DATA_PATH

	redis          *testsvc.Redis
	rdb            *redis.Client
	brokerA        *testsvc.Mosquitto // subscriber over WebSockets
	brokerB        *testsvc.Mosquitto // subscriber over TCP with TLS
	logA, logB     string             // broker logs (flushed per line)
	pubA, pubB     *publisher
	cacheA, cacheB *fakeCache // https://127.0.0.2, https://127.0.0.3

	api        *service
	ui         *service
	subA, subB *service
	workers    []*service
	client     *apiClient
	apiPort    int
}

// all lists every product process.
func (s *stack) all() []*service {
	out := []*service{s.api, s.subA, s.subB}
	out = append(out, s.workers...)
	if s.ui != nil {
		out = append(out, s.ui)
	}
	return out
}

func secret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startStack starts Redis, both brokers, both caches and every service, and
// waits until each service is healthy. Everything stops when t ends; when t
// failed, the tail of every service log is printed.
func startStack(t testing.TB, cfg stackConfig) *stack {
	t.Helper()
	if cfg.workers == 0 {
		cfg.workers = 1
	}
	if cfg.workers < 0 { // no worker at all (harness checks only)
		cfg.workers = 0
	}
	s := &stack{t: t, dir: t.TempDir()}
	s.data = filepath.Join(s.dir, "data")
	if err := os.MkdirAll(s.data, 0o755); err != nil {
		t.Fatal(err)
	}
	s.redis = testsvc.StartRedis(t)
	s.rdb = s.redis.Client(t)
	// SUBSCRIBE/UNSUBSCRIBE are logged to a file of our own: mosquitto
	// flushes file logs at once but buffers stdout.
	s.logA, s.logB = filepath.Join(s.dir, "broker-a-subs.log"), filepath.Join(s.dir, "broker-b-subs.log")
	logSubs := func(path string) testsvc.MosquittoOption {
		return testsvc.MosquittoConfig("log_type subscribe", "log_type unsubscribe", "log_dest file "+path)
	}
	s.brokerA = testsvc.StartMosquitto(t, logSubs(s.logA))
	s.brokerB = testsvc.StartMosquitto(t, logSubs(s.logB))
	s.pubA = newPublisher(t, s.brokerA, "e2e-pub-a")
	s.pubB = newPublisher(t, s.brokerB, "e2e-pub-b")
	pki := newCachePKI(t, s.dir)
	s.cacheA = startFakeCache(t, cacheHosts[0], pki)
	s.cacheB = startFakeCache(t, cacheHosts[1], pki)

	logLevel := os.Getenv("E2E_LOG_LEVEL")
	if logLevel == "" {
		logLevel = "INFO"
	}
	common := map[string]string{
		"LOG_LEVEL":      logLevel,
		"LOG_FORMAT":     "text",
		"REDIS_HOST":     s.redis.Host,
		"REDIS_PORT":     itoa(s.redis.Port),
		"REDIS_PASSWORD": s.redis.Password,
	}
	with := func(extra ...map[string]string) map[string]string {
		m := map[string]string{}
		for _, e := range append([]map[string]string{common}, extra...) {
			for k, v := range e {
				m[k] = v
			}
		}
		return m
	}

	token := secret()
	s.apiPort = freePort(t)
	apiBase := "http://127.0.0.1:" + itoa(s.apiPort)
	s.client = newAPIClient(apiBase, token)
	s.api = newService(t, s.dir, "api", "api", with(map[string]string{
		"API_HOST":            "127.0.0.1",
		"API_PORT":            itoa(s.apiPort),
		"API_TOKEN":           token,
		"API_SECRET_KEY":      secret(),
		"CONTAINER_DATA_PATH": s.data,
	}), apiBase+"/health")

	workerEnv := map[string]string{
		"CONTAINER_DATA_PATH":             s.data,
		"DOWNLOAD_ALLOW_PRIVATE_NETWORKS": "false",
		"DOWNLOAD_ALLOW_NETWORKS":         cacheHosts[0] + "/32," + cacheHosts[1] + "/32",
		"DOWNLOAD_CA_FILE":                pki.caFile,
		"DOWNLOAD_MIN_FREE_BYTES":         "1048576",
	}
	for k, v := range cfg.worker {
		workerEnv[k] = v
	}
	for i := 1; i <= cfg.workers; i++ {
		port := freePort(t)
		env := with(workerEnv, map[string]string{"WORKER_METRICS_PORT": itoa(port)})
		s.workers = append(s.workers, newService(t, s.dir, "worker-"+itoa(i), "worker", env,
			"http://127.0.0.1:"+itoa(port)+"/healthz"))
	}

	subPortA, subPortB := freePort(t), freePort(t)
	subA := map[string]string{
		"GLOBAL_BROKER_HOST":      brokerAHost,
		"GLOBAL_BROKER_PORT":      itoa(s.brokerA.WSPort),
		"GLOBAL_BROKER_USERNAME":  s.brokerA.Username,
		"GLOBAL_BROKER_PASSWORD":  s.brokerA.Password,
		"MQTT_PROTOCOL":           "websockets",
		"MQTT_TLS":                "false",
		"MQTT_WS_PATH":            "/mqtt",
		"MQTT_SESSION_ID":         sessionA,
		"SUBSCRIBER_METRICS_PORT": itoa(subPortA),
	}
	subB := map[string]string{
		"GLOBAL_BROKER_HOST":      brokerBHost,
		"GLOBAL_BROKER_PORT":      itoa(s.brokerB.TLSPort),
		"GLOBAL_BROKER_USERNAME":  s.brokerB.Username,
		"GLOBAL_BROKER_PASSWORD":  s.brokerB.Password,
		"MQTT_PROTOCOL":           "tcp",
		"MQTT_TLS":                "true",
		"MQTT_CA_FILE":            s.brokerB.CAFile,
		"MQTT_SESSION_ID":         sessionB,
		"SUBSCRIBER_METRICS_PORT": itoa(subPortB),
	}
	s.subA = newService(t, s.dir, "subscriber-a", "subscriber", with(subA, cfg.subscriber), "http://127.0.0.1:"+itoa(subPortA)+"/healthz")
	s.subB = newService(t, s.dir, "subscriber-b", "subscriber", with(subB, cfg.subscriber), "http://127.0.0.1:"+itoa(subPortB)+"/healthz")

	uiPort := 0
	if !cfg.noUI {
		uiPort = freePort(t)
		s.ui = newService(t, s.dir, "ui", "ui", with(map[string]string{
			"UI_HOST":                       "127.0.0.1",
			"UI_PORT":                       itoa(uiPort),
			"WIS2_SUBSCRIPTION_MANAGER_URL": apiBase,
			"API_TOKEN":                     token,
			"UI_SECRET_KEY":                 secret(),
			"WIS2_GRAFANA_URL":              "http://127.0.0.1:3000",
		}), "http://127.0.0.1:"+itoa(uiPort)+"/healthz")
	}

	t.Cleanup(func() {
		for _, svc := range s.all() {
			if svc.running() {
				if err := svc.signal(t, syscall.SIGTERM); err != nil {
					t.Logf("%s: exit after SIGTERM at cleanup: %v", svc.name, err)
				}
			}
		}
		if t.Failed() {
			for _, svc := range s.all() {
				t.Log(svc.logTail(80))
			}
		}
	})
	s.api.portVar, s.api.port = "API_PORT", s.apiPort
	s.subA.portVar, s.subA.port = "SUBSCRIBER_METRICS_PORT", subPortA
	s.subB.portVar, s.subB.port = "SUBSCRIBER_METRICS_PORT", subPortB
	for _, w := range s.workers {
		w.portVar = "WORKER_METRICS_PORT"
		for _, kv := range w.env {
			if v, ok := strings.CutPrefix(kv, "WORKER_METRICS_PORT="); ok {
				w.port, _ = strconv.Atoi(v)
			}
		}
	}
	if s.ui != nil {
		s.ui.portVar, s.ui.port = "UI_PORT", uiPort
	}
	s.api.startOnFreePort(t)
	if s.api.port != s.apiPort { // moved: tell its clients
		s.apiPort = s.api.port
		s.client.base = "http://127.0.0.1:" + itoa(s.apiPort)
		if s.ui != nil {
			for i, kv := range s.ui.env {
				if strings.HasPrefix(kv, "WIS2_SUBSCRIPTION_MANAGER_URL=") {
					s.ui.env[i] = "WIS2_SUBSCRIPTION_MANAGER_URL=" + s.client.base
				}
			}
		}
	}
	for _, svc := range s.all()[1:] {
		svc.startOnFreePort(t)
	}
	return s
}

// checkAlive fails the test when a service has died.
func (s *stack) checkAlive(t testing.TB) {
	t.Helper()
	for _, svc := range s.all() {
		if err := svc.exited(); err != nil {
			t.Fatalf("%v\n%s", err, svc.logTail(60))
		}
	}
}

// brokerLogHas reports whether the broker log file has a line matching re.
func brokerLogHas(path string, re *regexp.Regexp) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	return re.Match(data)
}

// subscribeLine matches mosquitto's "log_type subscribe" line for client
// and filter (any QoS).
func subscribeLine(client, filter string) *regexp.Regexp {
	return regexp.MustCompile(`(?m): ` + regexp.QuoteMeta(client) + ` [0-2] ` + regexp.QuoteMeta(filter) + `$`)
}

// unsubscribeLine matches mosquitto's "log_type unsubscribe" line.
func unsubscribeLine(client, filter string) *regexp.Regexp {
	return regexp.MustCompile(`(?m): ` + regexp.QuoteMeta(client) + ` ` + regexp.QuoteMeta(filter) + `$`)
}

// waitSubscribed waits until both subscribers have sent SUBSCRIBE for
// filter to their broker (seen in the broker logs).
func (s *stack) waitSubscribed(t testing.TB, filter string) {
	t.Helper()
	eventually(t, 20*time.Second, "both subscribers SUBSCRIBE "+filter, func() (bool, string) {
		a := brokerLogHas(s.logA, subscribeLine(sessionA, filter))
		b := brokerLogHas(s.logB, subscribeLine(sessionB, filter))
		return a && b, "broker A saw it: " + boolStr(a) + ", broker B saw it: " + boolStr(b)
	}, s)
}

// waitUnsubscribed waits until both subscribers have sent UNSUBSCRIBE.
func (s *stack) waitUnsubscribed(t testing.TB, filter string) {
	t.Helper()
	eventually(t, 20*time.Second, "both subscribers UNSUBSCRIBE "+filter, func() (bool, string) {
		a := brokerLogHas(s.logA, unsubscribeLine(sessionA, filter))
		b := brokerLogHas(s.logB, unsubscribeLine(sessionB, filter))
		return a && b, "broker A saw it: " + boolStr(a) + ", broker B saw it: " + boolStr(b)
	}, s)
}

func boolStr(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// subscribe creates a subscription through the API and waits until both
// subscribers hold it at their broker.
func (s *stack) subscribe(t testing.TB, filter, target string) string {
	t.Helper()
	id := s.client.Subscribe(t, filter, target)
	s.waitSubscribed(t, filter)
	return id
}

// health GETs url and returns the status code (0 when unreachable).
func health(url string) int {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// trimLog shortens a log for messages.
func trimLog(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
