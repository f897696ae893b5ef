package filter

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCompileErrors(t *testing.T) {
	rule := func(match string) string {
		return `{"rules":[{"id":"a","order":1,"action":"accept","match":{"always":true}},{"id":"b","match":{"always":true}},{"id":"c","action":"reject","match":` + match + `}]}`
	}
	tests := []struct {
		src, path, msg string
	}{
		{`[]`, "", "must be a JSON object"},
		{`"x"`, "", "must be a JSON object"},
		{`{"rules":[]} x`, "", "after the JSON value"},
		{`{"rules":`, "", "not valid JSON"},
		{`{"bbox":[1,2,3,4]}`, "bbox", "unknown key"},
		{`{"name":"x"}`, "rules", "missing"},
		{`{"name":5,"rules":[]}`, "name", "must be a string"},
		{`{"description":[],"rules":[]}`, "description", "must be a string"},
		{`{"rules":{}}`, "rules", "must be an array"},
		{`{"rules":[5]}`, "rules[0]", "rule must be an object"},
		{`{"rules":[{"match":{"always":true}}]}`, "rules[0].id", "missing"},
		{`{"rules":[{"id":"","match":{"always":true}}]}`, "rules[0].id", "missing"},
		{`{"rules":[{"id":7,"match":{"always":true}}]}`, "rules[0].id", "missing"},
		{`{"rules":[{"id":"a"}]}`, "rules[0].match", "missing"},
		{`{"rules":[{"id":"a","match":{"always":true}},{"id":"a","match":{"always":true}}]}`, "rules[1].id", "duplicate"},
		{`{"rules":[{"id":"a","order":"1","match":{"always":true}}]}`, "rules[0].order", "must be a number"},
		{`{"rules":[{"id":"a","action":"drop","match":{"always":true}}]}`, "rules[0].action", "unknown action"},
		{`{"rules":[{"id":"a","action":true,"match":{"always":true}}]}`, "rules[0].action", "unknown action"},
		{`{"rules":[{"id":"a","reason":1,"match":{"always":true}}]}`, "rules[0].reason", "must be a string"},
		{`{"rules":[{"id":"a","when":1,"match":{"always":true}}]}`, "rules[0].when", "unknown rule key"},
		{rule(`[]`), "rules[2].match", "condition must be an object"},
		{rule(`{}`), "rules[2].match", "empty condition"},
		{rule(`{"centre_id":{"equals":"a"},"data_id":{"equals":"b"}}`), "rules[2].match", "several keys"},
		{rule(`{"always":true,"all":[]}`), "rules[2].match", "several keys"},
		{rule(`{"colour":{"equals":"red"}}`), "rules[2].match.colour", "unknown condition key"},
		{rule(`{"always":"yes"}`), "rules[2].match.always", "true or false"},
		{rule(`{"all":{}}`), "rules[2].match.all", "array of conditions"},
		{rule(`{"any":[{"always":true},{"size":{"gt_bytes":-1}}]}`), "rules[2].match.any[1].size.gt_bytes", "non-negative integer"},
		{rule(`{"all":[{"all":[{"size":{"bigger":1}}]}]}`), "rules[2].match.all[0].all[0].size.bigger", "unknown size operator"},
		{rule(`{"all":[{"size":{"gt_bytes":1,"lt_bytes":9}}]}`), "rules[2].match.all[0].size", "several size operators"},
		{rule(`{"size":{}}`), "rules[2].match.size", "needs one of"},
		{rule(`{"size":5}`), "rules[2].match.size", "must be an object"},
		{rule(`{"size":{"gt_bytes":1.5}}`), "rules[2].match.size.gt_bytes", "non-negative integer"},
		{rule(`{"size":{"gt_bytes":"10"}}`), "rules[2].match.size.gt_bytes", "not a string"},
		{rule(`{"size":{"between_bytes":[10]}}`), "rules[2].match.size.between_bytes", "[low, high]"},
		{rule(`{"size":{"between_bytes":[10,1]}}`), "rules[2].match.size.between_bytes", "reversed"},
		{rule(`{"size":{"exists":1}}`), "rules[2].match.size.exists", "true or false"},
		{rule(`{"not":[]}`), "rules[2].match.not", "condition must be an object"},
		{rule(`{"centre_id":"de-dwd"}`), "rules[2].match.centre_id", "must be an object with one operator"},
		{rule(`{"centre_id":{}}`), "rules[2].match.centre_id", "needs one operator"},
		{rule(`{"centre_id":{"equals":"a","in":["b"]}}`), "rules[2].match.centre_id", "several operators"},
		{rule(`{"centre_id":{"like":"a"}}`), "rules[2].match.centre_id.like", "unknown operator"},
		{rule(`{"centre_id":{"equals":5}}`), "rules[2].match.centre_id.equals", "needs a string"},
		{rule(`{"centre_id":{"in":"a"}}`), "rules[2].match.centre_id.in", "needs an array"},
		{rule(`{"centre_id":{"not_in":{"a":1}}}`), "rules[2].match.centre_id.not_in", "needs an array"},
		{rule(`{"centre_id":{"in":["a",1]}}`), "rules[2].match.centre_id.in[1]", "needs a string"},
		{rule(`{"centre_id":{"regex":"a("}}`), "rules[2].match.centre_id.regex", "invalid regex"},
		{rule(`{"centre_id":{"regex":"(?=a)"}}`), "rules[2].match.centre_id.regex", "invalid regex"},
		{rule(`{"topic":{"pattern":"cache/[abc"}}`), "rules[2].match.topic.pattern", "invalid pattern"},
		{rule(`{"topic":{"pattern":"[z-a]"}}`), "rules[2].match.topic.pattern", "invalid pattern"},
		{rule(`{"topic":{"pattern":1}}`), "rules[2].match.topic.pattern", "needs a string"},
		{rule(`{"data_id":{"between":["a"]}}`), "rules[2].match.data_id.between", "[low, high]"},
		{rule(`{"data_id":{"between":"a"}}`), "rules[2].match.data_id.between", "[low, high]"},
		{rule(`{"data_id":{"between":["b","a"]}}`), "rules[2].match.data_id.between", "reversed"},
		{rule(`{"data_id":{"exists":"yes"}}`), "rules[2].match.data_id.exists", "true or false"},
		{rule(`{"bbox":[1,2,3,4]}`), "rules[2].match.bbox", "must be an object"},
		{rule(`{"bbox":{"north":1,"south":0,"east":1}}`), "rules[2].match.bbox.west", "missing"},
		{rule(`{"bbox":{"north":1,"south":0,"east":1,"west":0,"up":3}}`), "rules[2].match.bbox.up", "unknown bbox key"},
		{rule(`{"bbox":{"north":"1","south":0,"east":1,"west":0}}`), "rules[2].match.bbox.north", "must be a number"},
		{rule(`{"bbox":{"north":91,"south":0,"east":1,"west":0}}`), "rules[2].match.bbox.north", "outside"},
		{rule(`{"bbox":{"north":1,"south":0,"east":181,"west":0}}`), "rules[2].match.bbox.east", "outside"},
		{rule(`{"bbox":{"north":1,"south":2,"east":1,"west":0}}`), "rules[2].match.bbox", "south"},
		{rule(`{"property":"","equals":"x"}`), "rules[2].match.property", "non-empty"},
		{rule(`{"property":5,"equals":"x"}`), "rules[2].match.property", "non-empty"},
		{rule(`{"property":"p","type":"date","equals":"x"}`), "rules[2].match.type", "unknown property type"},
		{rule(`{"property":"p"}`), "rules[2].match", "needs one operator"},
		{rule(`{"property":"p","equals":"a","not_equals":"b"}`), "rules[2].match", "several operators"},
		{rule(`{"property":"p","equals":"a","all":[]}`), "rules[2].match.all", "unknown operator"},
		{rule(`{"property":"p","type":"integer","equals":"x"}`), "rules[2].match.equals", "not a number"},
		{rule(`{"property":"p","type":"integer","equals":true}`), "rules[2].match.equals", "boolean operand"},
		{rule(`{"property":"p","type":"number","in":[1,"b"]}`), "rules[2].match.in[1]", "not a number"},
		{rule(`{"property":"p","type":"boolean","equals":"true"}`), "rules[2].match.equals", "true or false"},
		{rule(`{"property":"p","type":"boolean","gt":true}`), "rules[2].match.gt", "cannot order booleans"},
		{rule(`{"property":"p","type":"boolean","between":[false,true]}`), "rules[2].match.between", "cannot order booleans"},
		{rule(`{"property":"p","type":"datetime","gt":"tomorrow"}`), "rules[2].match.gt", "not an ISO 8601"},
		{rule(`{"property":"p","type":"datetime","between":["2024-02-01","2024-01-01"]}`), "rules[2].match.between", "reversed"},
		{rule(`{"property":"p","type":"integer","pattern":"1*"}`), "rules[2].match.pattern", "works on strings"},
		{rule(`{"property":"p","type":"number","regex":"1"}`), "rules[2].match.regex", "works on strings"},
		{rule(`{"property":"p","exists":null}`), "rules[2].match.exists", "true or false"},
	}
	for _, tc := range tests {
		f, err := Compile(json.RawMessage(tc.src))
		var fe *Error
		if !errors.As(err, &fe) {
			t.Errorf("Compile(%s) = %v, %v; want *Error", tc.src, f, err)
			continue
		}
		if fe.Path != tc.path || !strings.Contains(fe.Msg, tc.msg) {
			t.Errorf("Compile(%s)\n  error %q (path %q)\n  want path %q, message containing %q", tc.src, fe.Error(), fe.Path, tc.path, tc.msg)
		}
	}
}

