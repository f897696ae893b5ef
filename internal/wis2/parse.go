package wis2

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Parse decodes and checks one WIS2 notification message.
//
// It is lenient where real traffic is sloppy: extra keys anywhere, missing
// "conformsTo" or the legacy "version":"v04", missing datetime, missing
// pubtime (Pubtime is then zero), timestamps without a zone (read as UTC),
// hex digests, GTS-style data ids, links whose entries have the wrong JSON
// types (the link is skipped). It is strict where it matters and returns a
// *ParseError whose Reason says why:
//
//   - ReasonTooLarge: more than MaxMessageBytes bytes;
//   - ReasonNotJSON: not valid JSON;
//   - ReasonInvalidType: not a JSON object, "type" present but not "Feature",
//     "id" not a string, "properties" not an object, "links" not an array;
//   - ReasonNoID / ReasonNoDataID: "id" / "properties.data_id" missing or empty;
//   - ReasonBadPubtime: "properties.pubtime" present but not a timestamp
//     (pubtime orders updates, so a garbled one is not guessed);
//   - ReasonNoLink: no canonical/update/deletion link with an http(s) href
//     and no usable inline content;
//   - ReasonBadContent: inline content is the only data source and it cannot
//     be decoded (see Content.Decode).
//
// Inline content that fails to decode while a usable link exists is dropped
// (Properties.Content is nil) and the problem kept in
// Properties.ContentError, so the data is fetched from the link instead.
func Parse(b []byte) (*Notification, error) {
	if len(b) > MaxMessageBytes {
		return nil, &ParseError{Reason: ReasonTooLarge, Detail: fmt.Sprintf("%d bytes exceeds %d", len(b), MaxMessageBytes)}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		if !json.Valid(b) {
			return nil, &ParseError{Reason: ReasonNotJSON, Detail: err.Error()}
		}
		return nil, &ParseError{Reason: ReasonInvalidType, Detail: "message is not a JSON object"}
	}
	if top == nil {
		return nil, &ParseError{Reason: ReasonInvalidType, Detail: "message is null"}
	}
	n := &Notification{}
	if raw, ok := top["type"]; ok && !isNull(raw) {
		var typ string
		if err := json.Unmarshal(raw, &typ); err != nil || !strings.EqualFold(typ, "Feature") {
			return nil, &ParseError{Reason: ReasonInvalidType, Detail: fmt.Sprintf("type is %s, not \"Feature\"", clip(raw))}
		}
	}
	id, err := stringField(top, "id")
	if err != nil {
		return nil, &ParseError{Reason: ReasonInvalidType, Detail: "id: " + err.Error()}
	}
	if strings.TrimSpace(id) == "" {
		return nil, &ParseError{Reason: ReasonNoID, Detail: "no \"id\""}
	}
	n.ID = id
	if g, ok := top["geometry"]; ok && !isNull(g) {
		n.Geometry = g
	}

	rawProps, ok := top["properties"]
	if !ok || isNull(rawProps) {
		return nil, &ParseError{Reason: ReasonNoDataID, Detail: "no \"properties\""}
	}
	var all map[string]any
	if err := json.Unmarshal(rawProps, &all); err != nil {
		return nil, &ParseError{Reason: ReasonInvalidType, Detail: "properties is not an object"}
	}
	if err := n.Properties.fill(all); err != nil {
		return nil, err
	}

	if raw, ok := top["links"]; ok && !isNull(raw) {
		links, err := parseLinks(raw)
		if err != nil {
			return nil, err
		}
		n.Links = links
	}

	_, _, linkErr := n.SelectLink()
	if c := n.Properties.Content; c != nil {
		if _, err := c.Decode(); err != nil {
			if linkErr != nil {
				return nil, &ParseError{Reason: ReasonBadContent, Detail: err.Error()}
			}
			n.Properties.ContentError = err
			n.Properties.Content = nil
		}
	}
	if linkErr != nil && n.Properties.Content == nil {
		return nil, &ParseError{Reason: ReasonNoLink, Detail: linkErr.Error()}
	}
	return n, nil
}

