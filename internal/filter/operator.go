package filter

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wmo-im/wis2downloader/internal/mediatype"
	"github.com/wmo-im/wis2downloader/internal/wis2"
)

// valueKind is the type values are compared as.
type valueKind uint8

const (
	kindString valueKind = iota
	kindInteger
	kindNumber
	kindBoolean
	kindDatetime
)

var kindNames = map[string]valueKind{
	"string":   kindString,
	"integer":  kindInteger,
	"number":   kindNumber,
	"boolean":  kindBoolean,
	"datetime": kindDatetime,
}

func (k valueKind) String() string {
	for n, v := range kindNames {
		if v == k {
			return n
		}
	}
	return "unknown"
}

// value is one comparable value of a kind.
type value struct {
	kind valueKind
	s    string
	i    int64
	f    float64
	b    bool
	t    time.Time
}

// opKind is an operator.
type opKind uint8

const (
	opEquals opKind = iota
	opNotEquals
	opIn
	opNotIn
	opPattern
	opRegex
	opGT
	opGTE
	opLT
	opLTE
	opBetween
	opExists
)

var operatorNames = map[string]opKind{
	"equals": opEquals, "not_equals": opNotEquals, "in": opIn, "not_in": opNotIn,
	"pattern": opPattern, "regex": opRegex, "gt": opGT, "gte": opGTE, "lt": opLT,
	"lte": opLTE, "between": opBetween, "exists": opExists,
}

const operatorList = "equals, not_equals, in, not_in, pattern, regex, gt, gte, lt, lte, between, exists"

// operator is a compiled operator with its operand(s).
type operator struct {
	kind    opKind
	vkind   valueKind
	operand value   // equals, not_equals, gt, gte, lt, lte; between: low bound
	hi      value   // between: high bound
	list    []value // in, not_in
	re      *regexp.Regexp
	exists  bool
}

// compileOperator checks and coerces an operand for values of kind vk.
func compileOperator(name string, operand any, vk valueKind, path string) (operator, error) {
	op := operator{kind: operatorNames[name], vkind: vk}
	switch op.kind {
	case opExists:
		b, ok := operand.(bool)
		if !ok {
			return op, &Error{Path: path, Msg: "exists needs true or false, not " + typeName(operand)}
		}
		op.exists = b
	case opEquals, opNotEquals:
		v, err := coerceOperand(operand, vk, path)
		if err != nil {
			return op, err
		}
		op.operand = v
	case opIn, opNotIn:
		items, ok := operand.([]any)
		if !ok {
			return op, &Error{Path: path, Msg: name + " needs an array of values, not " + typeName(operand)}
		}
		op.list = make([]value, len(items))
		for i, it := range items {
			v, err := coerceOperand(it, vk, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return op, err
			}
			op.list[i] = v
		}
	case opPattern, opRegex:
		if vk != kindString {
			return op, &Error{Path: path, Msg: fmt.Sprintf("%s works on strings, not on type %s", name, vk)}
		}
		s, ok := operand.(string)
		if !ok {
			return op, &Error{Path: path, Msg: name + " needs a string, not " + typeName(operand)}
		}
		var err error
		if op.kind == opPattern {
			op.re, err = compileGlob(s)
		} else {
			op.re, err = regexp.Compile(s)
		}
		if err != nil {
			return op, &Error{Path: path, Msg: fmt.Sprintf("invalid %s %q: %v", name, s, err)}
		}
	case opGT, opGTE, opLT, opLTE:
		if vk == kindBoolean {
			return op, &Error{Path: path, Msg: name + " cannot order booleans"}
		}
		v, err := coerceOperand(operand, vk, path)
		if err != nil {
			return op, err
		}
		op.operand = v
	case opBetween:
		if vk == kindBoolean {
			return op, &Error{Path: path, Msg: "between cannot order booleans"}
		}
		items, ok := operand.([]any)
		if !ok || len(items) != 2 {
			return op, &Error{Path: path, Msg: "between needs [low, high], not " + jsonText(operand)}
		}
		lo, err := coerceOperand(items[0], vk, path+"[0]")
		if err != nil {
			return op, err
		}
		hi, err := coerceOperand(items[1], vk, path+"[1]")
		if err != nil {
			return op, err
		}
		if compare(lo, hi) > 0 {
			return op, &Error{Path: path, Msg: fmt.Sprintf("between bounds are reversed: %s > %s", jsonText(items[0]), jsonText(items[1]))}
		}
		op.operand, op.hi = lo, hi
	}
	return op, nil
}

// normalizeMediaTypes normalises media-type operands so that
// application/x-bufr in a filter matches application/bufr data.
func (op *operator) normalizeMediaTypes() {
	switch op.kind {
	case opEquals, opNotEquals:
		op.operand.s = normalizeMediaType(op.operand.s)
	case opIn, opNotIn:
		for i := range op.list {
			op.list[i].s = normalizeMediaType(op.list[i].s)
		}
	}
}

func normalizeMediaType(s string) string {
	if n := mediatype.Normalize(s); n != "" {
		return n
	}
	return s
}

