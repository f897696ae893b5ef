package stack

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/wmo-im/wis2downloader/internal/download/tracker"
	"github.com/wmo-im/wis2downloader/internal/subscription"
)

// deploymentGuides returns the deployment documentation to check: README.md.
func deploymentGuides(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(rootFile(t, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "docker compose") {
		t.Fatal("README.md has no deployment guide (no docker compose commands)")
	}
	return map[string]string{"README.md": string(b)}
}

// readmeQueries extracts the expressions of ```promql blocks.
func readmeQueries(text string) []string {
	var out []string
	in := false
	for _, l := range strings.Split(text, "\n") {
		trim := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(trim, "```"):
			in = trim == "```promql"
		case in && trim != "" && !strings.HasPrefix(trim, "#"):
			out = append(out, trim)
		}
	}
	return out
}

// TestReadmeQueries: the example queries of the deployment guide use only
// metrics the services expose.
func TestReadmeQueries(t *testing.T) {
	docs := deploymentGuides(t)
	exposed := exposedMetrics(t)
	for name, text := range docs {
		qs := readmeQueries(text)
		if len(qs) < 5 {
			t.Errorf("%s has %d example queries in ```promql blocks, want the guide's examples", name, len(qs))
		}
		for _, q := range qs {
			for _, n := range promqlMetricNames(q) {
				if !exposed[n] {
					t.Errorf("%s: example query %q uses %s, which no service exposes", name, q, n)
				}
			}
		}
	}
}

// composeCommand matches `docker compose <verb> [options] <service>`.
var composeCommand = regexp.MustCompile(`docker compose (exec|logs|cp|restart|stop|start|run|build|up -d --scale) ((?:-(?:-tail|-index) \S+ |-[-A-Za-z]+ )*)([a-z][a-z0-9-]*)`)

// TestReadmeCommands: the guide's commands name services that exist, use
// Compose v2 syntax, and clear the Redis keys the code really uses.
func TestReadmeCommands(t *testing.T) {
	docs := deploymentGuides(t)
	p := mustLoadCompose(t)
	for name, text := range docs {
		n := 0
		for _, m := range composeCommand.FindAllStringSubmatch(text, -1) {
			n++
			svc := m[3]
			if _, ok := p.Services[svc]; !ok {
				t.Errorf("%s: %q names service %q, which docker-compose.yaml does not define", name, m[0], svc)
			}
		}
		if n < 10 {
			t.Errorf("%s: only %d docker compose commands naming a service found; the pattern is broken", name, n)
		}
		for _, old := range []string{"docker-compose ", "docker exec ", "docker cp ", "wis2downloader-ui"} {
			if strings.Contains(text, old) {
				t.Errorf("%s still uses %q (the original's commands or names)", name, old)
			}
		}
		for _, want := range []string{
			"docker compose exec redis redis-cli DEL " + subscription.HashKey,
			"--scan --pattern '" + tracker.Prefix + "*'",
			"docker compose up -d --scale worker=",
			"make up",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
	}
}