// fill sets the typed fields of p from the decoded properties object.
func (p *Properties) fill(all map[string]any) error {
	p.All = all
	dataID, ok := all["data_id"].(string)
	if !ok || strings.TrimSpace(dataID) == "" {
		return &ParseError{Reason: ReasonNoDataID, Detail: "no string \"properties.data_id\""}
	}
	p.DataID = dataID
	p.MetadataID, _ = all["metadata_id"].(string)
	p.GlobalCache, _ = all["global-cache"].(string)
	if c, ok := all["cache"].(bool); ok {
		p.Cache = &c
	}

	switch v := all["pubtime"].(type) {
	case nil:
	case string:
		t, err := ParseTime(v)
		if err != nil {
			return &ParseError{Reason: ReasonBadPubtime, Detail: err.Error()}
		}
		p.Pubtime = t
	default:
		return &ParseError{Reason: ReasonBadPubtime, Detail: fmt.Sprintf("pubtime is a %T, not a string", v)}
	}
	p.Datetime = optionalTime(all["datetime"])
	p.StartDatetime = optionalTime(all["start_datetime"])
	p.EndDatetime = optionalTime(all["end_datetime"])

	if m, ok := all["integrity"].(map[string]any); ok {
		method, _ := m["method"].(string)
		value, _ := m["value"].(string)
		if method != "" || value != "" {
			p.Integrity = &Integrity{Method: method, Value: value}
		}
	}
	if m, ok := all["content"].(map[string]any); ok {
		c := &Content{}
		c.Encoding, _ = m["encoding"].(string)
		c.Value, _ = m["value"].(string)
		if f, ok := m["size"].(float64); ok && f > 0 && f == float64(int64(f)) {
			c.Size = int64(f)
		}
		p.Content = c
	}
	return nil
}

// ParseTime reads a WNM timestamp: RFC 3339 with optional fractional
// seconds. Leniency: a timestamp without a zone ("2024-01-18T12:05:02") is
// read as UTC, 't'/'z' may be lower case and a space may separate date and
// time. The result is in UTC.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(s) > 10 && (s[10] == ' ' || s[10] == 't') {
		s = s[:10] + "T" + s[11:]
	}
	if strings.HasSuffix(s, "z") {
		s = s[:len(s)-1] + "Z"
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("timestamp %q is not RFC 3339", s)
}

func optionalTime(v any) *time.Time {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	t, err := ParseTime(s)
	if err != nil {
		return nil
	}
	return &t
}

// rawLink is one links[] entry as sent; Length may be a number or a string.
type rawLink struct {
	Href   string          `json:"href"`
	Rel    string          `json:"rel"`
	Type   string          `json:"type"`
	Title  string          `json:"title"`
	Length json.RawMessage `json:"length"`
}

func parseLinks(raw json.RawMessage) ([]Link, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, &ParseError{Reason: ReasonInvalidType, Detail: "links is not an array"}
	}
	links := make([]Link, 0, len(items))
	for _, it := range items {
		var rl rawLink
		if err := json.Unmarshal(it, &rl); err != nil {
			continue // a malformed link is skipped, not fatal
		}
		links = append(links, Link{Href: rl.Href, Rel: rl.Rel, Type: rl.Type, Title: rl.Title, Length: parseLength(rl.Length)})
	}
	return links, nil
}

// parseLength reads a link length given as a JSON number or numeric string;
// anything else (or a negative value) is 0, "not given".
func parseLength(raw json.RawMessage) int64 {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return 0
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0
		}
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil && n > 0 {
		return n
	}
	if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && f > 0 && f < 1<<62 && f == float64(int64(f)) {
		return int64(f)
	}
	return 0
}

func stringField(m map[string]json.RawMessage, key string) (string, error) {
	raw, ok := m[key]
	if !ok || isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s is not a string", clip(raw))
	}
	return s, nil
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// clip shortens raw JSON for error details.
func clip(raw []byte) string {
	const limit = 40
	if len(raw) > limit {
		return string(raw[:limit]) + "..."
	}
	return string(raw)
}
