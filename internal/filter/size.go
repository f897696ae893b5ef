package filter

import (
	"encoding/json"
	"fmt"
	"strings"
)

var sizeOperators = map[string]opKind{
	"gt_bytes": opGT, "gte_bytes": opGTE, "lt_bytes": opLT, "lte_bytes": opLTE,
	"between_bytes": opBetween, "exists": opExists,
}

const sizeOperatorList = "gt_bytes, gte_bytes, lt_bytes, lte_bytes, between_bytes, exists"

// compileSize compiles {"size": {<op>: operand}}: byte counts are
// non-negative integers.
func compileSize(v any, path string) (operator, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return operator{}, &Error{Path: path, Msg: "must be an object with one of " + sizeOperatorList + ", not " + typeName(v)}
	}
	keys := sortedKeys(obj)
	for _, k := range keys {
		if _, ok := sizeOperators[k]; !ok {
			return operator{}, &Error{Path: path + "." + k, Msg: fmt.Sprintf("unknown size operator %q: use one of %s", k, sizeOperatorList)}
		}
	}
	switch len(keys) {
	case 0:
		return operator{}, &Error{Path: path, Msg: "needs one of " + sizeOperatorList}
	case 1:
	default:
		return operator{}, &Error{Path: path, Msg: fmt.Sprintf("several size operators (%s); use one per condition and combine with \"all\"", strings.Join(keys, ", "))}
	}
	name := keys[0]
	operand := obj[name]
	sub := path + "." + name
	op := operator{kind: sizeOperators[name], vkind: kindInteger}
	switch op.kind {
	case opExists:
		b, ok := operand.(bool)
		if !ok {
			return op, &Error{Path: sub, Msg: "exists needs true or false, not " + typeName(operand)}
		}
		op.exists = b
	case opBetween:
		items, ok := operand.([]any)
		if !ok || len(items) != 2 {
			return op, &Error{Path: sub, Msg: "between_bytes needs [low, high], not " + jsonText(operand)}
		}
		lo, err := byteCount(items[0], sub+"[0]")
		if err != nil {
			return op, err
		}
		hi, err := byteCount(items[1], sub+"[1]")
		if err != nil {
			return op, err
		}
		if lo > hi {
			return op, &Error{Path: sub, Msg: fmt.Sprintf("between_bytes bounds are reversed: %d > %d", lo, hi)}
		}
		op.operand = value{kind: kindInteger, i: lo}
		op.hi = value{kind: kindInteger, i: hi}
	default:
		n, err := byteCount(operand, sub)
		if err != nil {
			return op, err
		}
		op.operand = value{kind: kindInteger, i: n}
	}
	return op, nil
}

func byteCount(v any, path string) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, &Error{Path: path, Msg: "needs a byte count (a non-negative integer), not " + typeName(v)}
	}
	i, err := n.Int64()
	if err != nil || i < 0 {
		return 0, &Error{Path: path, Msg: fmt.Sprintf("needs a byte count (a non-negative integer), not %s", n)}
	}
	return i, nil
}
