package telemetry

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

func TestLineFormat(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger(&buf, "subscriber", "INFO", "text")
	if err != nil {
		t.Fatal(err)
	}
	l.With("component", "mqtt").Info("Connected successfully", "broker", "globalbroker.meteo.fr", "reason", "server said bye", "error", errors.New("boom"))
	l.Debug("hidden")
	l.Warn("careful")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines (debug filtered), got %q", buf.String())
	}
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z subscriber INFO Connected successfully component=mqtt broker=globalbroker.meteo.fr reason="server said bye" error=boom$`)
	if !re.MatchString(lines[0]) {
		t.Errorf("line %q does not match the admin guide format", lines[0])
	}
	if !strings.Contains(lines[1], " subscriber WARNING careful") {
		t.Errorf("warning line %q", lines[1])
	}
}

func TestGroupsAndJSON(t *testing.T) {
	var buf bytes.Buffer
	l, _ := NewLogger(&buf, "api", "DEBUG", "text")
	l.WithGroup("req").Debug("x", "id", 1, slog.Group("g", "k", "v"))
	if !strings.Contains(buf.String(), "req.id=1 req.g.k=v") {
		t.Errorf("groups: %q", buf.String())
	}
	buf.Reset()
	l, _ = NewLogger(&buf, "api", "WARNING", "json")
	l.Info("no")
	l.Error("yes", "n", 2)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("json line %q: %v", buf.String(), err)
	}
	if m["level"] != "ERROR" || m["service"] != "api" || m["msg"] != "yes" || !strings.HasSuffix(m["time"].(string), "Z") {
		t.Errorf("json record %v", m)
	}
}

func TestBadLevel(t *testing.T) {
	if _, err := NewLogger(&bytes.Buffer{}, "x", "LOUD", "text"); err == nil {
		t.Error("unknown level accepted")
	}
}
