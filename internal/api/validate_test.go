package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/wmo-im/wis2downloader/internal/subscription"
)

func TestValidationRejectsAndChangesNothing(t *testing.T) {
	e := newEnv(t)
	cmds := e.listen()
	good := "cache/a/wis2/+/data/core/#"
	post := func(body string) string { return body }
	cases := []struct {
		name, body string
		status     int
		want       string // substring of the error
		hdr        []string
	}{
		// Topic.
		{"no topic", `{"target": "x"}`, 400, "No topic provided", nil},
		{"blank topic", `{"topic": "  "}`, 400, "No topic provided", nil},
		{"topic not a string", `{"topic": 5}`, 400, `"topic" must be a string`, nil},
		{"leading slash", post(`{"topic": "/cache/a/wis2/+/data/#"}`), 400, "starts with '/'", nil},
		{"hash in the middle", `{"topic": "cache/a/wis2/#/data"}`, 400, "'#' must be the last level", nil},
		{"plus inside a level", `{"topic": "cache/a/wis2/de+/data/#"}`, 400, "must stand alone", nil},
		{"empty level", `{"topic": "cache/a/wis2//data/#"}`, 400, "empty", nil},
		{"star", `{"topic": "cache/a/wis2/*/data/#"}`, 400, "'*' is not an MQTT wildcard", nil},
		{"monitor", `{"topic": "monitor/a/wis2/de-dwd"}`, 400, "monitoring events", nil},
		{"wildcard channel", `{"topic": "+/a/wis2/#"}`, 400, "must be origin or cache", nil},
		{"channel typo", `{"topic": "caches/a/wis2/+/data/#"}`, 400, "must be origin", nil},
		{"channel case", `{"topic": "Cache/a/wis2/+/data/#"}`, 400, "lower-case", nil},
		{"version missing", `{"topic": "cache/wis2/+/data/#"}`, 400, "version level is missing", nil},
		{"wrong version", `{"topic": "cache/b/wis2/+/data/#"}`, 400, "version 'a'", nil},
		{"too broad", `{"topic": "cache/#"}`, 400, "too broad", nil},
		{"system typo", `{"topic": "cache/a/wsi2/+/data/#"}`, 400, "level 3", nil},
		{"centre-id case", `{"topic": "cache/a/wis2/DE-DWD/data/#"}`, 400, "centre-id", nil},
		{"data typo", `{"topic": "cache/a/wis2/de-dwd/dta/core/#"}`, 400, "must be data or metadata", nil},
		{"notification type missing", `{"topic": "cache/a/wis2/de-dwd/core/weather/#"}`, 400, "notification type is missing", nil},
		{"policy typo", `{"topic": "cache/a/wis2/+/data/corre/#"}`, 400, "must be core or recommended", nil},
		{"topic too long", `{"topic": "cache/a/wis2/+/data/core/` + strings.Repeat("x", 1100) + `"}`, 400, "longer than", nil},
		{"stops at centre", `{"topic": "cache/a/wis2/de-dwd"}`, 400, "matches no notification", nil},
		{"stops at data policy", `{"topic": "cache/a/wis2/+/data/core"}`, 400, "end it with /#", nil},
		{"white space", `{"topic": "cache/a/wis2/+/data/core/a b"}`, 400, "white space", nil},
		// Target.
		{"absolute target", `{"topic": "` + good + `", "target": "/etc"}`, 400, "not an absolute path", nil},
		{"dotdot target", `{"topic": "` + good + `", "target": "../x"}`, 400, "'..' is not allowed", nil},
		{"dotdot inside target", `{"topic": "` + good + `", "target": "a/../../b"}`, 400, "'..' is not allowed", nil},
		{"NUL in target", `{"topic": "` + good + `", "target": "a\u0000b"}`, 400, "control character", nil},
		{"backslash target", `{"topic": "` + good + `", "target": "a\\b"}`, 400, "'\\'", nil},
		{"target too long", `{"topic": "` + good + `", "target": "` + strings.Repeat("a/", 600) + `"}`, 400, "longer than", nil},
		{"target not a string", `{"topic": "` + good + `", "target": 1}`, 400, `"target" must be a string`, nil},
		// Filter.
		{"filter not an object", `{"topic": "` + good + `", "filter": [1]}`, 400, "filter must be a JSON object", nil},
		{"filter rule error", `{"topic": "` + good + `", "filter": {"rules": [{"id": "a", "order": 1, "match": {"always": true}, "action": "accept"}, {"id": "b", "match": {"size": {"lt_bytes": "x"}}, "action": "reject"}]}}`, 400, "invalid filter at rules[1].match.size.lt_bytes:", nil},
		{"filter condition with two keys", `{"topic": "` + good + `", "filters": {"rules": [{"id": "a", "match": {"media_type": {"equals": "x"}, "centre_id": {"equals": "y"}}, "action": "accept"}]}}`, 400, "invalid filter at rules[0].match:", nil},
		{"filter unknown action", `{"topic": "` + good + `", "filter": {"rules": [{"id": "a", "match": {"always": true}, "action": "bogus"}]}}`, 400, "rules[0].action", nil},
		{"filter and filters", `{"topic": "` + good + `", "filter": {}, "filters": {}}`, 400, "not both", nil},
		// Bodies.
		{"not JSON content type", `{"topic": "` + good + `"}`, 415, "application/json", []string{"Content-Type", "text/plain"}},
		{"malformed JSON", `{"topic": `, 400, "malformed JSON", nil},
		{"syntax error", `{"topic" "x"}`, 400, "malformed JSON", nil},
		{"unknown field", `{"topic": "` + good + `", "destination": "x"}`, 400, `unknown field "destination"`, nil},
		{"two objects", `{"topic": "` + good + `"} {}`, 400, "one JSON object", nil},
		{"array body", `[]`, 400, "must be a JSON object", nil},
		{"too large", `{"topic": "` + good + `", "target": "` + strings.Repeat("a", 5000) + `"}`, 413, "larger than 4096 bytes", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.do("POST", "/subscriptions", c.body, token, c.hdr...)
			if res.status != c.status {
				t.Fatalf("HTTP %d, want %d: %s", res.status, c.status, res.body)
			}
			if msg := res.errorMsg(t); !strings.Contains(msg, c.want) {
				t.Fatalf("error %q does not mention %q", msg, c.want)
			}
		})
	}
	// PUT validates the same way.
	res := e.do("POST", "/subscriptions", `{"topic": "`+good+`"}`, token)
	var s subscription.Subscription
	res.json(t, &s)
	cmds.next()
	for _, body := range []string{`{"target": "/abs"}`, `{"target": "../up"}`, `{"filter": "x"}`, `{"nope": 1}`, `{"target": 3}`} {
		if res := e.do("PUT", "/subscriptions/"+s.ID, body, token); res.status != 400 {
			t.Errorf("PUT %s: HTTP %d %s", body, res.status, res.body)
		}
	}
	cmds.none(e.rdb)
	if n, _ := e.rdb.HLen(context.Background(), subscription.HashKey).Result(); n != 1 {
		t.Fatalf("%d subscriptions stored, want 1", n)
	}
	got, _ := subscription.NewStore(e.rdb).Get(context.Background(), s.ID)
	if got.SavePath != nil || string(got.Filter) != "{}" {
		t.Fatalf("rejected PUT changed the subscription: %+v", got)
	}
}

