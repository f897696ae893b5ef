package wis2

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestPeek(t *testing.T) {
	tests := []struct {
		in     string
		id     string
		reason Reason
	}{
		{`{"id":"abc"}`, "abc", ""},
		{` {"type":"Feature", "id" : "abc" } `, "abc", ""},
		{`{"properties":{"id":"nested"},"id":"top"}`, "top", ""},
		{`{"properties":{"id":"nested"}}`, "", ReasonNoID},
		{`{"x":"\"id\":\"fake\"","id":"real"}`, "real", ""},
		{`{"x":["id",{"id":"n"}],"links":[{"id":1}],"id":"r"}`, "r", ""},
		{`{"id":"a\u0062c\n"}`, "abc\n", ""},
		{`{"\u0069d":"escaped-key"}`, "escaped-key", ""},
		{`{"idx":"no","i":"no"}`, "", ReasonNoID},
		{`{"id":"first","id":"last"}`, "last", ""},
		{`{"n":-1.5e3,"t":true,"f":false,"z":null,"id":"after-scalars"}`, "after-scalars", ""},
		{`{"id":""}`, "", ReasonNoID},
		{`{"id":null}`, "", ReasonNoID},
		{`{"id":12}`, "", ReasonInvalidType},
		{`{"id":{"a":1}}`, "", ReasonInvalidType},
		{`{}`, "", ReasonNoID},
		{`[]`, "", ReasonInvalidType},
		{`null`, "", ReasonInvalidType},
		{`"id"`, "", ReasonInvalidType},
		{`{"id":"x"`, "", ReasonNotJSON},
		{`{"id":"x"} {}`, "", ReasonNotJSON},
		{``, "", ReasonNotJSON},
		{`{"id":"` + strings.Repeat("x", MaxMessageBytes) + `"}`, "", ReasonTooLarge},
	}
	for _, tc := range tests {
		id, err := Peek([]byte(tc.in))
		if tc.reason == "" {
			if err != nil || id != tc.id {
				t.Errorf("Peek(%s) = %q, %v; want %q", tc.in, id, err, tc.id)
			}
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Reason != tc.reason {
			t.Errorf("Peek(%s) = %q, %v; want reason %s", tc.in, id, err, tc.reason)
		}
	}
}

// peekOracle is Peek written with encoding/json, for the fuzz property.
func peekOracle(b []byte) (string, bool) {
	var top map[string]json.RawMessage
	if len(b) > MaxMessageBytes || json.Unmarshal(b, &top) != nil || top == nil {
		return "", false
	}
	var id string
	if json.Unmarshal(top["id"], &id) != nil || strings.TrimSpace(id) == "" {
		return "", false
	}
	return id, true
}

func FuzzPeek(f *testing.F) {
	for _, tc := range sampleCases() {
		b := readSample(f, tc.file)
		if tc.extract != nil && tc.reason == "" {
			b = tc.extract(f, b)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"\u0069d":"a","id":"b"}`))
	f.Add([]byte(`{"x":{"id":"n"},"id":"\"q\""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := Peek(b)
		want, ok := peekOracle(b)
		if ok != (err == nil) || id != want {
			t.Fatalf("Peek = %q, %v; encoding/json says %q, %v", id, err, want, ok)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, tc := range sampleCases() {
		b := readSample(f, tc.file)
		if tc.extract != nil && tc.reason == "" {
			b = tc.extract(f, b)
		}
		f.Add(b)
	}
	f.Add([]byte(msg("LINKS", ``, "PROPS", `,"content":{"encoding":"gzip","value":"H4sIAAAAAAAA/0vLz7dKLQIAVWxgEgYAAAA=","size":6}`)))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := Parse(b)
		id, perr := Peek(b)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Reason == "" {
				t.Fatalf("Parse error %v is not a *ParseError with a reason", err)
			}
			return
		}
		// Whatever Parse accepts, Peek accepts with the same id.
		if perr != nil || id != n.ID {
			t.Fatalf("Parse id %q, Peek = %q, %v", n.ID, id, perr)
		}
		if n.Properties.DataID == "" {
			t.Fatal("accepted without data_id")
		}
		l, a, ok := n.DataLink()
		if !ok && n.Properties.Content == nil {
			t.Fatal("accepted without a link or inline content")
		}
		if ok && string(a) != l.Rel {
			t.Fatalf("action %q, rel %q", a, l.Rel)
		}
		if n.Properties.Content != nil {
			if _, err := n.Properties.Content.Decode(); err != nil {
				t.Fatalf("kept content does not decode: %v", err)
			}
		}
		if n.Properties.Integrity != nil {
			n.Properties.Integrity.Matches([]byte{1, 2, 3})
		}
	})
}
