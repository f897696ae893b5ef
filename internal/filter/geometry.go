package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/wmo-im/wis2downloader/internal/jsonscan"
)

type geomKind uint8

const (
	geomNone     geomKind = iota // null, absent or a type bbox does not test
	geomPoint                    // point = [lon, lat]
	geomPolygons                 // polygons: Polygon or MultiPolygon
)

// point is [lon, lat].
type point [2]float64

// polygon is a list of rings: the outer ring, then holes.
type polygon [][]point

type geometry struct {
	kind     geomKind
	point    point
	polygons []polygon
}

// decodeGeometry reads the GeoJSON geometry a bbox condition tests. Points
// (the common case) are read without allocating.
func decodeGeometry(raw json.RawMessage) (geometry, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return geometry{}, nil
	}
	typ, coords, err := geoJSONMembers(raw)
	if err != nil {
		return geometry{}, err
	}
	switch string(typ) {
	case `"Point"`:
		p, ok := parsePoint(coords)
		if !ok {
			return geometry{}, errors.New("geometry: Point needs [lon, lat]")
		}
		return geometry{kind: geomPoint, point: p}, nil
	case `"Polygon"`:
		var c [][][]float64
		if err := json.Unmarshal(coords, &c); err != nil {
			return geometry{}, fmt.Errorf("geometry: Polygon coordinates: %w", err)
		}
		p, err := toPolygon(c)
		if err != nil {
			return geometry{}, err
		}
		return geometry{kind: geomPolygons, polygons: []polygon{p}}, nil
	case `"MultiPolygon"`:
		var c [][][][]float64
		if err := json.Unmarshal(coords, &c); err != nil {
			return geometry{}, fmt.Errorf("geometry: MultiPolygon coordinates: %w", err)
		}
		g := geometry{kind: geomPolygons, polygons: make([]polygon, 0, len(c))}
		for _, pc := range c {
			p, err := toPolygon(pc)
			if err != nil {
				return geometry{}, err
			}
			g.polygons = append(g.polygons, p)
		}
		return g, nil
	}
	return geometry{}, nil
}

// geoJSONMembers returns the raw "type" and "coordinates" members of a
// GeoJSON object (the last of each, as encoding/json would). Keys are
// compared as written (GeoJSON keys carry no escapes).
func geoJSONMembers(raw []byte) (typ, coords []byte, err error) {
	if !json.Valid(raw) {
		return nil, nil, errors.New("geometry: invalid JSON")
	}
	obj, ok := jsonscan.NewObject(raw)
	if !ok {
		return nil, nil, errors.New("geometry: not a JSON object")
	}
	for key, value, ok := obj.Next(); ok; key, value, ok = obj.Next() {
		switch string(key) {
		case `"type"`:
			typ = value
		case `"coordinates"`:
			coords = value
		}
	}
	return typ, coords, nil
}

// parsePoint reads [lon, lat, ...] from valid JSON.
func parsePoint(b []byte) (point, bool) {
	var p point
	if len(b) == 0 || b[0] != '[' {
		return p, false
	}
	arr, _ := jsonscan.NewArray(b)
	n := 0
	for v, ok := arr.Next(); ok; v, ok = arr.Next() {
		if n < 2 {
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil {
				return p, false
			}
			p[n] = f
		}
		n++
	}
	return p, n >= 2
}

func toPolygon(c [][][]float64) (polygon, error) {
	p := make(polygon, len(c))
	for i, ring := range c {
		p[i] = make([]point, len(ring))
		for j, pt := range ring {
			if len(pt) < 2 {
				return nil, errors.New("geometry: polygon position needs [lon, lat]")
			}
			p[i][j] = point{pt[0], pt[1]}
		}
	}
	return p, nil
}

// rect is an axis-aligned box: minLon, minLat, maxLon, maxLat.
type rect struct{ x0, y0, x1, y1 float64 }

func (r rect) contains(p point) bool {
	return p[0] >= r.x0 && p[0] <= r.x1 && p[1] >= r.y0 && p[1] <= r.y1
}

// intersects reports whether the polygon (with holes) and the rectangle
// share at least one point: a polygon vertex in the rectangle, an edge
// crossing a rectangle edge, or the rectangle inside the polygon's area.
func (r rect) intersects(p polygon) bool {
	if len(p) == 0 || len(p[0]) == 0 {
		return false
	}
	corners := [4]point{{r.x0, r.y0}, {r.x1, r.y0}, {r.x1, r.y1}, {r.x0, r.y1}}
	for _, ring := range p {
		for i, v := range ring {
			if r.contains(v) {
				return true
			}
			w := ring[(i+1)%len(ring)]
			for k := range corners {
				if segmentsIntersect(v, w, corners[k], corners[(k+1)%4]) {
					return true
				}
			}
		}
	}
	// No boundary contact: the rectangle is wholly inside or outside the
	// area; test its centre.
	c := point{(r.x0 + r.x1) / 2, (r.y0 + r.y1) / 2}
	if !inRing(c, p[0]) {
		return false
	}
	for _, hole := range p[1:] {
		if inRing(c, hole) {
			return false
		}
	}
	return true
}

// inRing is the even-odd ray-casting test (closing edge implied).
func inRing(pt point, ring []point) bool {
	in := false
	for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
		a, b := ring[i], ring[j]
		if (a[1] > pt[1]) != (b[1] > pt[1]) &&
			pt[0] < (b[0]-a[0])*(pt[1]-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

func orient(a, b, c point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

func onSegment(a, b, p point) bool {
	return min(a[0], b[0]) <= p[0] && p[0] <= max(a[0], b[0]) &&
		min(a[1], b[1]) <= p[1] && p[1] <= max(a[1], b[1])
}

// segmentsIntersect reports whether segments ab and cd share a point.
func segmentsIntersect(a, b, c, d point) bool {
	d1, d2 := orient(c, d, a), orient(c, d, b)
	d3, d4 := orient(a, b, c), orient(a, b, d)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return (d1 == 0 && onSegment(c, d, a)) || (d2 == 0 && onSegment(c, d, b)) ||
		(d3 == 0 && onSegment(a, b, c)) || (d4 == 0 && onSegment(a, b, d))
}