// unknown is the result for a value unknown at this stage: every operator
// is false except exists:false.
func (op *operator) unknown() bool {
	return op.kind == opExists && !op.exists
}

// apply evaluates the operator on a known value of the operator's kind.
func (op *operator) apply(v value) (bool, error) {
	switch op.kind {
	case opExists:
		return op.exists, nil
	case opEquals:
		return compare(v, op.operand) == 0, nil
	case opNotEquals:
		return compare(v, op.operand) != 0, nil
	case opIn, opNotIn:
		in := false
		for i := range op.list {
			if compare(v, op.list[i]) == 0 {
				in = true
				break
			}
		}
		return in == (op.kind == opIn), nil
	case opPattern, opRegex:
		return op.re.MatchString(v.s), nil
	case opGT:
		return compare(v, op.operand) > 0, nil
	case opGTE:
		return compare(v, op.operand) >= 0, nil
	case opLT:
		return compare(v, op.operand) < 0, nil
	case opLTE:
		return compare(v, op.operand) <= 0, nil
	case opBetween:
		return compare(v, op.operand) >= 0 && compare(v, op.hi) <= 0, nil
	}
	return false, fmt.Errorf("unknown operator %d", op.kind)
}

// compare orders two values of the same kind (booleans: 0 or 1 for
// equality only). NaN numbers compare unequal to everything.
func compare(a, b value) int {
	switch a.kind {
	case kindString:
		return strings.Compare(a.s, b.s)
	case kindInteger:
		return cmpOrdered(a.i, b.i)
	case kindNumber:
		if math.IsNaN(a.f) || math.IsNaN(b.f) {
			return 2 // never equal, never ordered
		}
		return cmpOrdered(a.f, b.f)
	case kindBoolean:
		if a.b == b.b {
			return 0
		}
		return 2
	case kindDatetime:
		return a.t.Compare(b.t)
	}
	return 2
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// coerceOperand converts a filter operand to kind vk; a wrong type is a
// compile error at path.
func coerceOperand(v any, vk valueKind, path string) (value, error) {
	switch vk {
	case kindString:
		s, ok := v.(string)
		if !ok {
			return value{}, &Error{Path: path, Msg: "needs a string, not " + typeName(v)}
		}
		return value{kind: kindString, s: s}, nil
	case kindBoolean:
		b, ok := v.(bool)
		if !ok {
			return value{}, &Error{Path: path, Msg: "type boolean needs true or false, not " + typeName(v)}
		}
		return value{kind: kindBoolean, b: b}, nil
	}
	if _, isBool := v.(bool); isBool {
		return value{}, &Error{Path: path, Msg: fmt.Sprintf("type %s cannot compare with a boolean operand", vk)}
	}
	out, err := coerce(v, vk)
	if err != nil {
		return value{}, &Error{Path: path, Msg: err.Error()}
	}
	return out, nil
}

var errNotScalar = errors.New("is an object or array")

// coerce converts a property value (as decoded by encoding/json, with or
// without UseNumber) to kind vk, as the original: integer = int(float(v))
// truncated, number = float, boolean = "true"/"1"/"yes" (any case) is true
// and everything else false, datetime = RFC 3339 / ISO 8601 (zone-less is
// UTC, a bare date is midnight UTC), string = the text (numbers in their
// shortest form, booleans as true/false).
func coerce(v any, vk valueKind) (value, error) {
	switch vk {
	case kindString:
		s, err := asString(v)
		return value{kind: kindString, s: s}, err
	case kindBoolean:
		s, err := asString(v)
		if err != nil {
			return value{kind: kindBoolean}, nil
		}
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1", "yes":
			return value{kind: kindBoolean, b: true}, nil
		}
		return value{kind: kindBoolean}, nil
	case kindInteger, kindNumber:
		f, err := asFloat(v)
		if err != nil {
			return value{}, err
		}
		if vk == kindNumber {
			return value{kind: kindNumber, f: f}, nil
		}
		t := math.Trunc(f)
		if math.IsNaN(t) || t < math.MinInt64 || t >= math.MaxInt64 {
			return value{}, fmt.Errorf("%v is out of the integer range", v)
		}
		return value{kind: kindInteger, i: int64(t)}, nil
	case kindDatetime:
		s, ok := v.(string)
		if !ok {
			return value{}, fmt.Errorf("datetime needs a string, not %s", typeName(v))
		}
		t, err := parseDatetime(s)
		return value{kind: kindDatetime, t: t}, err
	}
	return value{}, fmt.Errorf("unknown type %d", vk)
}

func asString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("%s %w", typeName(v), errNotScalar)
}

func asFloat(v any) (float64, error) {
	var f float64
	var err error
	switch x := v.(type) {
	case float64:
		f = x
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case json.Number:
		f, err = strconv.ParseFloat(string(x), 64)
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(x), 64)
	default:
		return 0, fmt.Errorf("%s is not a number", typeName(v))
	}
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", fmt.Sprint(v))
	}
	return f, nil
}

func parseDatetime(s string) (time.Time, error) {
	if t, err := wis2.ParseTime(s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, strings.TrimSpace(s)); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 datetime", s)
}
