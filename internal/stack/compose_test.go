package stack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/wmo-im/wis2downloader/internal/config"
)

// dummyEnv is default.env with every generated value filled, as
// containers/setup-env.sh leaves .env.
func dummyEnv(t *testing.T) map[string]string {
	t.Helper()
	env := defaultEnv(t)
	for _, name := range generatedSecrets() {
		env[name] = "test-" + strings.ToLower(name)
	}
	env["MQTT_SESSION_ID"] = "wis2downloader-test"
	return env
}

// loadCompose loads docker-compose.yaml with compose-go (as `docker compose
// config` does) with env as the .env content and every profile enabled.
func loadCompose(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yaml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnv(list),
		cli.WithProfiles([]string{"*"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func mustLoadCompose(t *testing.T) *types.Project {
	t.Helper()
	p, err := loadCompose(t, dummyEnv(t))
	if err != nil {
		t.Fatalf("docker-compose.yaml does not load: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("service %q missing", name)
	}
	return s
}

// subscriberServices are the compose services running the subscriber binary.
var subscriberServices = map[string]struct {
	host, port, protocol, wsPath string
	profile                      string // "" = enabled by default
}{
	"subscriber-france": {"globalbroker.meteo.fr", "443", "websockets", "/mqtt", ""},
	"subscriber-china":  {"gb.wis.cma.cn", "443", "websockets", "/mqtt", "china"},
	"subscriber-usa":    {"wis2globalbroker.nws.noaa.gov", "443", "websockets", "/ws", "usa"},
	"subscriber-brazil": {"globalbroker.inmet.gov.br", "8883", "tcp", "/mqtt", "brazil"},
}

// binaryOf is the binary a compose service of ours runs ("" for third-party images).
func binaryOf(name string) string {
	if _, ok := subscriberServices[name]; ok {
		return config.Subscriber
	}
	for _, s := range appServices {
		if s == name {
			return s
		}
	}
	return ""
}

func TestComposeServices(t *testing.T) {
	p := mustLoadCompose(t)
	want := []string{"alloy", "api", "grafana", "loki", "prometheus", "redis", "ui", "worker"}
	for name := range subscriberServices {
		want = append(want, name)
	}
	sort.Strings(want)
	if got := p.ServiceNames(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("services = %v, want %v", got, want)
	}

	// Only the France subscriber runs without a profile.
	def, err := loadComposeDefaultProfiles(t)
	if err != nil {
		t.Fatal(err)
	}
	for name, sub := range subscriberServices {
		_, enabled := def.Services[name]
		if enabled != (sub.profile == "") {
			t.Errorf("%s enabled by default = %v", name, enabled)
		}
		if sub.profile != "" && !contains(p.Services[name].Profiles, sub.profile) {
			t.Errorf("%s profiles = %v, want %q", name, p.Services[name].Profiles, sub.profile)
		}
	}
}

func loadComposeDefaultProfiles(t *testing.T) (*types.Project, error) {
	t.Helper()
	p, err := loadCompose(t, dummyEnv(t))
	if err != nil {
		return nil, err
	}
	return p.WithProfiles(nil)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestComposePublishedPorts(t *testing.T) {
	p := mustLoadCompose(t)
	want := map[string]string{"api": "5002:5001", "ui": "8080:8080", "grafana": "3000:3000"}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		var got []string
		for _, port := range s.Ports {
			got = append(got, port.Published+":"+fmt.Sprint(port.Target))
		}
		w, ok := want[name]
		switch {
		case !ok && len(got) > 0:
			t.Errorf("%s publishes %v; only api, ui and grafana may be reachable from the host", name, got)
		case ok && (len(got) != 1 || got[0] != w):
			t.Errorf("%s publishes %v, want %s", name, got, w)
		}
	}
}

func TestComposeHealthchecksAndRestart(t *testing.T) {
	p := mustLoadCompose(t)
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) < 2 {
			t.Errorf("%s has no healthcheck", name)
		}
		if s.Restart != types.RestartPolicyUnlessStopped && s.Restart != types.RestartPolicyAlways {
			t.Errorf("%s restart = %q", name, s.Restart)
		}
		if s.ContainerName != "" {
			t.Errorf("%s sets container_name %q: it breaks --scale and parallel projects", name, s.ContainerName)
		}
		if s.Logging == nil || s.Logging.Driver != "json-file" || s.Logging.Options["max-size"] == "" || s.Logging.Options["max-file"] == "" {
			t.Errorf("%s logging = %+v, want json-file with max-size and max-file", name, s.Logging)
		}
		if !contains(s.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("%s lacks security_opt no-new-privileges:true", name)
		}
		for dep, d := range s.DependsOn {
			if d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s depends on %s with condition %q, want service_healthy", name, dep, d.Condition)
			}
		}
		if bin := binaryOf(name); bin != "" {
			want := []string{"CMD", "/usr/local/bin/" + bin, "healthcheck"}
			if strings.Join(s.HealthCheck.Test, " ") != strings.Join(want, " ") {
				t.Errorf("%s healthcheck = %q, want %q", name, s.HealthCheck.Test, want)
			}
		}
	}
	for _, name := range []string{"api", "worker", "ui", "subscriber-france"} {
		if _, ok := service(t, p, name).DependsOn["redis"]; !ok {
			t.Errorf("%s does not wait for redis", name)
		}
	}
	if _, ok := service(t, p, "ui").DependsOn["api"]; !ok {
		t.Error("ui does not wait for api")
	}
	if _, ok := service(t, p, "alloy").DependsOn["loki"]; !ok {
		t.Error("alloy does not wait for loki")
	}
}

func TestComposeOwnImages(t *testing.T) {
	p := mustLoadCompose(t)
	for _, name := range p.ServiceNames() {
		bin := binaryOf(name)
		if bin == "" {
			continue
		}
		s := p.Services[name]
		if s.User != "10001:988" {
			t.Errorf("%s user = %q, want 10001:988", name, s.User)
		}
		if !s.ReadOnly {
			t.Errorf("%s root filesystem is writable", name)
		}
		if !contains(s.CapDrop, "ALL") {
			t.Errorf("%s keeps its capabilities (cap_drop: [ALL] missing)", name)
		}
		if s.Build == nil {
			t.Errorf("%s has no build section", name)
			continue
		}
		if s.Build.Dockerfile != "containers/"+bin+"/Dockerfile" {
			t.Errorf("%s builds %q, want containers/%s/Dockerfile", name, s.Build.Dockerfile, bin)
		}
		if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if s.Build.Args["VERSION"] == nil || *s.Build.Args["VERSION"] == "" {
			t.Errorf("%s does not pass the VERSION build argument", name)
		}
	}
	if s := service(t, p, "worker"); s.Deploy != nil && s.Deploy.Replicas != nil && *s.Deploy.Replicas != 1 {
		t.Errorf("worker replicas = %d", *s.Deploy.Replicas)
	}
}

// pinned matches image references with an explicit tag.
var pinned = regexp.MustCompile(`^[a-z0-9./_-]+(:[0-9]+)?/?[a-z0-9./_-]*:[A-Za-z0-9._-]+$`)

func TestComposeImagesPinned(t *testing.T) {
	p := mustLoadCompose(t)
	for _, name := range p.ServiceNames() {
		img := p.Services[name].Image
		tag := img[strings.LastIndex(img, ":")+1:]
		if !pinned.MatchString(img) || tag == "latest" || strings.Contains(tag, "/") {
			t.Errorf("%s image %q is not pinned to a version tag", name, img)
		}
	}
	want := map[string]string{
		"redis": "redis:8.", "prometheus": "prom/prometheus:v3.", "loki": "grafana/loki:3.",
		"alloy": "grafana/alloy:v1.", "grafana": "grafana/grafana:12.",
	}
	for name, prefix := range want {
		if img := service(t, p, name).Image; !strings.HasPrefix(img, prefix) {
			t.Errorf("%s image %q, want %s*", name, img, prefix)
		}
	}
}

func TestComposeVolumes(t *testing.T) {
	p := mustLoadCompose(t)
	for _, v := range []string{"redis-data", "prometheus-data", "loki-data", "alloy-data", "grafana-data"} {
		if _, ok := p.Volumes[v]; !ok {
			t.Errorf("named volume %s missing", v)
		}
	}
	mount := func(svc, target string) (types.ServiceVolumeConfig, bool) {
		for _, m := range service(t, p, svc).Volumes {
			if m.Target == target {
				return m, true
			}
		}
		return types.ServiceVolumeConfig{}, false
	}
	downloads := rootFile(t, "downloads")
	for svc, readOnly := range map[string]bool{"worker": false, "api": true} {
		m, ok := mount(svc, "/data")
		switch {
		case !ok:
			t.Errorf("%s does not mount the data directory at /data", svc)
		case m.Type != types.VolumeTypeBind || filepath.Clean(m.Source) != downloads:
			t.Errorf("%s mounts %s %q at /data, want bind of ./downloads", svc, m.Type, m.Source)
		case m.ReadOnly != readOnly:
			t.Errorf("%s /data read_only = %v, want %v", svc, m.ReadOnly, readOnly)
		}
	}
	for _, svc := range []string{"subscriber-france", "ui"} {
		if _, ok := mount(svc, "/data"); ok {
			t.Errorf("%s mounts the data directory it does not need", svc)
		}
	}
	if m, ok := mount("redis", "/data"); !ok || m.Type != types.VolumeTypeVolume || m.Source != "redis-data" {
		t.Errorf("redis /data = %+v, want the redis-data volume", m)
	}
	for svc, target := range map[string]string{
		"prometheus": "/etc/prometheus/prometheus.yml",
		"loki":       "/etc/loki/loki-config.yml",
		"alloy":      "/etc/alloy/config.alloy",
		"redis":      "/usr/local/etc/redis/redis.conf",
		"grafana":    "/etc/grafana/provisioning",
	} {
		m, ok := mount(svc, target)
		if !ok {
			t.Errorf("%s lacks its configuration mount %s", svc, target)
			continue
		}
		if !m.ReadOnly {
			t.Errorf("%s configuration mount %s is writable", svc, target)
		}
		if _, err := os.Stat(m.Source); err != nil {
			t.Errorf("%s: %v", svc, err)
		}
	}
}

func TestComposeRedis(t *testing.T) {
	p := mustLoadCompose(t)
	r := service(t, p, "redis")
	cmd := strings.Join(r.Command, " ")
	if !strings.Contains(cmd, "--requirepass test-redis_password") {
		t.Errorf("redis command %q does not set the password from .env", cmd)
	}
	if v := r.Environment["REDISCLI_AUTH"]; v == nil || *v != "test-redis_password" {
		t.Error("redis lacks REDISCLI_AUTH for its healthcheck")
	}
	if strings.Contains(strings.Join(r.HealthCheck.Test, " "), "test-redis_password") {
		t.Error("the redis healthcheck puts the password on the command line")
	}
	conf := readFile(t, "config/redis/redis.conf")
	for _, want := range []string{"appendonly yes", "save ", "dir /data", "maxmemory-policy noeviction"} {
		if !strings.Contains(conf, want) {
			t.Errorf("redis.conf lacks %q", want)
		}
	}
}

// TestComposeRefusesMissingSecrets: without a generated secret, compose must
// refuse to start rather than run with an empty password.
func TestComposeRefusesMissingSecrets(t *testing.T) {
	for _, name := range append(generatedSecrets(), "MQTT_SESSION_ID") {
		env := dummyEnv(t)
		env[name] = ""
		if _, err := loadCompose(t, env); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("with empty %s: err = %v, want a refusal naming it", name, err)
		}
	}
}

