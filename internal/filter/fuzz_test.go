package filter

import (
	"encoding/json"
	"sync"
	"testing"
)

// seedFilters are filters from the spec and the tests, the fuzz seeds.
var seedFilters = []string{
	`{}`,
	`{"rules":[]}`,
	`{"name":"bufr only","rules":[{"id":"bufr","order":1,"action":"accept","match":{"media_type":{"equals":"application/bufr"}}},{"id":"others","order":2,"action":"reject","match":{"media_type":{"exists":true}}}]}`,
	`{"rules":[{"id":"accept","order":1,"match":{"all":[{"any":[{"media_type":{"exists":false}},{"media_type":{"in":["application/bufr"]}}]},{"metadata_id":{"in":["urn:wmo:md:de-dwd:synop"]}},{"bbox":{"north":55,"south":47,"east":15,"west":5}},{"property":"pubtime","type":"datetime","between":["2024-01-18T00:00:00+00:00","2024-01-18T23:59:59+00:00"]},{"property":"wigos_station_identifier","type":"string","in":["0-20000-0-10381"]},{"property":"forecast_hour","type":"integer","equals":6}]},"action":"accept"},{"id":"default","order":999,"match":{"always":true},"action":"reject","reason":"No filter criteria matched"}]}`,
	`{"rules":[{"id":"s","action":"reject","match":{"size":{"between_bytes":[0,100]}}},{"id":"t","order":1,"action":"accept","match":{"topic":{"pattern":"cache/a/wis2/*/data/core/[!x]*"}}},{"id":"r","order":2,"action":"reject","match":{"not":{"href":{"regex":"^https://"}}}}]}`,
	`{"rules":[{"id":"p","action":"accept","match":{"property":"level","type":"number","gt":800.5}}]}`,
	`{"rules":[{"id":"b","action":"reject","match":{"bbox":{"north":10,"south":-10,"east":-170,"west":170}}}]}`,
}

// fuzzInputs are the inputs every fuzzed filter is evaluated on.
func fuzzInputs() []Input {
	poly := post()
	poly.Geometry = json.RawMessage(`{"type":"Polygon","coordinates":[[[-7.75,40.43],[-7.75,78.46],[71.91,78.46],[71.91,40.43],[-7.75,40.43]]]}`)
	bad := post()
	bad.Geometry = json.RawMessage(`{"type":"MultiPolygon","coordinates":7}`)
	empty := Input{Size: -1}
	return []Input{post(), pre(), poly, bad, empty}
}

func FuzzCompile(f *testing.F) {
	for _, s := range seedFilters {
		f.Add([]byte(s))
	}
	inputs := fuzzInputs()
	f.Fuzz(func(t *testing.T, b []byte) {
		flt, err := Compile(json.RawMessage(b))
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Compile error %T is not *Error: %v", err, err)
			}
			return
		}
		for _, in := range inputs {
			d, err := flt.Evaluate(in)
			if err != nil {
				if _, ok := err.(*EvalError); !ok {
					t.Fatalf("Evaluate error %T is not *EvalError: %v", err, err)
				}
				continue
			}
			if !d.Accept && d.RuleID == "" {
				t.Fatalf("rejected without a rule: %+v", d)
			}
		}
	})
}

func TestSeedFiltersCompile(t *testing.T) {
	for _, s := range seedFilters {
		mustCompile(t, s)
	}
}

// TestConcurrentEvaluate shares one compiled filter between goroutines
// (run with -race to check that Evaluate does not mutate it).
func TestConcurrentEvaluate(t *testing.T) {
	f := mustCompile(t, seedFilters[3])
	want, err := f.Evaluate(post())
	if err != nil || !want.Accept {
		t.Fatalf("Evaluate = %+v, %v", want, err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			for range 200 {
				for _, in := range fuzzInputs() {
					d, err := f.Evaluate(in)
					if in.CentreID == "de-dwd" && in.Stage == PostDownload && string(in.Geometry) == string(post().Geometry) && (err != nil || d != want) {
						errs <- "concurrent result differs"
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
