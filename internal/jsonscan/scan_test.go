package jsonscan

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestKind(t *testing.T) {
	for in, want := range map[string]byte{
		``:           0,
		" \t\r\n":    0,
		` {"a":1}`:   '{',
		"\n[1]":      '[',
		`"x"`:        '"',
		`null`:       'n',
		`  -1.5e3  `: '-',
	} {
		if got := Kind([]byte(in)); got != want {
			t.Errorf("Kind(%q) = %q, want %q", in, got, want)
		}
	}
}

func members(t *testing.T, in string) []string {
	t.Helper()
	if !json.Valid([]byte(in)) {
		t.Fatalf("test input %q is not valid JSON", in)
	}
	o, ok := NewObject([]byte(in))
	if !ok {
		return nil
	}
	got := []string{}
	for k, v, ok := o.Next(); ok; k, v, ok = o.Next() {
		got = append(got, string(k)+"="+string(v))
	}
	if _, _, ok := o.Next(); ok {
		t.Errorf("%q: Next after the end reported a member", in)
	}
	return got
}

func TestObject(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`{}`, []string{}},
		{` { } `, []string{}},
		{`{"a":1}`, []string{`"a"=1`}},
		{"{ \"a\" :\t1 ,\n\"b\":true,\"c\":null }", []string{`"a"=1`, `"b"=true`, `"c"=null`}},
		{`{"s":"x,}]\"y\\","n":-1.5e+3}`, []string{`"s"="x,}]\"y\\"`, `"n"=-1.5e+3`}},
		{`{"k\"ey":{"in":[1,{"x":"]}"}]},"z":[]}`, []string{`"k\"ey"={"in":[1,{"x":"]}"}]}`, `"z"=[]`}},
		{`{"a":1,"a":2}`, []string{`"a"=1`, `"a"=2`}},
		{`[1]`, nil},
		{`"{}"`, nil},
		{`null`, nil},
	} {
		if got := members(t, tc.in); !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("members(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestArray(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`[]`, []string{}},
		{`[ 1 , "a" ,[2,[3]], {"b":"]"} ,null]`, []string{`1`, `"a"`, `[2,[3]]`, `{"b":"]"}`, `null`}},
		{"\n[1e5]\n", []string{`1e5`}},
		{`{}`, nil},
		{``, nil},
	} {
		a, ok := NewArray([]byte(tc.in))
		if ok != (tc.want != nil) {
			t.Errorf("NewArray(%q) ok = %v", tc.in, ok)
			continue
		}
		if !ok {
			continue
		}
		got := []string{}
		for v, ok := a.Next(); ok; v, ok = a.Next() {
			got = append(got, string(v))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("elements(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestZeroIterators(t *testing.T) {
	var o Object
	if _, _, ok := o.Next(); ok {
		t.Error("zero Object reported a member")
	}
	var a Array
	if _, ok := a.Next(); ok {
		t.Error("zero Array reported an element")
	}
}

// FuzzObject checks that the members found agree with encoding/json on
// every valid object: same keys and values, in order.
func FuzzObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":"\"}"}],"c":"\u00e9"}`, ` {"x" : -0.5e-3 , "y":null} `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		var want map[string]json.RawMessage
		isObj := json.Unmarshal(b, &want) == nil && Kind(b) == '{'
		o, ok := NewObject(b)
		if ok != isObj {
			t.Fatalf("NewObject(%q) ok = %v, want %v", b, ok, isObj)
		}
		if !ok {
			return
		}
		got := map[string]json.RawMessage{}
		for k, v, ok := o.Next(); ok; k, v, ok = o.Next() {
			var key string
			if err := json.Unmarshal(k, &key); err != nil {
				t.Fatalf("key %q: %v", k, err)
			}
			if !json.Valid(v) {
				t.Fatalf("value %q of %q is not valid JSON", v, key)
			}
			got[key] = v
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d members, encoding/json finds %d", b, len(got), len(want))
		}
		for k, v := range want {
			if string(got[k]) != string(v) {
				t.Fatalf("%q: member %q = %q, encoding/json has %q", b, k, got[k], v)
			}
		}
	})
}
