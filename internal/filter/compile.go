package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
)

// DefaultOrder is the order of a rule that gives none (as the original).
const DefaultOrder = 9999

// action is what a matching rule does.
type action int

const (
	actContinue action = iota // the default when "action" is missing
	actAccept
	actReject
)

// rule is one compiled rule.
type rule struct {
	id     string
	order  float64
	match  node
	action action
	reason string
}

// Filter is a compiled, validated filter. It is immutable and safe for
// concurrent use.
type Filter struct {
	name      string
	rules     []rule // sorted by order, stable
	isDefault bool
}

// Name returns the filter's "name" ("" when none).
func (f *Filter) Name() string { return f.name }

// IsDefault reports whether f is the default filter substituted for an
// empty one.
func (f *Filter) IsDefault() bool { return f.isDefault }

// Compile validates and compiles a subscription filter (spec §3.2).
//
// nil, empty input, JSON null and {} give the default filter (Default).
// Any other filter must be an object with a "rules" array and may have
// "name" and "description" strings; any other top-level key is an error.
// {"rules": []} is a valid filter that accepts everything (it disables the
// default media-type guard on purpose).
//
// Every rule needs a non-empty, unique "id" and a "match" condition;
// "order" (a number) defaults to DefaultOrder, "action" (accept, reject or
// continue) to continue, "reason" to the rule id. Conditions are objects
// with exactly one key (combine with all/any/not); a field object has
// exactly one operator; operands are type-checked; regexes and globs must
// compile. Every problem is an *Error whose Path points at it.
func Compile(raw json.RawMessage) (*Filter, error) {
	f, err := compileRaw(raw)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return Default(), nil
	}
	return f, nil
}

// compileRaw is Compile without the default: an empty filter returns nil.
func compileRaw(raw json.RawMessage) (*Filter, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &Error{Msg: "filter is not valid JSON: " + err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &Error{Msg: "filter has data after the JSON value"}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{Msg: "filter must be a JSON object, not " + typeName(v)}
	}
	if len(obj) == 0 {
		return nil, nil
	}
	for _, k := range sortedKeys(obj) {
		switch k {
		case "name", "description":
			if _, ok := obj[k].(string); !ok {
				return nil, &Error{Path: k, Msg: "must be a string, not " + typeName(obj[k])}
			}
		case "rules":
		default:
			return nil, &Error{Path: k, Msg: fmt.Sprintf("unknown key %q: a filter has name, description and rules (conditions go inside rules[].match)", k)}
		}
	}
	rv, ok := obj["rules"]
	if !ok {
		return nil, &Error{Path: "rules", Msg: "missing: a non-empty filter needs a \"rules\" array"}
	}
	items, ok := rv.([]any)
	if !ok {
		return nil, &Error{Path: "rules", Msg: "must be an array, not " + typeName(rv)}
	}
	f := &Filter{rules: make([]rule, 0, len(items))}
	f.name, _ = obj["name"].(string)
	ids := make(map[string]int, len(items))
	for i, it := range items {
		path := fmt.Sprintf("rules[%d]", i)
		r, err := compileRule(it, path)
		if err != nil {
			return nil, err
		}
		if prev, dup := ids[r.id]; dup {
			return nil, &Error{Path: path + ".id", Msg: fmt.Sprintf("duplicate rule id %q (also rules[%d])", r.id, prev)}
		}
		ids[r.id] = i
		f.rules = append(f.rules, r)
	}
	sort.SliceStable(f.rules, func(a, b int) bool { return f.rules[a].order < f.rules[b].order })
	return f, nil
}

func compileRule(v any, path string) (rule, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return rule{}, &Error{Path: path, Msg: "rule must be an object, not " + typeName(v)}
	}
	for _, k := range sortedKeys(obj) {
		switch k {
		case "id", "order", "match", "action", "reason":
		default:
			return rule{}, &Error{Path: path + "." + k, Msg: fmt.Sprintf("unknown rule key %q: a rule has id, order, match, action and reason", k)}
		}
	}
	r := rule{order: DefaultOrder, action: actContinue}
	id, ok := obj["id"].(string)
	if !ok || strings.TrimSpace(id) == "" {
		return rule{}, &Error{Path: path + ".id", Msg: "missing: every rule needs a non-empty string id"}
	}
	r.id = id
	if ov, ok := obj["order"]; ok {
		n, ok := ov.(json.Number)
		if !ok {
			return rule{}, &Error{Path: path + ".order", Msg: "must be a number, not " + typeName(ov)}
		}
		o, err := n.Float64()
		if err != nil || math.IsInf(o, 0) {
			return rule{}, &Error{Path: path + ".order", Msg: "must be a finite number"}
		}
		r.order = o
	}
	if av, ok := obj["action"]; ok {
		a, _ := av.(string)
		switch a {
		case "accept":
			r.action = actAccept
		case "reject":
			r.action = actReject
		case "continue":
			r.action = actContinue
		default:
			return rule{}, &Error{Path: path + ".action", Msg: fmt.Sprintf("unknown action %s: use accept, reject or continue", jsonText(av))}
		}
	}
	r.reason = id
	if rv, ok := obj["reason"]; ok {
		s, ok := rv.(string)
		if !ok {
			return rule{}, &Error{Path: path + ".reason", Msg: "must be a string, not " + typeName(rv)}
		}
		if s != "" {
			r.reason = s
		}
	}
	mv, ok := obj["match"]
	if !ok {
		return rule{}, &Error{Path: path + ".match", Msg: "missing: every rule needs a match condition (use {\"always\": true} to match everything)"}
	}
	n, err := compileCond(mv, path+".match")
	if err != nil {
		return rule{}, err
	}
	r.match = n
	return r, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// typeName names a decoded JSON value's type for error messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// jsonText renders a decoded value for error messages (clipped).
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:60]) + "..."
	}
	return string(b)
}
