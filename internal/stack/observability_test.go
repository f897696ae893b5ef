package stack

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

func TestPromtoolCheckConfig(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found; install it with: sudo apt-get install prometheus (Debian/Ubuntu)")
	}
	out, err := exec.Command(promtool, "check", "config", rootFile(t, "config/prometheus/prometheus.yml")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
}

// TestPrometheusTargets: Prometheus scrapes the API's product metrics and
// every subscriber and worker replica on the ports the compose file fixes.
func TestPrometheusTargets(t *testing.T) {
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
			DNSSDConfigs []struct {
				Names []string `yaml:"names"`
				Type  string   `yaml:"type"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, "config/prometheus/prometheus.yml")), &cfg); err != nil {
		t.Fatal(err)
	}
	static := map[string]bool{}
	dns := map[string]int{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, s := range sc.StaticConfigs {
			for _, tg := range s.Targets {
				static[tg] = true
			}
		}
		for _, d := range sc.DNSSDConfigs {
			if d.Type != "A" {
				t.Errorf("job %s: DNS SD type %q, want A (compose's DNS answers A records)", sc.JobName, d.Type)
			}
			for _, n := range d.Names {
				dns[n] = d.Port
			}
		}
	}
	for _, tg := range []string{"api:5001", "ui:8080"} {
		if !static[tg] {
			t.Errorf("Prometheus does not scrape %s", tg)
		}
	}
	if dns["worker"] != 9102 {
		t.Errorf("worker replicas scraped on port %d, want 9102 via DNS SD", dns["worker"])
	}
	p := mustLoadCompose(t)
	for name := range subscriberServices {
		if _, ok := p.Services[name]; !ok {
			continue
		}
		if dns[name] != 9101 {
			t.Errorf("%s scraped on port %d, want 9101 via DNS SD", name, dns[name])
		}
	}
	for name := range dns {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("Prometheus resolves %s, which is not a compose service", name)
		}
	}
}

func TestLokiConfig(t *testing.T) {
	var cfg struct {
		AuthEnabled bool `yaml:"auth_enabled"`
		Server      struct {
			HTTPListenPort int `yaml:"http_listen_port"`
		} `yaml:"server"`
		Common struct {
			PathPrefix string `yaml:"path_prefix"`
		} `yaml:"common"`
		SchemaConfig struct {
			Configs []struct {
				Store  string `yaml:"store"`
				Schema string `yaml:"schema"`
			} `yaml:"configs"`
		} `yaml:"schema_config"`
		Limits struct {
			RetentionPeriod string `yaml:"retention_period"`
		} `yaml:"limits_config"`
		Compactor struct {
			RetentionEnabled   bool   `yaml:"retention_enabled"`
			DeleteRequestStore string `yaml:"delete_request_store"`
			WorkingDirectory   string `yaml:"working_directory"`
		} `yaml:"compactor"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, "config/loki/loki-config.yml")), &cfg); err != nil {
		t.Fatalf("loki-config.yml: %v", err)
	}
	if cfg.AuthEnabled || cfg.Server.HTTPListenPort != 3100 || cfg.Common.PathPrefix != "/loki" {
		t.Errorf("loki: auth %v port %d path %q", cfg.AuthEnabled, cfg.Server.HTTPListenPort, cfg.Common.PathPrefix)
	}
	if n := len(cfg.SchemaConfig.Configs); n == 0 || cfg.SchemaConfig.Configs[n-1].Schema != "v13" || cfg.SchemaConfig.Configs[n-1].Store != "tsdb" {
		t.Errorf("loki schema = %+v, want tsdb v13", cfg.SchemaConfig.Configs)
	}
	// Retention only happens with the compactor's retention enabled.
	if cfg.Limits.RetentionPeriod == "" || !cfg.Compactor.RetentionEnabled || cfg.Compactor.DeleteRequestStore == "" ||
		!strings.HasPrefix(cfg.Compactor.WorkingDirectory, "/loki/") {
		t.Errorf("loki retention not enforced: limits %+v compactor %+v", cfg.Limits, cfg.Compactor)
	}
}

// TestAlloyConfig checks the Alloy configuration's syntax roughly (balanced
// blocks, closed strings) and that it ships container logs to Loki with the
// labels the dashboards select on.
func TestAlloyConfig(t *testing.T) {
	src := readFile(t, "config/alloy/config.alloy")
	depth, line := 0, 1
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '\n':
			line++
		case '/':
			if i+1 < len(src) && src[i+1] == '/' {
				for i < len(src) && src[i] != '\n' {
					i++
				}
				line++
			}
		case '"', '`':
			j := i + 1
			for ; j < len(src) && src[j] != c; j++ {
				if c == '"' && src[j] == '\\' {
					j++
				}
				if c == '"' && src[j] == '\n' {
					t.Fatalf("config.alloy:%d: unterminated string", line)
				}
			}
			if j >= len(src) {
				t.Fatalf("config.alloy:%d: unterminated string", line)
			}
			line += strings.Count(src[i:j], "\n")
			i = j
		case '{', '[', '(':
			depth++
		case '}', ']', ')':
			depth--
			if depth < 0 {
				t.Fatalf("config.alloy:%d: unbalanced %c", line, c)
			}
		}
	}
	if depth != 0 {
		t.Fatalf("config.alloy: %d unclosed blocks", depth)
	}
	for _, want := range []string{
		`discovery.docker "project"`,
		`"com.docker.compose.project=" + sys.env("COMPOSE_PROJECT_NAME")`,
		`loki.source.docker "project"`,
		`url = "http://loki:3100/loki/api/v1/push"`,
		`host             = "unix:///var/run/docker.sock"`,
	} {
		if !strings.Contains(src, want) {
			t.Errorf("config.alloy lacks %s", want)
		}
	}
	// Every component reference points at a defined component.
	defined := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-z_.]+) "([a-z_]+)" \{`).FindAllStringSubmatch(src, -1) {
		defined[m[1]+"."+m[2]] = true
	}
	for _, m := range regexp.MustCompile(`\b((?:discovery|loki)\.[a-z_.]+?)\.([a-z_]+)\.(targets|rules|receiver)\b`).FindAllStringSubmatch(src, -1) {
		if !defined[m[1]+"."+m[2]] {
			t.Errorf("config.alloy references undefined component %s.%s", m[1], m[2])
		}
	}
	for label := range lokiLabels {
		if !strings.Contains(src, `target_label  = "`+label+`"`) && !strings.Contains(src, `(?P<`+label+`>`) {
			t.Errorf("config.alloy never sets the %s label the dashboards use", label)
		}
	}
}