func TestComposeGrafana(t *testing.T) {
	p := mustLoadCompose(t)
	g := service(t, p, "grafana")
	env := func(k string) string {
		if v := g.Environment[k]; v != nil {
			return *v
		}
		return ""
	}
	if env("GF_SECURITY_ADMIN_PASSWORD") != "test-grafana_admin_password" {
		t.Errorf("GF_SECURITY_ADMIN_PASSWORD = %q, want GRAFANA_ADMIN_PASSWORD from .env", env("GF_SECURITY_ADMIN_PASSWORD"))
	}
	if env("GF_AUTH_ANONYMOUS_ENABLED") != "false" {
		t.Errorf("anonymous access = %q by default, want false", env("GF_AUTH_ANONYMOUS_ENABLED"))
	}
	if env("GF_USERS_ALLOW_SIGN_UP") != "false" {
		t.Error("Grafana sign-up is not disabled")
	}
	home := env("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
	const mountPoint = "/var/lib/grafana/dashboards/wis2downloader/"
	if !strings.HasPrefix(home, mountPoint) {
		t.Fatalf("home dashboard %q outside %s", home, mountPoint)
	}
	if _, err := os.Stat(rootFile(t, "config/grafana/dashboards/"+strings.TrimPrefix(home, mountPoint))); err != nil {
		t.Errorf("home dashboard: %v", err)
	}
}

// TestComposeServiceEnvironment: each service of ours gets exactly the
// variables its binary reads (config.Vars), so a setting in .env always
// reaches the services that use it and secrets reach no others.
func TestComposeServiceEnvironment(t *testing.T) {
	p := mustLoadCompose(t)
	env := dummyEnv(t)
	for _, name := range p.ServiceNames() {
		bin := binaryOf(name)
		if bin == "" {
			continue
		}
		want := map[string]bool{}
		for _, v := range config.Vars() {
			if reads(v, bin) {
				want[v.Name] = true
			}
		}
		s := p.Services[name]
		for _, k := range sortedKeys(s.Environment) {
			if !want[k] {
				t.Errorf("%s gets %s, which the %s binary does not read", name, k, bin)
			}
		}
		for _, k := range sortedKeys(want) {
			v, ok := s.Environment[k]
			if !ok {
				t.Errorf("%s lacks %s", name, k)
				continue
			}
			if (v == nil || *v == "") && env[k] != "" && k != "DOWNLOAD_PATH_LAYOUT" {
				t.Errorf("%s: %s is empty although default.env sets %q", name, k, env[k])
			}
		}
	}
	// .env values reach the containers.
	if v := service(t, p, "worker").Environment["REDIS_PASSWORD"]; v == nil || *v != "test-redis_password" {
		t.Error("worker REDIS_PASSWORD does not come from .env")
	}
	env["WORKER_CONCURRENCY"] = "3"
	env["DOWNLOAD_PATH_LAYOUT"] = "{target}/{filename}"
	p2, err := loadCompose(t, env)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"WORKER_CONCURRENCY": "3", "DOWNLOAD_PATH_LAYOUT": "{target}/{filename}"} {
		if v := p2.Services["worker"].Environment[k]; v == nil || *v != want {
			t.Errorf("worker %s does not follow .env", k)
		}
	}
}

