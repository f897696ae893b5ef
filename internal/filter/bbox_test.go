package filter

import (
	"encoding/json"
	"testing"
)

func TestBBox(t *testing.T) {
	europe := `{"bbox":{"north":60,"south":40,"east":20,"west":0}}`
	pacific := `{"bbox":{"north":10,"south":-10,"east":-170,"west":170}}` // crosses the antimeridian
	tests := []struct {
		name, cond, geom string
		want             bool
	}{
		{"null geometry passes", europe, `null`, true},
		{"absent geometry passes", europe, ``, true},
		{"point inside", europe, `{"type":"Point","coordinates":[10,50]}`, true},
		{"point with height inside", europe, `{"type":"Point","coordinates":[10,50,2314]}`, true},
		{"point outside", europe, `{"type":"Point","coordinates":[-10,50]}`, false},
		{"point on the edge is not strictly inside", europe, `{"type":"Point","coordinates":[0,50]}`, false},
		{"point on the north edge", europe, `{"type":"Point","coordinates":[10,60]}`, false},
		{"polygon vertex inside", europe, `{"type":"Polygon","coordinates":[[[10,50],[30,50],[30,70],[10,50]]]}`, true},
		{"polygon crossing without vertex inside", europe, `{"type":"Polygon","coordinates":[[[-10,45],[30,45],[30,55],[-10,55],[-10,45]]]}`, true},
		{"polygon containing the box", europe, `{"type":"Polygon","coordinates":[[[-50,0],[80,0],[80,80],[-50,80],[-50,0]]]}`, true},
		{"polygon outside", europe, `{"type":"Polygon","coordinates":[[[100,0],[110,0],[110,10],[100,0]]]}`, false},
		{"polygon touching an edge", europe, `{"type":"Polygon","coordinates":[[[20,30],[30,30],[30,50],[20,50],[20,30]]]}`, true},
		{"box in the polygon's hole", europe, `{"type":"Polygon","coordinates":[[[-50,0],[80,0],[80,80],[-50,80],[-50,0]],[[-10,30],[30,30],[30,70],[-10,70],[-10,30]]]}`, false},
		{"hole smaller than the box", europe, `{"type":"Polygon","coordinates":[[[-50,0],[80,0],[80,80],[-50,80],[-50,0]],[[5,45],[15,45],[15,55],[5,55],[5,45]]]}`, true},
		{"L-shaped polygon around the box", europe, `{"type":"Polygon","coordinates":[[[-10,30],[30,30],[30,35],[-5,35],[-5,70],[-10,70],[-10,30]]]}`, false},
		{"example2 polygon", europe, `{"type":"Polygon","coordinates":[[[-7.75,40.43],[-7.75,78.46],[71.91,78.46],[71.91,40.43],[-7.75,40.43]]]}`, true},
		{"multipolygon one part inside", europe, `{"type":"MultiPolygon","coordinates":[[[[100,0],[110,0],[110,10],[100,0]]],[[[5,45],[6,45],[6,46],[5,45]]]]}`, true},
		{"multipolygon all outside", europe, `{"type":"MultiPolygon","coordinates":[[[[100,0],[110,0],[110,10],[100,0]]]]}`, false},
		{"empty polygon", europe, `{"type":"Polygon","coordinates":[]}`, false},
		{"line string passes", europe, `{"type":"LineString","coordinates":[[100,0],[110,0]]}`, true},
		{"collection passes", europe, `{"type":"GeometryCollection","geometries":[]}`, true},
		{"antimeridian point east", pacific, `{"type":"Point","coordinates":[175,0]}`, true},
		{"antimeridian point west", pacific, `{"type":"Point","coordinates":[-175,0]}`, true},
		{"antimeridian point outside", pacific, `{"type":"Point","coordinates":[0,0]}`, false},
		{"antimeridian polygon", pacific, `{"type":"Polygon","coordinates":[[[-178,-1],[-176,-1],[-176,1],[-178,-1]]]}`, true},
		{"antimeridian polygon outside", pacific, `{"type":"Polygon","coordinates":[[[0,-1],[2,-1],[2,1],[0,-1]]]}`, false},
	}
	for _, tc := range tests {
		in := post()
		in.Geometry = json.RawMessage(tc.geom)
		if got := matches(t, tc.cond, in); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "a/b/c", true},
		{"a*c", "a/b/c", true},
		{"a?c", "abc", true},
		{"a?c", "a/c", true},
		{"a?c", "ac", false},
		{"a?c", "aéc", true}, // one character, not one byte
		{"é*", "éa", true},
		{"[abc]", "b", true},
		{"[!abc]", "b", false},
		{"[!abc]", "d", true},
		{"[a-c]x", "bx", true},
		{"[]]", "]", true},
		{"[!]]", "a", true},
		{"[a-]", "-", true},
		{"[\\]", "\\", true},
		{"[^]", "^", true},
		{"a.b", "a.b", true},
		{"a.b", "axb", false},
		{"(x)+$", "(x)+$", true},
		{"A*", "a", false}, // case-sensitive
		{"*.bufr4", "x.bufr4\n", false},
		{"*\n", "x\n", true},
		{"**", "abc", true},
	}
	for _, tc := range tests {
		re, err := compileGlob(tc.pattern)
		if err != nil {
			t.Errorf("compileGlob(%q): %v", tc.pattern, err)
			continue
		}
		if got := re.MatchString(tc.s); got != tc.want {
			t.Errorf("glob %q on %q = %v (regexp %s)", tc.pattern, tc.s, got, re)
		}
	}
	for _, bad := range []string{"[", "a[b", "[!", "[]", "[z-a]"} {
		if _, err := compileGlob(bad); err == nil {
			t.Errorf("compileGlob(%q) accepted", bad)
		}
	}
}
