package filter

import (
	"encoding/json"
	"testing"
)

func TestFieldOperators(t *testing.T) {
	tests := []struct {
		cond      string
		post, pre bool // result post-download and pre-download
	}{
		{`{"media_type":{"equals":"application/bufr"}}`, true, false},
		{`{"media_type":{"equals":"application/x-bufr"}}`, true, false}, // normalised
		{`{"media_type":{"equals":"Application/BUFR; edition=4"}}`, true, false},
		{`{"media_type":{"not_equals":"application/grib"}}`, true, false}, // unknown → false
		{`{"media_type":{"in":["application/grib","application/x-bufr"]}}`, true, false},
		{`{"media_type":{"not_in":["application/grib"]}}`, true, false},
		{`{"media_type":{"not_in":["application/bufr"]}}`, false, false},
		{`{"media_type":{"exists":true}}`, true, false},
		{`{"media_type":{"exists":false}}`, false, true},
		{`{"media_type":{"pattern":"application/*"}}`, true, false},
		{`{"centre_id":{"equals":"de-dwd"}}`, true, true},
		{`{"centre_id":{"in":[]}}`, false, false},
		{`{"centre_id":{"not_in":[]}}`, true, true},
		{`{"centre_id":{"regex":"^de-"}}`, true, true},
		{`{"centre_id":{"regex":"dwd"}}`, true, true}, // unanchored search
		{`{"centre_id":{"regex":"^dwd"}}`, false, false},
		{`{"centre_id":{"gt":"de-aaa"}}`, true, true},
		{`{"centre_id":{"lt":"de-aaa"}}`, false, false},
		{`{"centre_id":{"gte":"de-dwd"}}`, true, true},
		{`{"centre_id":{"lte":"de-dwd"}}`, true, true},
		{`{"centre_id":{"between":["de-a","de-z"]}}`, true, true},
		{`{"centre_id":{"between":["fr-a","fr-z"]}}`, false, false},
		{`{"topic":{"pattern":"cache/a/wis2/*/synop"}}`, true, true}, // * crosses '/'
		{`{"topic":{"pattern":"cache/a/wis2/de-???/data/*"}}`, true, true},
		{`{"topic":{"pattern":"cache/a/wis2/[!f]*"}}`, true, true},
		{`{"topic":{"pattern":"cache/a/wis2/[a-e]*"}}`, true, true},
		{`{"topic":{"pattern":"origin/*"}}`, false, false},
		{`{"topic":{"pattern":"cache/a/wis2/de-dwd"}}`, false, false}, // anchored
		{`{"data_id":{"pattern":"*_20240118T12*"}}`, true, true},
		{`{"metadata_id":{"equals":"urn:wmo:md:de-dwd:synop"}}`, true, true},
		{`{"href":{"regex":"\\.bufr4$"}}`, true, true},
		{`{"href":{"pattern":"https://*"}}`, true, true},
	}
	for _, tc := range tests {
		if got := matches(t, tc.cond, post()); got != tc.post {
			t.Errorf("%s post-download = %v, want %v", tc.cond, got, tc.post)
		}
		if got := matches(t, tc.cond, pre()); got != tc.pre {
			t.Errorf("%s pre-download = %v, want %v", tc.cond, got, tc.pre)
		}
	}
}

func TestSizeOperators(t *testing.T) {
	tests := []struct {
		cond      string
		post, pre bool // post: size 1234; pre: size unknown
	}{
		{`{"size":{"gt_bytes":1000}}`, true, false},
		{`{"size":{"gt_bytes":1234}}`, false, false},
		{`{"size":{"gte_bytes":1234}}`, true, false},
		{`{"size":{"lt_bytes":1235}}`, true, false},
		{`{"size":{"lt_bytes":1234}}`, false, false},
		{`{"size":{"lte_bytes":1234}}`, true, false},
		{`{"size":{"between_bytes":[1234,1234]}}`, true, false},
		{`{"size":{"between_bytes":[0,1000]}}`, false, false},
		{`{"size":{"exists":true}}`, true, false},
		{`{"size":{"exists":false}}`, false, true},
		{`{"not":{"size":{"gt_bytes":1000000}}}`, true, true},
	}
	for _, tc := range tests {
		if got := matches(t, tc.cond, post()); got != tc.post {
			t.Errorf("%s post = %v", tc.cond, got)
		}
		if got := matches(t, tc.cond, pre()); got != tc.pre {
			t.Errorf("%s pre = %v", tc.cond, got)
		}
	}
	in := post()
	in.Size = 0 // an empty file has a known size
	if !matches(t, `{"size":{"lt_bytes":1}}`, in) {
		t.Error("size 0 is not < 1")
	}
}