func TestComposeSubscribers(t *testing.T) {
	p := mustLoadCompose(t)
	sessions := map[string]string{}
	for name, want := range subscriberServices {
		s := service(t, p, name)
		get := func(k string) string {
			if v := s.Environment[k]; v != nil {
				return *v
			}
			return ""
		}
		for k, w := range map[string]string{
			"GLOBAL_BROKER_HOST": want.host, "GLOBAL_BROKER_PORT": want.port,
			"MQTT_PROTOCOL": want.protocol, "MQTT_WS_PATH": want.wsPath,
			"SUBSCRIBER_METRICS_PORT": "9101",
		} {
			if got := get(k); got != w {
				t.Errorf("%s %s = %q, want %q", name, k, got, w)
			}
		}
		id := get("MQTT_SESSION_ID")
		if !strings.HasPrefix(id, "wis2downloader-test") {
			t.Errorf("%s MQTT_SESSION_ID %q does not start with the deployment's prefix", name, id)
		}
		if other, dup := sessions[id]; dup {
			t.Errorf("%s and %s share MQTT session %q", name, other, id)
		}
		sessions[id] = name
	}
}

// composeVar matches ${NAME...} references; $${ is an escaped dollar.
var composeVar = regexp.MustCompile(`(^|[^$])\$\{([A-Za-z_][A-Za-z0-9_]*)`)

