package filter

import (
	"encoding/json"
	"fmt"
	"strings"
)

// nodeKind is the kind of a compiled condition.
type nodeKind uint8

const (
	nodeAlways nodeKind = iota
	nodeAll
	nodeAny
	nodeNot
	nodeSize
	nodeBBox
	nodeProperty
	nodeField
)

// field is a first-class notification field a condition can test.
type field uint8

const (
	fieldMediaType field = iota
	fieldCentreID
	fieldDataID
	fieldMetadataID
	fieldTopic
	fieldHref
)

var fieldNames = map[string]field{
	"media_type":  fieldMediaType,
	"centre_id":   fieldCentreID,
	"data_id":     fieldDataID,
	"metadata_id": fieldMetadataID,
	"topic":       fieldTopic,
	"href":        fieldHref,
}

// condKeys lists the condition keys for error messages.
const condKeys = "always, all, any, not, size, bbox, property, media_type, centre_id, data_id, metadata_id, topic, href"

// node is a compiled condition.
type node struct {
	kind     nodeKind
	always   bool
	children []node // all, any: the conditions; not: one
	field    field
	property string
	op       operator // size, property, field
	box      *bbox
}

// compileCond compiles one condition object found at path.
func compileCond(v any, path string) (node, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return node{}, &Error{Path: path, Msg: "condition must be an object, not " + typeName(v)}
	}
	if _, ok := obj["property"]; ok {
		return compileProperty(obj, path)
	}
	switch len(obj) {
	case 0:
		return node{}, &Error{Path: path, Msg: "empty condition: use one of " + condKeys}
	case 1:
	default:
		return node{}, &Error{Path: path, Msg: fmt.Sprintf("condition has several keys (%s); a condition has exactly one, combine several with \"all\" or \"any\"", strings.Join(sortedKeys(obj), ", "))}
	}
	var key string
	var val any
	for key, val = range obj {
	}
	sub := path + "." + key
	switch key {
	case "always":
		b, ok := val.(bool)
		if !ok {
			return node{}, &Error{Path: sub, Msg: "must be true or false, not " + typeName(val)}
		}
		return node{kind: nodeAlways, always: b}, nil
	case "all", "any":
		items, ok := val.([]any)
		if !ok {
			return node{}, &Error{Path: sub, Msg: "must be an array of conditions, not " + typeName(val)}
		}
		n := node{kind: nodeAll, children: make([]node, len(items))}
		if key == "any" {
			n.kind = nodeAny
		}
		for i, it := range items {
			c, err := compileCond(it, fmt.Sprintf("%s[%d]", sub, i))
			if err != nil {
				return node{}, err
			}
			n.children[i] = c
		}
		return n, nil
	case "not":
		c, err := compileCond(val, sub)
		if err != nil {
			return node{}, err
		}
		return node{kind: nodeNot, children: []node{c}}, nil
	case "size":
		op, err := compileSize(val, sub)
		if err != nil {
			return node{}, err
		}
		return node{kind: nodeSize, op: op}, nil
	case "bbox":
		b, err := compileBBox(val, sub)
		if err != nil {
			return node{}, err
		}
		return node{kind: nodeBBox, box: b}, nil
	}
	f, ok := fieldNames[key]
	if !ok {
		return node{}, &Error{Path: sub, Msg: fmt.Sprintf("unknown condition key %q: use one of %s", key, condKeys)}
	}
	opObj, ok := val.(map[string]any)
	if !ok {
		return node{}, &Error{Path: sub, Msg: fmt.Sprintf("must be an object with one operator (e.g. {\"equals\": ...}), not %s", typeName(val))}
	}
	opName, operand, err := singleOperator(opObj, sub, nil)
	if err != nil {
		return node{}, err
	}
	op, err := compileOperator(opName, operand, kindString, sub+"."+opName)
	if err != nil {
		return node{}, err
	}
	if f == fieldMediaType {
		op.normalizeMediaTypes()
	}
	return node{kind: nodeField, field: f, op: op}, nil
}

