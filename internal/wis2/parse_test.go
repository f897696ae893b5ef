package wis2

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// msg builds a message from a minimal valid one: PROPS (extra properties)
// and LINKS (the links array's items) are placeholders, and repl are
// old/new pairs applied to the template before the defaults.
func msg(repl ...string) string {
	const m = `{"id":"ID","type":"Feature","geometry":null,"properties":{"data_id":"DATA","pubtime":"2024-01-18T12:05:02Z"PROPS},"links":[LINKS]}`
	pairs := append(repl, "PROPS", "", "LINKS", `{"href":"https://gc.example/a.bufr","rel":"canonical","type":"application/bufr","length":10}`)
	return strings.NewReplacer(pairs...).Replace(m)
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		reason Reason
	}{
		{"empty", ``, ReasonNotJSON},
		{"garbage", `{"id":`, ReasonNotJSON},
		{"trailing comma", `{"id":"x",}`, ReasonNotJSON},
		{"too large", `{"id":"` + strings.Repeat("x", MaxMessageBytes) + `"}`, ReasonTooLarge},
		{"array", `[1,2]`, ReasonInvalidType},
		{"string", `"hello"`, ReasonInvalidType},
		{"null", `null`, ReasonInvalidType},
		{"cloud event", strings.Replace(msg(), `"type":"Feature"`, `"type":"int.wmo.wis.wme.event"`, 1), ReasonInvalidType},
		{"id number", strings.Replace(msg(), `"id":"ID"`, `"id":42`, 1), ReasonInvalidType},
		{"no id", strings.Replace(msg(), `"id":"ID",`, ``, 1), ReasonNoID},
		{"empty id", strings.Replace(msg(), `"id":"ID"`, `"id":"  "`, 1), ReasonNoID},
		{"null id", strings.Replace(msg(), `"id":"ID"`, `"id":null`, 1), ReasonNoID},
		{"no properties", `{"id":"x","links":[{"href":"https://a/b","rel":"canonical"}]}`, ReasonNoDataID},
		{"properties array", `{"id":"x","properties":[1]}`, ReasonInvalidType},
		{"no data_id", strings.Replace(msg(), `"data_id":"DATA",`, ``, 1), ReasonNoDataID},
		{"empty data_id", strings.Replace(msg(), `"data_id":"DATA"`, `"data_id":""`, 1), ReasonNoDataID},
		{"numeric data_id", strings.Replace(msg(), `"data_id":"DATA"`, `"data_id":7`, 1), ReasonNoDataID},
		{"bad pubtime", strings.Replace(msg(), `2024-01-18T12:05:02Z`, `yesterday`, 1), ReasonBadPubtime},
		{"numeric pubtime", strings.Replace(msg(), `"2024-01-18T12:05:02Z"`, `1705579502`, 1), ReasonBadPubtime},
		{"no links", msg(`,"links":[LINKS]`, ``), ReasonNoLink},
		{"empty links", msg("LINKS", ``), ReasonNoLink},
		{"links object", msg(`[LINKS]`, `{}`), ReasonInvalidType},
		{"only item link", msg("LINKS", `{"href":"https://a/b","rel":"item"}`), ReasonNoLink},
		{"ftp canonical", msg("LINKS", `{"href":"ftp://a/b","rel":"canonical"}`), ReasonNoLink},
		{"file canonical", msg("LINKS", `{"href":"file:///etc/passwd","rel":"canonical"}`), ReasonNoLink},
		{"relative canonical", msg("LINKS", `{"href":"/data/x","rel":"canonical"}`), ReasonNoLink},
		{"bad content only", msg("LINKS", ``, "PROPS", `,"content":{"encoding":"base64","value":"!!!","size":3}`), ReasonBadContent},
		{"unknown encoding only", msg("LINKS", ``, "PROPS", `,"content":{"encoding":"rot13","value":"abc","size":3}`), ReasonBadContent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Parse([]byte(tc.in))
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Reason != tc.reason {
				t.Fatalf("Parse = %v, %v; want reason %s", n, err, tc.reason)
			}
			if pe.Error() == "" || !strings.HasPrefix(pe.Error(), string(tc.reason)) {
				t.Errorf("Error() = %q", pe.Error())
			}
		})
	}
}