func TestCompileDefaults(t *testing.T) {
	for _, src := range []string{``, `null`, ` {} `, "\n"} {
		f, err := Compile(json.RawMessage(src))
		if err != nil || !f.IsDefault() || f != Default() {
			t.Errorf("Compile(%q) = %v, %v; want the default filter", src, f, err)
		}
	}
	if f, _ := Compile(nil); f == nil || !f.IsDefault() {
		t.Error("Compile(nil) is not the default filter")
	}
	// An explicit empty rule list accepts everything, also unknown media types.
	f := mustCompile(t, `{"name":"all","description":"everything","rules":[]}`)
	if f.IsDefault() || f.Name() != "all" {
		t.Errorf("filter = %+v", f)
	}
	in := post()
	in.MediaType = "application/zip"
	if d, err := f.Evaluate(in); err != nil || !d.Accept || d.RuleID != "" {
		t.Errorf("Evaluate = %+v, %v", d, err)
	}
}

func TestDefaultFilter(t *testing.T) {
	f := Default()
	for _, mt := range DefaultMediaTypes() {
		in := post()
		in.MediaType = mt
		if d, err := f.Evaluate(in); err != nil || !d.Accept {
			t.Errorf("%s rejected: %+v %v", mt, d, err)
		}
	}
	for mt, accept := range map[string]bool{
		"":                          true, // unknown before the download
		"application/x-bufr":        true,
		"APPLICATION/X-GRIB":        true,
		"text/plain; charset=utf-8": true,
		"application/zip":           false,
		"application/json":          false,
		"video/mp4":                 false,
	} {
		in := post()
		in.MediaType = mt
		d, err := f.Evaluate(in)
		if err != nil || d.Accept != accept {
			t.Errorf("media type %q: %+v, %v; want accept %v", mt, d, err, accept)
		}
		if !accept && (d.RuleID != DefaultRuleID || d.Reason == "") {
			t.Errorf("media type %q: decision %+v", mt, d)
		}
	}
}