// composeVars are the variables docker-compose.yaml interpolates.
func composeVars(t *testing.T) map[string]bool {
	t.Helper()
	vars := map[string]bool{}
	for _, m := range composeVar.FindAllStringSubmatch(readFile(t, "docker-compose.yaml"), -1) {
		vars[m[2]] = true
	}
	return vars
}

// composeBuiltins are set by docker compose itself.
var composeBuiltins = map[string]bool{"COMPOSE_PROJECT_NAME": true}

func TestComposeVariablesInDefaultEnv(t *testing.T) {
	env := defaultEnv(t)
	vars := composeVars(t)
	if len(vars) < 20 {
		t.Fatalf("found only %d variables in docker-compose.yaml", len(vars))
	}
	for _, name := range sortedKeys(vars) {
		if _, ok := env[name]; !ok && !composeBuiltins[name] {
			t.Errorf("docker-compose.yaml uses ${%s}, which default.env does not define", name)
		}
	}
}

// TestComposeDefaultsMatchDefaultEnv: the ${VAR:-default} fallbacks in the
// compose file equal default.env, so a .env missing a line behaves the same.
func TestComposeDefaultsMatchDefaultEnv(t *testing.T) {
	env := defaultEnv(t)
	re := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}]*)\}`)
	for _, m := range re.FindAllStringSubmatch(readFile(t, "docker-compose.yaml"), -1) {
		name, def := m[1], m[2]
		if want, ok := env[name]; ok && def != want && !(name == "DOWNLOAD_PATH_LAYOUT" && def == "") {
			t.Errorf("docker-compose.yaml falls back to %s=%q, default.env has %q", name, def, want)
		}
	}
}

// TestComposeNoLokiDriver: logs reach Loki through Alloy, not the Docker
// logging plugin the original required.
func TestComposeNoLokiDriver(t *testing.T) {
	p := mustLoadCompose(t)
	for _, name := range p.ServiceNames() {
		if l := p.Services[name].Logging; l != nil && l.Driver == "loki" {
			t.Errorf("%s uses the loki logging driver", name)
		}
	}
	a := service(t, p, "alloy")
	if v := a.Environment["COMPOSE_PROJECT_NAME"]; v == nil || *v != "wis2downloader" {
		t.Errorf("alloy COMPOSE_PROJECT_NAME = %v, want the project name", v)
	}
	var sock bool
	for _, m := range a.Volumes {
		if m.Target == "/var/run/docker.sock" {
			sock = m.ReadOnly
		}
	}
	if !sock {
		t.Error("alloy needs the Docker socket, mounted read-only")
	}
}
