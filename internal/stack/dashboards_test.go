package stack

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// dashboardFiles are the provisioned dashboards by uid.
var dashboardFiles = map[string]string{
	"wis2-downloader-overview": "config/grafana/dashboards/overview.json",
	"wis2-downloader-admin":    "config/grafana/dashboards/operations.json",
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type target struct {
	Datasource *dsRef `json:"datasource"`
	Expr       string `json:"expr"`
	RefID      string `json:"refId"`
}

type panel struct {
	ID         int      `json:"id"`
	Type       string   `json:"type"`
	Title      string   `json:"title"`
	Datasource *dsRef   `json:"datasource"`
	Targets    []target `json:"targets"`
	Panels     []panel  `json:"panels"`
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
}

type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Datasource *dsRef `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

func loadDashboard(t *testing.T, rel string) dashboard {
	t.Helper()
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(readFile(t, rel)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return d
}

// allPanels flattens rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// provisionedDatasources returns uid → type from the Grafana provisioning.
func provisionedDatasources(t *testing.T) map[string]string {
	t.Helper()
	var f struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name string `yaml:"name"`
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, "config/grafana/provisioning/datasources/datasources.yml")), &f); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"prometheus": "http://prometheus:9090", "loki": "http://loki:3100"}
	out := map[string]string{}
	for _, d := range f.Datasources {
		out[d.UID] = d.Type
		if want[d.UID] != d.URL || d.Type != d.UID {
			t.Errorf("datasource %s: type %q url %q", d.UID, d.Type, d.URL)
		}
	}
	if len(out) != 2 || f.APIVersion != 1 {
		t.Errorf("datasources = %v (apiVersion %d), want prometheus and loki", out, f.APIVersion)
	}
	return out
}

// lokiLabels are the stream labels config/alloy/config.alloy attaches.
var lokiLabels = map[string]bool{"service": true, "container_name": true, "project": true, "level": true}

var (
	streamSelector = regexp.MustCompile(`\{([^}]*)\}`)
	labelMatcher   = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)`)
)

func TestDashboards(t *testing.T) {
	exposed := exposedMetrics(t)
	sources := provisionedDatasources(t)
	used := map[string]map[string]bool{}
	for uid, rel := range dashboardFiles {
		d := loadDashboard(t, rel)
		if d.UID != uid {
			t.Errorf("%s: uid %q, want %q", rel, d.UID, uid)
		}
		used[uid] = map[string]bool{}
		ids := map[int]string{}
		for _, p := range allPanels(d.Panels) {
			if prev, dup := ids[p.ID]; dup || p.ID == 0 {
				t.Errorf("%s: panel %q id %d (also %q)", rel, p.Title, p.ID, prev)
			}
			ids[p.ID] = p.Title
			if p.GridPos.W < 1 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H < 1 {
				t.Errorf("%s: panel %q gridPos %+v", rel, p.Title, p.GridPos)
			}
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || sources[p.Datasource.UID] == "" {
				t.Errorf("%s: panel %q datasource %+v is not provisioned", rel, p.Title, p.Datasource)
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", rel, p.Title)
			}
			for _, tg := range p.Targets {
				ds := p.Datasource
				if tg.Datasource != nil {
					ds = tg.Datasource
				}
				if sources[ds.UID] == "" || ds.Type != sources[ds.UID] {
					t.Errorf("%s: panel %q query %s datasource %+v is not provisioned", rel, p.Title, tg.RefID, ds)
				}
				switch ds.UID {
				case "prometheus":
					names := promqlMetricNames(tg.Expr)
					if len(names) == 0 {
						t.Errorf("%s: panel %q query %q reads no metric", rel, p.Title, tg.Expr)
					}
					for _, n := range names {
						used[uid][n] = true
						if !exposed[n] {
							t.Errorf("%s: panel %q uses %s, which no service exposes", rel, p.Title, n)
						}
					}
				case "loki":
					sel := streamSelector.FindStringSubmatch(tg.Expr)
					if sel == nil {
						t.Errorf("%s: panel %q LogQL %q has no stream selector", rel, p.Title, tg.Expr)
						continue
					}
					for _, m := range labelMatcher.FindAllStringSubmatch(sel[1], -1) {
						used[uid]["loki:"+m[1]] = true
						if !lokiLabels[m[1]] {
							t.Errorf("%s: panel %q selects on label %q, which Alloy does not set", rel, p.Title, m[1])
						}
					}
					used[uid]["loki"] = true
				}
			}
		}
		for _, v := range d.Templating.List {
			if v.Datasource != nil && sources[v.Datasource.UID] == "" {
				t.Errorf("%s: variable %s datasource %+v is not provisioned", rel, v.Name, v.Datasource)
			}
		}
	}

	// What each dashboard must show (issue 5).
	for uid, names := range map[string][]string{
		"wis2-downloader-overview": {
			"downloads_total", "celery_queue_length", "downloads_bytes_total", "failed_total",
			"notifications_total", "disk_total_bytes", "disk_used_bytes", "disk_free_bytes",
			"disk_downloads_bytes", "notifications_received_total", "skipped_total",
		},
		"wis2-downloader-admin": {"celery_queue_length", "subscriber_connected", "queue_errors_total"},
	} {
		for _, n := range names {
			if !used[uid]["wis2downloader_"+n] {
				t.Errorf("%s does not chart wis2downloader_%s", uid, n)
			}
		}
	}
	if !used["wis2-downloader-admin"]["loki:service"] {
		t.Error("the operations dashboard has no per-service logs from Loki")
	}
	overview := readFile(t, dashboardFiles["wis2-downloader-overview"])
	for _, by := range []string{"sum by (cache)", "sum by (media_type)", "sum by (status)", "sum by (broker)"} {
		if !strings.Contains(overview, by) {
			t.Errorf("overview has no breakdown %q", by)
		}
	}
}

// TestDashboardProvisioning: Grafana loads the dashboards from where the
// compose file mounts them.
func TestDashboardProvisioning(t *testing.T) {
	var f struct {
		Providers []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, "config/grafana/provisioning/dashboards/dashboards.yml")), &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Providers) != 1 || f.Providers[0].Type != "file" {
		t.Fatalf("providers = %+v", f.Providers)
	}
	path := f.Providers[0].Options.Path
	p := mustLoadCompose(t)
	var mounted string
	for _, m := range service(t, p, "grafana").Volumes {
		if m.Target == path {
			mounted = m.Source
		}
	}
	if filepath.Clean(mounted) != rootFile(t, "config/grafana/dashboards") {
		t.Errorf("grafana mounts %q at the provider path %s, want config/grafana/dashboards", mounted, path)
	}
	files, _ := filepath.Glob(rootFile(t, "config/grafana/dashboards/*.json"))
	if len(files) != len(dashboardFiles) {
		t.Errorf("dashboard files %v, want exactly %v", files, dashboardFiles)
	}
}
