package filter

import (
	"encoding/json"
	"testing"
)

// mustCompile compiles a filter or fails the test.
func mustCompile(t testing.TB, src string) *Filter {
	t.Helper()
	f, err := Compile(json.RawMessage(src))
	if err != nil {
		t.Fatalf("Compile(%s): %v", src, err)
	}
	return f
}

// matchFilter wraps one condition in an accept rule, so Evaluate tells
// whether the condition matched (RuleID "m").
func matchFilter(cond string) string {
	return `{"rules":[{"id":"m","order":1,"action":"accept","match":` + cond + `},{"id":"no","order":2,"action":"reject","match":{"always":true}}]}`
}

// matches reports whether cond matches in.
func matches(t testing.TB, cond string, in Input) bool {
	t.Helper()
	d, err := mustCompile(t, matchFilter(cond)).Evaluate(in)
	if err != nil {
		t.Fatalf("Evaluate(%s): %v", cond, err)
	}
	return d.Accept
}

// post is a typical post-download input.
func post() Input {
	return Input{
		Stage:      PostDownload,
		Topic:      "cache/a/wis2/de-dwd/data/core/weather/surface-based-observations/synop",
		CentreID:   "de-dwd",
		DataID:     "wis2/de-dwd/data/core/weather/surface-based-observations/synop/WIGOS_0-20000-0-10381_20240118T120000",
		MetadataID: "urn:wmo:md:de-dwd:synop",
		Href:       "https://cache.example/data/WIGOS_0-20000-0-10381_20240118T120000.bufr4",
		MediaType:  "application/bufr",
		Size:       1234,
		Geometry:   json.RawMessage(`{"type":"Point","coordinates":[13.4,52.5,34]}`),
		Properties: map[string]any{
			"pubtime":                  "2024-01-18T12:05:02Z",
			"datetime":                 "2024-01-18T12:00:00Z",
			"wigos_station_identifier": "0-20000-0-10381",
			"forecast_hour":            float64(6),
			"model_run":                "12",
			"level":                    json.Number("850.5"),
			"cache":                    false,
			"flag":                     "Yes",
			"gts":                      map[string]any{"ttaaii": "ISMD01", "cccc": "EDZW"},
		},
	}
}

// pre is post before the download: media type and size unknown.
func pre() Input {
	in := post()
	in.Stage = PreDownload
	in.MediaType = ""
	in.Size = -1
	return in
}
