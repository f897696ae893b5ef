package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wmo-im/wis2downloader/internal/topic"
)

// MaxTargetLength is the longest target (save path) accepted, in bytes.
const MaxTargetLength = 1024

// maxTargetSegment is the longest single directory name in a target.
const maxTargetSegment = 255

// normTopic unquotes (as the original did) and trims a topic, then checks it
// is a valid MQTT filter and a WIS2 topic a downloader can use.
func normTopic(raw string) (string, error) {
	t := strings.TrimSpace(raw)
	if strings.Contains(t, "%") {
		if u, err := url.PathUnescape(t); err == nil {
			t = strings.TrimSpace(u)
		}
	}
	if t == "" {
		return "", badRequest("No topic provided")
	}
	if err := checkTopic(t); err != nil {
		return "", badRequest("invalid topic %q: %v", t, err)
	}
	return t, nil
}

// checkTopic validates t against MQTT and the WIS2 Topic Hierarchy (WTH):
// channel (origin|cache)/a/wis2/<centre-id>/<data|metadata>/<core|recommended>/...
// Levels below the data policy are not checked, so GTS-to-WIS2 gateway
// topics (.../data/core/I/S/A/I/01/sbbr) are accepted.
func checkTopic(t string) error {
	if !utf8.ValidString(t) {
		return errors.New("topic is not valid UTF-8")
	}
	if strings.IndexFunc(t, unicode.IsSpace) >= 0 {
		return errors.New("topic contains white space")
	}
	if strings.HasPrefix(t, "/") {
		return errors.New("topic starts with '/'; WIS2 topics start with origin/a/wis2/ or cache/a/wis2/")
	}
	if strings.Contains(t, "*") {
		return errors.New("'*' is not an MQTT wildcard: use '+' for one level or '#' for all deeper levels")
	}
	if err := topic.ValidateFilter(t); err != nil {
		return err
	}
	l := strings.Split(t, "/")
	level := func(i int) string {
		if i < len(l) {
			return l[i]
		}
		return ""
	}
	switch c := level(0); {
	case c == "origin" || c == "cache":
	case c == "monitor":
		return errors.New("monitor/ topics carry WIS2 monitoring events, not data: subscribe to origin/a/wis2/... or cache/a/wis2/...")
	case c == "+" || c == "#":
		return errors.New("the channel (level 1) must be origin or cache, not a wildcard (Global Brokers refuse it); subscribe to both topics if you need both")
	case strings.EqualFold(c, "origin") || strings.EqualFold(c, "cache"):
		return fmt.Errorf("channel %q must be lower-case: %s", c, strings.ToLower(c))
	default:
		return fmt.Errorf("channel (level 1) %q must be origin (data from the WIS2 Node) or cache (data from a Global Cache)", c)
	}
	switch v := level(1); {
	case v == "a":
	case v == "wis2":
		return fmt.Errorf("the version level is missing: write %s/a/wis2/...", l[0])
	case v == "" || v == "#":
		return fmt.Errorf("topic is too broad: use at least %s/a/wis2/+/data/# (or name a centre)", l[0])
	case v == "+":
		return errors.New("the version (level 2) must be 'a', not a wildcard")
	case v == "A":
		return errors.New("the version (level 2) must be lower-case 'a'")
	default:
		return fmt.Errorf("the version (level 2) is %q but the WIS2 Topic Hierarchy in use is version 'a'", v)
	}
	switch s := level(2); {
	case s == "wis2":
	case s == "" || s == "#":
		return fmt.Errorf("topic is too broad: use at least %s/a/wis2/+/data/# (or name a centre)", l[0])
	case s == "+":
		return errors.New("level 3 must be 'wis2', not a wildcard")
	case strings.EqualFold(s, "wis2"):
		return errors.New("level 3 must be lower-case 'wis2'")
	default:
		return fmt.Errorf("level 3 is %q; WIS2 topics read %s/a/wis2/<centre-id>/...", s, l[0])
	}
	if len(l) < 4 {
		return fmt.Errorf("topic ends before the centre-id: add /<centre-id>/data/..., '+/data/#' or '#'")
	}
	if c := level(3); c != "+" && c != "#" {
		if err := checkCentreID(c); err != nil {
			return err
		}
	}
	if len(l) == 4 && l[3] != "#" {
		return fmt.Errorf("topic stops at the centre-id and matches no notification: add /data/#, /metadata or /#")
	}
	if level(4) == "data" && len(l) <= 6 && l[len(l)-1] != "#" {
		return fmt.Errorf("data is published below %s/<core|recommended>/<discipline>/..., so this topic matches nothing: end it with /# (e.g. %s/a/wis2/%s/data/core/#)", strings.Join(l[:5], "/"), l[0], l[3])
	}
	switch n := level(4); {
	case n == "" || n == "+" || n == "#" || n == "metadata":
		return nil
	case n == "data":
	case strings.EqualFold(n, "data") || strings.EqualFold(n, "metadata"):
		return fmt.Errorf("notification type %q must be lower-case", n)
	case n == "core" || n == "recommended":
		return fmt.Errorf("the notification type is missing: write .../%s/data/%s/...", l[3], n)
	default:
		return fmt.Errorf("notification type (level 5) %q must be data or metadata", n)
	}
	switch p := level(5); {
	case p == "" || p == "+" || p == "#" || p == "core" || p == "recommended":
		return nil
	case strings.EqualFold(p, "core") || strings.EqualFold(p, "recommended"):
		return fmt.Errorf("data policy %q must be lower-case", p)
	default:
		return fmt.Errorf("data policy (level 6) %q must be core or recommended", p)
	}
}

func checkCentreID(c string) error {
	for _, r := range c {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_' {
			return fmt.Errorf("centre-id %q: use lower-case letters, digits and '-' (e.g. de-dwd), or '+' for every centre", c)
		}
	}
	return nil
}

// normTarget checks a target directory and returns the save path to store:
// nil for no target, else the cleaned path relative to the download root.
func normTarget(t *string) (*string, error) {
	if t == nil || *t == "" {
		return nil, nil
	}
	s := *t
	switch {
	case len(s) > MaxTargetLength:
		return nil, badRequest("target is longer than %d bytes", MaxTargetLength)
	case !utf8.ValidString(s):
		return nil, badRequest("target is not valid UTF-8")
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return nil, badRequest("target contains a control character")
	case strings.Contains(s, `\`):
		return nil, badRequest(`target %q contains '\'; use '/' between directories`, s)
	case strings.HasPrefix(s, "/"):
		return nil, badRequest("target %q must be a directory relative to the download root (e.g. \"synop/de-dwd\"), not an absolute path", s)
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == ".." {
			return nil, badRequest("target %q must stay inside the download root ('..' is not allowed)", s)
		}
		if len(seg) > maxTargetSegment {
			return nil, badRequest("target %q has a directory name longer than %d bytes", s, maxTargetSegment)
		}
	}
	clean := path.Clean(s)
	return &clean, nil
}

// normFilter checks a filter with the worker's compiler; nil or null is {}.
func normFilter(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage(`{}`), nil
	}
	if raw[0] != '{' {
		return nil, badRequest("filter must be a JSON object")
	}
	if err := compileFilter(raw); err != nil {
		return nil, err
	}
	return raw, nil
}