func TestValidationAccepts(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		topic, target string
		wantPath      *string
	}{
		{"cache/a/wis2/+/data/core/weather/surface-based-observations/synop", "synop", strp("synop")},
		{"origin/a/wis2/de-dwd-gts-to-wis2/data/core/I/S/A/I/01/sbbr", "gts/./x//", strp("gts/x")},
		{"cache/a/wis2/+/metadata/#", "./", strp(".")},
		{"cache/a/wis2/#", "", nil},
		{"cache/a/wis2/de-dwd/metadata", "", nil},
		{"cache/a/wis2/+/+", "", nil},
		{"cache/a/wis2/de-dwd/#", "", nil},
		{"origin/a/wis2/ca-eccc-msc/data/recommended/#", "a b/c", strp("a b/c")},
		{"cache%2Fa%2Fwis2%2F%2B%2Fdata%2Fcore%2F%23", "", nil}, // URL-quoted, as the original unquoted
	}
	for _, c := range cases {
		body := map[string]any{"topic": c.topic}
		if c.target != "" {
			body["target"] = c.target
		}
		res := e.do("POST", "/subscriptions", mustJSON(body), token)
		if res.status != http.StatusCreated {
			t.Errorf("%s: HTTP %d %s", c.topic, res.status, res.body)
			continue
		}
		var s subscription.Subscription
		res.json(t, &s)
		if (s.SavePath == nil) != (c.wantPath == nil) || (s.SavePath != nil && *s.SavePath != *c.wantPath) {
			t.Errorf("%s: save_path %v, want %v", c.topic, s.SavePath, c.wantPath)
		}
		if strings.Contains(s.Topic, "%") {
			t.Errorf("topic not unquoted: %q", s.Topic)
		}
	}
}

func strp(s string) *string { return &s }