func TestRuleOrder(t *testing.T) {
	src := `{"rules":[
		{"id":"late-accept","order":50,"action":"accept","match":{"always":true}},
		{"id":"reject-fr","order":10,"action":"reject","reason":"no French data","match":{"centre_id":{"pattern":"fr-*"}}},
		{"id":"log","order":1,"action":"continue","match":{"always":true}},
		{"id":"no-action","order":2,"match":{"always":true}},
		{"id":"tie-first","order":20,"action":"reject","match":{"centre_id":{"equals":"de-dwd"}}},
		{"id":"tie-second","order":20,"action":"accept","match":{"centre_id":{"equals":"de-dwd"}}},
		{"id":"no-order","action":"reject","match":{"always":true}}
	]}`
	f := mustCompile(t, src)
	tests := []struct {
		centre, rule, reason string
		accept               bool
	}{
		{"fr-meteofrance", "reject-fr", "no French data", false},
		{"de-dwd", "tie-first", "tie-first", false}, // equal order: as written
		{"jp-jma", "late-accept", "late-accept", true},
	}
	for _, tc := range tests {
		in := post()
		in.CentreID = tc.centre
		d, err := f.Evaluate(in)
		if err != nil || d.Accept != tc.accept || d.RuleID != tc.rule || d.Reason != tc.reason {
			t.Errorf("%s: %+v, %v", tc.centre, d, err)
		}
	}
	// Without order the rule runs last (9999): it decides only when nothing else did.
	f = mustCompile(t, `{"rules":[{"id":"catch-all","action":"reject","match":{"always":true}},{"id":"dwd","order":9998,"action":"accept","match":{"centre_id":{"equals":"de-dwd"}}}]}`)
	if d, _ := f.Evaluate(post()); !d.Accept || d.RuleID != "dwd" {
		t.Errorf("decision = %+v", d)
	}
	// No decisive rule → accept.
	f = mustCompile(t, `{"rules":[{"id":"c","action":"continue","match":{"always":true}},{"id":"r","action":"reject","match":{"always":false}}]}`)
	if d, _ := f.Evaluate(post()); !d.Accept || d.RuleID != "" {
		t.Errorf("decision = %+v", d)
	}
	// A continue rule never fails the evaluation, even when it cannot evaluate.
	f = mustCompile(t, `{"rules":[{"id":"c","action":"continue","match":{"property":"wigos_station_identifier","type":"integer","gt":1}}]}`)
	if d, err := f.Evaluate(post()); err != nil || !d.Accept {
		t.Errorf("decision = %+v, %v", d, err)
	}
	// Evaluation stops at the deciding rule: a later broken rule is not reached.
	f = mustCompile(t, `{"rules":[{"id":"ok","order":1,"action":"accept","match":{"always":true}},{"id":"bad","order":2,"action":"reject","match":{"property":"wigos_station_identifier","type":"integer","gt":1}}]}`)
	if d, err := f.Evaluate(post()); err != nil || !d.Accept {
		t.Errorf("decision = %+v, %v", d, err)
	}
}

