package topic

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"a/b/c", "a/b/c", true},
		{"a/b/c", "a/b", false},
		{"a/b", "a/b/c", false},
		{"a/b/c", "a/b/d", false},
		{"A/b", "a/b", false}, // case-sensitive
		// Topics starting with "$" are not matched by a leading wildcard.
		{"#", "$SYS/broker/load", false},
		{"+/broker/load", "$SYS/broker/load", false},
		{"$SYS/#", "$SYS/broker/load", true},
		{"$share/g/+", "$share/g/x", true},
		// "+" is exactly one level.
		{"a/+/c", "a/b/c", true},
		{"a/+/c", "a/b/x/c", false},
		{"a/+/c", "a/c", false},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/+", "a", false},
		{"a/+", "a/", true}, // "+" matches an empty level
		{"+", "a", true},
		{"+", "a/b", false},
		{"+/+", "a/b", true},
		{"+/b/+", "a/b/c", true},
		// "#" is the rest, including the parent level itself.
		{"#", "a", true},
		{"#", "a/b/c", true},
		{"a/#", "a", true},
		{"a/#", "a/b", true},
		{"a/#", "a/b/c/d", true},
		{"a/#", "b/a", false},
		{"a/b/#", "a", false},
		{"a/+/#", "a/b", true},
		{"a/+/#", "a", false},
		{"+/#", "a", true},
		// WIS2 topics.
		{"cache/a/wis2/+/data/core/weather/surface-based-observations/synop", "cache/a/wis2/de-dwd/data/core/weather/surface-based-observations/synop", true},
		{"cache/a/wis2/+/data/core/weather/surface-based-observations/synop", "cache/a/wis2/de-dwd/data/core/weather/surface-based-observations/synop/extra", false},
		{"cache/a/wis2/+/data/core/#", "cache/a/wis2/jp-jma/data/core/weather/prediction/forecast/medium-range/deterministic/global", true},
		{"cache/a/wis2/+/data/core/#", "cache/a/wis2/jp-jma/data/recommended/weather", false},
		{"cache/a/wis2/+/data/core/#", "cache/a/wis2/jp-jma/data/core", true},
		{"origin/a/wis2/+/data/recommended/#", "origin/a/wis2/de-dwd-gts-to-wis2/data/recommended/U/A/N/T/99/KDDL", true},
		{"origin/a/wis2/de-dwd-gts-to-wis2/data/core/I/S/+/I/01/sbbr", "origin/a/wis2/de-dwd-gts-to-wis2/data/core/I/S/A/I/01/sbbr", true},
		{"cache/a/wis2/+/metadata/#", "cache/a/wis2/ca-eccc-msc/metadata", true},
		{"cache/a/wis2/+/metadata/#", "origin/a/wis2/ca-eccc-msc/metadata", false},
		// The original's W-3: "+" must not span several levels.
		{"cache/a/wis2/+/data/core/weather/synop", "cache/a/wis2/de-dwd/x/data/core/weather/synop", false},
	}
	for _, tc := range tests {
		if got := Match(tc.filter, tc.topic); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.filter, tc.topic, got, tc.want)
		}
	}
}

func TestValidateFilter(t *testing.T) {
	valid := []string{
		"a", "a/b", "#", "+", "+/+", "a/#", "a/+/c", "+/#",
		"cache/a/wis2/+/data/core/#",
		"origin/a/wis2/de-dwd-gts-to-wis2/data/core/I/S/A/I/01/sbbr",
		"cache/a/wis2/+/data/core/weather/surface-based-observations/synop",
		"données/météo", // UTF-8 levels
		strings.Repeat("a", MaxLength),
	}
	for _, f := range valid {
		if err := ValidateFilter(f); err != nil {
			t.Errorf("ValidateFilter(%q) = %v", f, err)
		}
	}
	invalid := map[string]string{
		"":                               "empty",
		"a/\xff":                         "UTF-8",
		"a/#/b":                          "last level",
		"#/a":                            "last level",
		"a#":                             "stand alone",
		"a/b#":                           "stand alone",
		"a/+b":                           "stand alone",
		"a/b+/c":                         "stand alone",
		"##":                             "stand alone",
		"a//b":                           "empty",
		"/a":                             "empty",
		"a/":                             "empty",
		"a/\x00":                         "NUL",
		strings.Repeat("a", MaxLength+1): "longer",
	}
	for f, msg := range invalid {
		err := ValidateFilter(f)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ValidateFilter(%.40q) = %v, want error containing %q", f, err, msg)
		}
	}
}

// matchOracle is Match written the obvious way, for the fuzz property.
func matchOracle(f, t string) bool {
	if strings.HasPrefix(t, "$") && (strings.HasPrefix(f, "+") || strings.HasPrefix(f, "#")) {
		return false // MQTT 4.7.2: wildcards do not match $-topics at the first level
	}
	fl, tl := strings.Split(f, "/"), strings.Split(t, "/")
	for i, l := range fl {
		if l == "#" {
			return true // "a/#" also matches "a" (i == len(tl))
		}
		if i >= len(tl) {
			return false
		}
		if l != "+" && l != tl[i] {
			return false
		}
	}
	return len(fl) == len(tl)
}

func FuzzMatch(f *testing.F) {
	seeds := [][2]string{
		{"cache/a/wis2/+/data/core/#", "cache/a/wis2/de-dwd/data/core/weather"},
		{"a/#", "a"},
		{"a/+", "a/"},
		{"+/+", "a/b"},
		{"#", ""},
		{"", ""},
		{"a//b", "a//b"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, filter, name string) {
		got := Match(filter, name) // must not panic on any input
		if ValidateFilter(filter) == nil && !strings.ContainsAny(name, "+#") {
			if want := matchOracle(filter, name); got != want {
				t.Fatalf("Match(%q, %q) = %v, oracle %v", filter, name, got, want)
			}
		}
		// A valid topic name (a filter without wildcards) matches itself,
		// "#", and itself with any level replaced by "+" or the tail by "#".
		if ValidateFilter(name) != nil || strings.ContainsAny(name, "+#") {
			return
		}
		if !Match(name, name) {
			t.Fatalf("Match(t, t) false for %q", name)
		}
		if !Match("#", name) && !strings.HasPrefix(name, "$") {
			t.Fatalf("# does not match %q", name)
		}
		levels := strings.Split(name, "/")
		for i := range levels {
			if i == 0 && strings.HasPrefix(name, "$") {
				continue
			}
			plus := append(append(append([]string{}, levels[:i]...), "+"), levels[i+1:]...)
			if !Match(strings.Join(plus, "/"), name) {
				t.Fatalf("%q does not match %q", strings.Join(plus, "/"), name)
			}
			hash := append(append([]string{}, levels[:i]...), "#")
			if !Match(strings.Join(hash, "/"), name) {
				t.Fatalf("%q does not match %q", strings.Join(hash, "/"), name)
			}
		}
		if Match(name+"/x", name) || Match(name, name+"/x") {
			t.Fatalf("different depth matches for %q", name)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	f := "cache/a/wis2/+/data/core/weather/surface-based-observations/#"
	name := "cache/a/wis2/de-dwd/data/core/weather/surface-based-observations/synop"
	b.ReportAllocs()
	for b.Loop() {
		if !Match(f, name) {
			b.Fatal("no match")
		}
	}
}