func TestParseLenient(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(*testing.T, *Notification)
	}{
		{"minimal", msg(), func(t *testing.T, n *Notification) {
			l, a, ok := n.DataLink()
			if !ok || a != ActionNew || l.Length != 10 || l.Href != "https://gc.example/a.bufr" {
				t.Errorf("DataLink = %+v %s %v", l, a, ok)
			}
		}},
		{"legacy v04 and extra keys", strings.Replace(msg(), `"type":"Feature"`, `"version":"v04","generated_by":"wis2box 1.3.0","type":"Feature"`, 1), nil},
		{"no type", strings.Replace(msg(), `"type":"Feature",`, ``, 1), nil},
		{"no pubtime", strings.Replace(msg(), `,"pubtime":"2024-01-18T12:05:02Z"`, ``, 1), func(t *testing.T, n *Notification) {
			if !n.Properties.Pubtime.IsZero() {
				t.Errorf("pubtime = %v", n.Properties.Pubtime)
			}
		}},
		{"pubtime without zone is UTC", strings.Replace(msg(), `2024-01-18T12:05:02Z`, `2024-01-18T12:05:02.5`, 1), func(t *testing.T, n *Notification) {
			want := time.Date(2024, 1, 18, 12, 5, 2, 5e8, time.UTC)
			if !n.Properties.Pubtime.Equal(want) || n.Properties.Pubtime.Location() != time.UTC {
				t.Errorf("pubtime = %v", n.Properties.Pubtime)
			}
		}},
		{"pubtime lower case and offset", strings.Replace(msg(), `2024-01-18T12:05:02Z`, `2024-01-18t13:05:02+01:00`, 1), func(t *testing.T, n *Notification) {
			if want := time.Date(2024, 1, 18, 12, 5, 2, 0, time.UTC); !n.Properties.Pubtime.Equal(want) {
				t.Errorf("pubtime = %v", n.Properties.Pubtime)
			}
		}},
		{"bad datetime ignored", msg("PROPS", `,"datetime":"soon","start_datetime":null`), func(t *testing.T, n *Notification) {
			if n.Properties.Datetime != nil || n.Properties.StartDatetime != nil {
				t.Errorf("datetime = %v", n.Properties.Datetime)
			}
		}},
		{"rel case and order", msg("LINKS", `{"href":"https://a/del","rel":"deletion"},{"href":"https://a/new","rel":"Canonical"},{"href":"https://a/upd","rel":"UPDATE"}`), func(t *testing.T, n *Notification) {
			l, a, _ := n.DataLink()
			if a != ActionUpdate || l.Href != "https://a/upd" || l.Rel != "update" {
				t.Errorf("DataLink = %+v %s", l, a)
			}
		}},
		{"canonical before deletion", msg("LINKS", `{"href":"https://a/del","rel":"deletion"},{"href":"https://a/new","rel":"canonical"}`), func(t *testing.T, n *Notification) {
			if _, a, _ := n.DataLink(); a != ActionNew {
				t.Errorf("action = %s", a)
			}
		}},
		{"skips ftp for next canonical", msg("LINKS", `{"href":"ftp://a/x","rel":"canonical"},{"href":"HTTPS://b/y","rel":"canonical"}`), func(t *testing.T, n *Notification) {
			if l, _, _ := n.DataLink(); l.Href != "HTTPS://b/y" {
				t.Errorf("href = %s", l.Href)
			}
		}},
		{"malformed link entry skipped", msg("LINKS", `{"href":5,"rel":"canonical"},{"href":"https://b/y","rel":"canonical","length":"12"}`), func(t *testing.T, n *Notification) {
			if l, _, _ := n.DataLink(); l.Href != "https://b/y" || l.Length != 12 {
				t.Errorf("link = %+v", l)
			}
		}},
		{"negative length not given", msg("LINKS", `{"href":"https://b/y","rel":"canonical","length":-4}`), func(t *testing.T, n *Notification) {
			if l, _, _ := n.DataLink(); l.Length != 0 {
				t.Errorf("length = %d", l.Length)
			}
		}},
		{"inline only", msg("LINKS", ``, "PROPS", `,"content":{"encoding":"utf-8","value":"héllo","size":6}`), func(t *testing.T, n *Notification) {
			if _, _, ok := n.DataLink(); ok {
				t.Error("DataLink ok without links")
			}
			d, err := n.Properties.Content.Decode()
			if err != nil || string(d) != "héllo" {
				t.Errorf("Decode = %q, %v", d, err)
			}
		}},
		{"bad inline with link dropped", msg("PROPS", `,"content":{"encoding":"base64","value":"aGVsbG8=","size":99}`), func(t *testing.T, n *Notification) {
			if n.Properties.Content != nil || n.Properties.ContentError == nil {
				t.Errorf("content = %+v, err %v", n.Properties.Content, n.Properties.ContentError)
			}
		}},
		{"integrity and cache", msg("PROPS", `,"integrity":{"method":"sha3-256","value":"abc"},"cache":false,"global-cache":"de-dwd-global-cache","metadata_id":"urn:x"`), func(t *testing.T, n *Notification) {
			p := n.Properties
			if p.Integrity == nil || p.Integrity.Method != "sha3-256" || p.Cache == nil || *p.Cache || p.GlobalCache != "de-dwd-global-cache" || p.MetadataID != "urn:x" {
				t.Errorf("properties = %+v", p)
			}
		}},
		{"duplicate id last wins", strings.Replace(msg(), `"id":"ID"`, `"id":"first","id":"second"`, 1), func(t *testing.T, n *Notification) {
			if n.ID != "second" {
				t.Errorf("id = %s", n.ID)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse(%s): %v", tc.in, err)
			}
			if id, err := Peek([]byte(tc.in)); err != nil || id != n.ID {
				t.Errorf("Peek = %q, %v; Parse id %q", id, err, n.ID)
			}
			if tc.check != nil {
				tc.check(t, n)
			}
		})
	}
}

