package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func base() map[string]string {
	return map[string]string{
		"REDIS_PASSWORD":     "pw",
		"GLOBAL_BROKER_HOST": "broker.example",
		"API_SECRET_KEY":     "k",
		"API_TOKEN":          "t",
		"UI_SECRET_KEY":      "u",
	}
}

func TestDefaults(t *testing.T) {
	c, err := LoadWorker(MapSource(base()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.Host != "localhost" || c.Redis.Port != 6379 || c.Redis.DB != 0 {
		t.Errorf("redis defaults: %+v", c.Redis)
	}
	if c.DedupTTL != time.Hour || c.LockTTL != 300*time.Second {
		t.Errorf("ttl defaults: %v %v", c.DedupTTL, c.LockTTL)
	}
	if c.DataPath != "/data" || c.Retention != 30*24*time.Hour || c.ChunkSize != 65536 {
		t.Errorf("worker defaults: %+v", c)
	}
	s, err := LoadSubscriber(MapSource(base()))
	if err != nil {
		t.Fatal(err)
	}
	if s.BrokerPort != 443 || s.Username != "everyone" || s.Password != "everyone" || s.Protocol != "websockets" || !s.UseTLS() {
		t.Errorf("subscriber defaults: %+v", s)
	}
	a, err := LoadAPI(MapSource(base()))
	if err != nil {
		t.Fatal(err)
	}
	if a.Host != "0.0.0.0" || a.Port != 5001 || a.Debug {
		t.Errorf("api defaults: %+v", a)
	}
	u, err := LoadUI(MapSource(base()))
	if err != nil {
		t.Fatal(err)
	}
	if u.Port != 8080 || u.GDCTTL != 6*time.Hour || u.APIURL != "http://api:5001" || u.GrafanaURL != "http://localhost:3000" {
		t.Errorf("ui defaults: %+v", u)
	}
}

func TestMissingRequiredNamesEveryVariable(t *testing.T) {
	_, err := LoadAPI(MapSource(map[string]string{}))
	if err == nil {
		t.Fatal("no error without configuration")
	}
	for _, name := range []string{"REDIS_PASSWORD", "API_SECRET_KEY", "API_TOKEN"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	_, err = LoadSubscriber(MapSource(map[string]string{"REDIS_PASSWORD": "x"}))
	if err == nil || !strings.Contains(err.Error(), "GLOBAL_BROKER_HOST") {
		t.Errorf("subscriber without broker: %v", err)
	}
}

func TestAliases(t *testing.T) {
	env := base()
	delete(env, "API_SECRET_KEY")
	env["FLASK_SECRET_KEY"] = "flask"
	env["FLASK_PORT"] = "5005"
	env["FLASK_DEBUG"] = "true"
	env["CELERY_DEFAULT_QUEUE"] = "celery"
	a, err := LoadAPI(MapSource(env))
	if err != nil {
		t.Fatal(err)
	}
	if a.SecretKey != "flask" || a.Port != 5005 || !a.Debug || a.Queue != "celery" {
		t.Errorf("aliases not honoured: %+v", a)
	}
	env["API_PORT"] = "6000" // the Go name wins over the alias
	a, _ = LoadAPI(MapSource(env))
	if a.Port != 6000 {
		t.Errorf("API_PORT should win over FLASK_PORT, got %d", a.Port)
	}
	env["STORAGE_SECRET"] = "s"
	delete(env, "UI_SECRET_KEY")
	u, err := LoadUI(MapSource(env))
	if err != nil || u.SecretKey != "s" {
		t.Errorf("STORAGE_SECRET alias: %v %+v", err, u)
	}
}

func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pw")
	if err := os.WriteFile(p, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := base()
	delete(env, "REDIS_PASSWORD")
	env["REDIS_PASSWORD_FILE"] = p
	c, err := LoadWorker(MapSource(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.Password != "from-file" {
		t.Errorf("password from file = %q", c.Redis.Password)
	}
	env["REDIS_PASSWORD_FILE"] = filepath.Join(dir, "missing")
	if _, err := LoadWorker(MapSource(env)); err == nil || !strings.Contains(err.Error(), "REDIS_PASSWORD_FILE") {
		t.Errorf("unreadable secret file: %v", err)
	}
}

func TestBadValues(t *testing.T) {
	cases := map[string]string{
		"REDIS_PORT":         "abc",
		"GLOBAL_BROKER_PORT": "99999",
		"MQTT_PROTOCOL":      "carrier-pigeon",
		"LOG_LEVEL":          "LOUD",
		"REDIS_TIMEOUT":      "soon",
		"MQTT_TLS":           "maybe",
	}
	for name, val := range cases {
		env := base()
		env[name] = val
		_, err := LoadSubscriber(MapSource(env))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v does not name the variable", name, val, err)
		}
	}
}

func TestDurationsAcceptSecondsAndGoSyntax(t *testing.T) {
	env := base()
	env["SUBSCRIBER_RECONCILE_INTERVAL"] = "90"
	env["MQTT_SESSION_EXPIRY"] = "2h"
	s, err := LoadSubscriber(MapSource(env))
	if err != nil {
		t.Fatal(err)
	}
	if s.Reconcile != 90*time.Second || s.SessionExpiry != 2*time.Hour {
		t.Errorf("durations: %v %v", s.Reconcile, s.SessionExpiry)
	}
}

func TestRealEnvironmentWinsOverDotenv(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, ".env")
	if err := os.WriteFile(p, []byte("REDIS_PASSWORD=file\nREDIS_HOST=filehost\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"REDIS_HOST": "envhost", "GLOBAL_BROKER_HOST": "b"}
	src, err := NewSource(func(k string) string { return env[k] }, p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadSubscriber(src)
	if err != nil {
		t.Fatal(err)
	}
	if c.Redis.Host != "envhost" || c.Redis.Password != "file" {
		t.Errorf("precedence: host=%q password=%q", c.Redis.Host, c.Redis.Password)
	}
	if _, err := NewSource(func(string) string { return "" }, filepath.Join(dir, "absent")); err != nil {
		t.Errorf("missing dotenv file must not be an error: %v", err)
	}
}

func TestSettingsNeverShowSecrets(t *testing.T) {
	env := base()
	env["REDIS_PASSWORD"] = "s3cr3t-value"
	c, err := LoadAPI(MapSource(env))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Settings {
		if strings.Contains(s.Redacted(), "s3cr3t") {
			t.Errorf("%s shows the secret", s.Name)
		}
	}
	if len(c.Settings) < 10 {
		t.Errorf("settings not recorded: %d", len(c.Settings))
	}
}

func TestVarTableIsConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Vars() {
		for _, n := range append([]string{v.Name}, v.Aliases...) {
			if seen[n] {
				t.Errorf("%s listed twice", n)
			}
			seen[n] = true
		}
		if v.Help == "" || len(v.Services) == 0 {
			t.Errorf("%s lacks help or services", v.Name)
		}
		if v.Required && v.Default != "" {
			t.Errorf("%s is required but has a default", v.Name)
		}
	}
}