// TestGuardPattern: the documented pattern for rules on media_type. A bare
// catch-all reject would drop everything before the download; guarded with
// media_type exists it waits for the real type.
func TestGuardPattern(t *testing.T) {
	guarded := mustCompile(t, `{"rules":[
		{"id":"bufr","order":1,"action":"accept","match":{"media_type":{"equals":"application/bufr"}}},
		{"id":"others","order":2,"action":"reject","match":{"media_type":{"exists":true}}}]}`)
	unguarded := mustCompile(t, `{"rules":[
		{"id":"bufr","order":1,"action":"accept","match":{"media_type":{"equals":"application/bufr"}}},
		{"id":"others","order":2,"action":"reject","match":{"always":true}}]}`)
	grib := post()
	grib.MediaType = "application/grib"
	cases := []struct {
		f    *Filter
		in   Input
		want bool
	}{
		{guarded, pre(), true}, {guarded, post(), true}, {guarded, grib, false},
		{unguarded, pre(), false}, {unguarded, post(), true},
	}
	for i, c := range cases {
		if d, err := c.f.Evaluate(c.in); err != nil || d.Accept != c.want {
			t.Errorf("case %d: %+v, %v; want accept %v", i, d, err, c.want)
		}
	}
}

// TestUIFilters: the filters the UI builds (spec §6.5) compile and behave.
func TestUIFilters(t *testing.T) {
	const reject = `{"id":"default","order":999,"match":{"always":true},"action":"reject","reason":"No filter criteria matched"}`
	ui := func(match string) *Filter {
		return mustCompile(t, `{"rules":[{"id":"accept","order":1,"match":`+match+`,"action":"accept"},`+reject+`]}`)
	}
	media := `{"any":[{"media_type":{"exists":false}},{"media_type":{"in":["application/bufr","application/x-grib"]}}]}`
	datasets := `{"metadata_id":{"in":["urn:wmo:md:de-dwd:synop","urn:wmo:md:fr-meteofrance:temp"]}}`
	box := `{"bbox":{"north":55,"south":47,"east":15,"west":5}}`
	dates := `{"property":"pubtime","type":"datetime","between":["2024-01-18T00:00:00+00:00","2024-01-18T23:59:59+00:00"]}`
	custom := `{"property":"wigos_station_identifier","type":"string","in":["0-20000-0-10381","0-20000-0-10382"]}`
	numeric := `{"property":"forecast_hour","type":"integer","equals":6}`
	all := ui(`{"all":[` + strings.Join([]string{media, datasets, box, dates, custom, numeric}, ",") + `]}`)

	check := func(name string, f *Filter, in Input, want bool) {
		t.Helper()
		d, err := f.Evaluate(in)
		if err != nil || d.Accept != want {
			t.Errorf("%s: %+v, %v; want accept %v", name, d, err, want)
		}
		if !want && d.Reason != "No filter criteria matched" {
			t.Errorf("%s: reason %q", name, d.Reason)
		}
	}
	check("all criteria pre-download", all, pre(), true)
	check("all criteria post-download", all, post(), true)
	gribIn := post()
	gribIn.MediaType = "application/grib"
	check("x-grib picker matches grib", all, gribIn, true)
	png := post()
	png.MediaType = "image/png"
	check("other media type", all, png, false)
	other := post()
	other.MetadataID = "urn:wmo:md:jp-jma:synop"
	check("other dataset", all, other, false)
	away := post()
	away.Geometry = json.RawMessage(`{"type":"Point","coordinates":[139.7,35.7]}`)
	check("outside the box", all, away, false)
	noGeom := post()
	noGeom.Geometry = nil
	check("no geometry passes bbox", all, noGeom, true)
	late := post()
	late.Properties = map[string]any{"pubtime": "2024-01-19T00:00:00Z", "wigos_station_identifier": "0-20000-0-10381", "forecast_hour": 6.0}
	check("outside the dates", all, late, false)
	station := post()
	station.Properties = map[string]any{"pubtime": "2024-01-18T10:00:00Z", "wigos_station_identifier": "0-20000-0-99999", "forecast_hour": 6.0}
	check("other station", all, station, false)

	single := ui(datasets)
	check("single condition", single, pre(), true)
	check("single condition, other dataset", single, other, false)
}

func TestErrorString(t *testing.T) {
	if got := (&Error{Path: "rules[0].id", Msg: "missing"}).Error(); got != "rules[0].id: missing" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&Error{Msg: "bad"}).Error(); got != "bad" {
		t.Errorf("Error() = %q", got)
	}
}