func TestSelectLinkReason(t *testing.T) {
	n, err := Parse([]byte(msg("LINKS", `{"href":"ftp://a/b","rel":"canonical"}`, "PROPS", `,"content":{"encoding":"utf-8","value":"x","size":1}`)))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = n.SelectLink()
	if !errors.Is(err, ErrNoDataLink) || !strings.Contains(err.Error(), `"ftp"`) {
		t.Errorf("SelectLink error = %v", err)
	}
}

func TestParseTime(t *testing.T) {
	good := map[string]time.Time{
		"2024-01-18T12:05:02Z":           time.Date(2024, 1, 18, 12, 5, 2, 0, time.UTC),
		"2024-01-18 12:05:02Z":           time.Date(2024, 1, 18, 12, 5, 2, 0, time.UTC),
		"2024-01-18T12:05:02z":           time.Date(2024, 1, 18, 12, 5, 2, 0, time.UTC),
		"2024-01-18T12:05:02":            time.Date(2024, 1, 18, 12, 5, 2, 0, time.UTC),
		"2024-01-18T12:05:02.123456789Z": time.Date(2024, 1, 18, 12, 5, 2, 123456789, time.UTC),
		"2024-01-18T14:05:02+02:00":      time.Date(2024, 1, 18, 12, 5, 2, 0, time.UTC),
	}
	for in, want := range good {
		got, err := ParseTime(in)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "2024-01-18", "12:05:02", "2024-13-18T12:05:02Z", "now"} {
		if _, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) accepted", in)
		}
	}
}

func TestParseTopic(t *testing.T) {
	tests := []struct {
		in                      string
		ch, centre, typ, policy string
		levels                  int
	}{
		{"cache/a/wis2/de-dwd/data/core/weather/surface-based-observations/synop", "cache", "de-dwd", "data", "core", 9},
		{"origin/a/wis2/de-dwd-gts-to-wis2/data/core/I/S/A/I/01/sbbr", "origin", "de-dwd-gts-to-wis2", "data", "core", 12},
		{"origin/a/wis2/ca-eccc-msc/metadata", "origin", "ca-eccc-msc", "metadata", "", 5},
		{"cache/a/wis2/jp-jma/data/recommended", "cache", "jp-jma", "data", "recommended", 6},
		{"monitor/a/wis2/fr-meteofrance", "monitor", "fr-meteofrance", "", "", 4},
		{"origin/a/wis2", "", "", "", "", 3},
		{"some/other/topic/here/x", "", "", "", "", 5},
		{"", "", "", "", "", 1},
	}
	for _, tc := range tests {
		got := ParseTopic(tc.in)
		if got.Channel != tc.ch || got.CentreID != tc.centre || got.NotificationType != tc.typ || got.DataPolicy != tc.policy || len(got.Levels) != tc.levels {
			t.Errorf("ParseTopic(%q) = %+v", tc.in, got)
		}
	}
}