// singleOperator returns the one operator key of obj; keys in extra are
// skipped (the property condition's "property" and "type").
func singleOperator(obj map[string]any, path string, extra []string) (string, any, error) {
	var found []string
	for _, k := range sortedKeys(obj) {
		if isExtra(k, extra) {
			continue
		}
		if _, ok := operatorNames[k]; !ok {
			return "", nil, &Error{Path: path + "." + k, Msg: fmt.Sprintf("unknown operator %q: use one of %s", k, operatorList)}
		}
		found = append(found, k)
	}
	switch len(found) {
	case 0:
		return "", nil, &Error{Path: path, Msg: "needs one operator: " + operatorList}
	case 1:
		return found[0], obj[found[0]], nil
	}
	return "", nil, &Error{Path: path, Msg: fmt.Sprintf("several operators (%s); use one per condition and combine conditions with \"all\"", strings.Join(found, ", "))}
}

func isExtra(k string, extra []string) bool {
	for _, e := range extra {
		if k == e {
			return true
		}
	}
	return false
}

func compileProperty(obj map[string]any, path string) (node, error) {
	name, ok := obj["property"].(string)
	if !ok || name == "" {
		return node{}, &Error{Path: path + ".property", Msg: "must be a non-empty property name"}
	}
	kind := kindString
	if tv, ok := obj["type"]; ok {
		ts, _ := tv.(string)
		k, ok := kindNames[ts]
		if !ok {
			return node{}, &Error{Path: path + ".type", Msg: fmt.Sprintf("unknown property type %s: use string, integer, number, boolean or datetime", jsonText(tv))}
		}
		kind = k
	}
	opName, operand, err := singleOperator(obj, path, []string{"property", "type"})
	if err != nil {
		return node{}, err
	}
	op, err := compileOperator(opName, operand, kind, path+"."+opName)
	if err != nil {
		return node{}, err
	}
	return node{kind: nodeProperty, property: name, op: op}, nil
}

// evalCtx is the state of one Evaluate call: the input and the geometry,
// decoded at most once.
type evalCtx struct {
	in       Input
	geomDone bool
	geom     geometry
	geomErr  error
}

func (n *node) eval(c *evalCtx) (bool, error) {
	switch n.kind {
	case nodeAlways:
		return n.always, nil
	case nodeAll:
		for i := range n.children {
			ok, err := n.children[i].eval(c)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case nodeAny:
		for i := range n.children {
			ok, err := n.children[i].eval(c)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case nodeNot:
		ok, err := n.children[0].eval(c)
		return !ok && err == nil, err
	case nodeSize:
		if c.in.Size < 0 {
			return n.op.unknown(), nil
		}
		return n.op.apply(value{kind: kindInteger, i: c.in.Size})
	case nodeBBox:
		return n.box.eval(c)
	case nodeProperty:
		raw, ok := c.in.Properties[n.property]
		if !ok || raw == nil {
			return n.op.unknown(), nil
		}
		if n.op.kind == opExists {
			return n.op.exists, nil
		}
		v, err := coerce(raw, n.op.vkind)
		if err != nil {
			return false, fmt.Errorf("property %q: %w", n.property, err)
		}
		return n.op.apply(v)
	case nodeField:
		s := c.in.fieldValue(n.field)
		if s == "" {
			return n.op.unknown(), nil
		}
		return n.op.apply(value{kind: kindString, s: s})
	}
	return false, fmt.Errorf("unknown condition kind %d", n.kind)
}

func (in *Input) fieldValue(f field) string {
	switch f {
	case fieldMediaType:
		return normalizeMediaType(in.MediaType)
	case fieldCentreID:
		return in.CentreID
	case fieldDataID:
		return in.DataID
	case fieldMetadataID:
		return in.MetadataID
	case fieldTopic:
		return in.Topic
	case fieldHref:
		return in.Href
	}
	return ""
}

// geometryOf decodes the input's geometry once per evaluation.
func (c *evalCtx) geometryOf() (*geometry, error) {
	if !c.geomDone {
		c.geomDone = true
		c.geom, c.geomErr = decodeGeometry(json.RawMessage(c.in.Geometry))
	}
	return &c.geom, c.geomErr
}
