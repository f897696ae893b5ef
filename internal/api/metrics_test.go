package api_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wmo-im/wis2downloader/internal/metrics"
)

func TestMetricsEndpoint(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	weird := "a\"b\\c\nd"
	p := e.rdb.Pipeline()
	for _, d := range metrics.Catalogue() {
		l := metrics.Labels{}
		for _, n := range d.Labels {
			l[n] = weird
		}
		metrics.Add(ctx, p, d.Name, l, 2)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	res := e.do("GET", "/metrics", "", "", "Accept", "text/plain")
	if res.status != 200 {
		t.Fatalf("HTTP %d", res.status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(res.body)))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	for _, d := range metrics.Catalogue() {
		f := fams[metrics.Prefix+d.Name]
		if f == nil || len(f.GetMetric()) != 1 {
			t.Errorf("%s missing", metrics.Prefix+d.Name)
			continue
		}
		for _, l := range f.GetMetric()[0].GetLabel() {
			if l.GetValue() != weird {
				t.Errorf("%s label %s = %q", d.Name, l.GetName(), l.GetValue())
			}
		}
	}
	if q := fams["wis2downloader_celery_queue_length"]; q == nil || q.GetMetric()[0].GetLabel()[0].GetValue() != queue {
		t.Error("queue length missing")
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(string(res.body))
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