func TestPropertyOperators(t *testing.T) {
	tests := []struct {
		cond string
		want bool
	}{
		{`{"property":"wigos_station_identifier","equals":"0-20000-0-10381"}`, true},
		{`{"property":"wigos_station_identifier","type":"string","pattern":"0-20000-0-*"}`, true},
		{`{"property":"wigos_station_identifier","in":["a","0-20000-0-10381"]}`, true},
		{`{"property":"forecast_hour","equals":"6"}`, true}, // string coercion of 6
		{`{"property":"forecast_hour","type":"integer","equals":6}`, true},
		{`{"property":"forecast_hour","type":"integer","in":[3,6,9]}`, true},
		{`{"property":"forecast_hour","type":"integer","not_in":[3,9]}`, true},
		{`{"property":"model_run","type":"integer","gte":12}`, true}, // "12" → 12
		{`{"property":"model_run","type":"integer","gt":"11.9"}`, true},
		{`{"property":"model_run","type":"integer","lt":12}`, false},
		{`{"property":"level","type":"integer","equals":850}`, true}, // truncated
		{`{"property":"level","type":"number","equals":850.5}`, true},
		{`{"property":"level","type":"number","between":[850,851]}`, true},
		{`{"property":"level","type":"number","lte":850.4}`, false},
		{`{"property":"cache","type":"boolean","equals":false}`, true},
		{`{"property":"flag","type":"boolean","equals":true}`, true}, // "Yes"
		{`{"property":"wigos_station_identifier","type":"boolean","equals":false}`, true},
		{`{"property":"pubtime","type":"datetime","gt":"2024-01-18T12:00:00Z"}`, true},
		{`{"property":"pubtime","type":"datetime","lt":"2024-01-18T14:05:03+02:00"}`, true},
		{`{"property":"pubtime","type":"datetime","equals":"2024-01-18T14:05:02+02:00"}`, true},
		{`{"property":"pubtime","type":"datetime","between":["2024-01-18T00:00:00+00:00","2024-01-18T23:59:59+00:00"]}`, true},
		{`{"property":"pubtime","type":"datetime","between":["2024-01-19","2024-01-20"]}`, false},
		{`{"property":"datetime","type":"datetime","gte":"2024-01-18T12:00:00"}`, true}, // zone-less = UTC
		{`{"property":"gts","exists":true}`, true},
		{`{"property":"nope","exists":false}`, true},
		{`{"property":"nope","exists":true}`, false},
		{`{"property":"nope","equals":"x"}`, false},
		{`{"property":"nope","not_equals":"x"}`, false}, // unknown → false, as the original
		{`{"property":"nope","type":"integer","not_in":[1]}`, false},
	}
	for _, tc := range tests {
		if got := matches(t, tc.cond, post()); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.cond, got, tc.want)
		}
	}
}

func TestLogic(t *testing.T) {
	tests := []struct {
		cond string
		want bool
	}{
		{`{"always":true}`, true},
		{`{"always":false}`, false},
		{`{"all":[]}`, true},
		{`{"any":[]}`, false},
		{`{"all":[{"centre_id":{"equals":"de-dwd"}},{"size":{"gt_bytes":1}}]}`, true},
		{`{"all":[{"centre_id":{"equals":"de-dwd"}},{"size":{"gt_bytes":10000}}]}`, false},
		{`{"any":[{"centre_id":{"equals":"fr"}},{"size":{"gt_bytes":1}}]}`, true},
		{`{"not":{"centre_id":{"equals":"de-dwd"}}}`, false},
		{`{"not":{"not":{"always":true}}}`, true},
	}
	for _, tc := range tests {
		if got := matches(t, tc.cond, post()); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.cond, got, tc.want)
		}
	}
}

func TestEvalErrorsFailClosed(t *testing.T) {
	tests := []struct {
		cond string
		in   func(*Input)
	}{
		{`{"property":"wigos_station_identifier","type":"integer","equals":1}`, nil},
		{`{"property":"wigos_station_identifier","type":"number","gt":1}`, nil},
		{`{"property":"pubtime","type":"datetime","gt":"2024-01-01"}`, func(in *Input) { in.Properties["pubtime"] = "yesterday" }},
		{`{"property":"pubtime","type":"datetime","gt":"2024-01-01"}`, func(in *Input) { in.Properties["pubtime"] = 17 }},
		{`{"property":"gts","equals":"x"}`, nil}, // an object is not a string
		{`{"property":"forecast_hour","type":"integer","equals":1}`, func(in *Input) { in.Properties["forecast_hour"] = 1e300 }},
		{`{"bbox":{"north":60,"south":40,"east":20,"west":0}}`, func(in *Input) { in.Geometry = json.RawMessage(`{"type":"Point","coordinates":"x"}`) }},
		{`{"bbox":{"north":60,"south":40,"east":20,"west":0}}`, func(in *Input) { in.Geometry = json.RawMessage(`{"type":"Polygon","coordinates":[[[1]]]}`) }},
		{`{"bbox":{"north":60,"south":40,"east":20,"west":0}}`, func(in *Input) { in.Geometry = json.RawMessage(`[1,2]`) }},
	}
	for _, tc := range tests {
		in := post()
		in.Properties = map[string]any{}
		for k, v := range post().Properties {
			in.Properties[k] = v
		}
		if tc.in != nil {
			tc.in(&in)
		}
		d, err := mustCompile(t, matchFilter(tc.cond)).Evaluate(in)
		var ee *EvalError
		if err == nil || !asEvalError(err, &ee) || ee.RuleID != "m" {
			t.Errorf("%s: Evaluate = %+v, %v; want *EvalError for rule m", tc.cond, d, err)
		}
	}
}

func asEvalError(err error, target **EvalError) bool {
	e, ok := err.(*EvalError)
	if ok {
		*target = e
	}
	return ok && e.Unwrap() != nil && e.Error() != ""
}
