// Package stack holds the tests that validate the Docker Compose deployment
// (docker-compose.yaml, default.env, containers/, config/) without a Docker
// engine: the compose model, the environment, the images' Dockerfiles, the
// Prometheus, Loki, Alloy and Grafana configuration and the set-up script.
package stack

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/joho/godotenv"

	"github.com/wmo-im/wis2downloader/internal/config"
)

// appServices are the services built from this repository, by binary name.
var appServices = []string{config.Subscriber, config.API, config.Worker, config.UI}

// repoRoot is the repository root (two levels above this file).
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// rootFile is the path of a repository file.
func rootFile(t *testing.T, rel string) string {
	t.Helper()
	return filepath.Join(repoRoot(t), filepath.FromSlash(rel))
}

// readFile returns a repository file's content.
func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(rootFile(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// defaultEnv parses default.env the way docker compose and the services do.
func defaultEnv(t *testing.T) map[string]string {
	t.Helper()
	m, err := godotenv.Read(rootFile(t, "default.env"))
	if err != nil {
		t.Fatalf("default.env: %v", err)
	}
	return m
}

// varsByName indexes config.Vars().
func varsByName() map[string]config.Var {
	m := map[string]config.Var{}
	for _, v := range config.Vars() {
		m[v.Name] = v
	}
	return m
}

// generatedSecrets are the variables setup-env.sh fills with random values:
// every required secret of the services plus Grafana's admin password.
func generatedSecrets() []string {
	var names []string
	for _, v := range config.Vars() {
		if v.Secret && v.Required {
			names = append(names, v.Name)
		}
	}
	names = append(names, "GRAFANA_ADMIN_PASSWORD")
	sort.Strings(names)
	return names
}

// reads reports whether service reads the variable.
func reads(v config.Var, service string) bool {
	for _, s := range v.Services {
		if s == service {
			return true
		}
	}
	return false
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// lines splits text into lines without the trailing newline.
func lines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }
