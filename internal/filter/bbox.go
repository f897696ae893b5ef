package filter

import (
	"encoding/json"
	"fmt"
	"math"
)

// bbox is a compiled {"bbox": {north, south, east, west}} in degrees
// (WGS 84, longitude east). west > east is a box crossing the antimeridian.
type bbox struct {
	north, south, east, west float64
}

func compileBBox(v any, path string) (*bbox, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{Path: path, Msg: "must be an object with north, south, east and west, not " + typeName(v)}
	}
	for _, k := range sortedKeys(obj) {
		switch k {
		case "north", "south", "east", "west":
		default:
			return nil, &Error{Path: path + "." + k, Msg: fmt.Sprintf("unknown bbox key %q: use north, south, east and west", k)}
		}
	}
	var vals [4]float64
	for i, k := range []string{"north", "south", "east", "west"} {
		raw, ok := obj[k]
		if !ok {
			return nil, &Error{Path: path + "." + k, Msg: "missing: a bbox needs north, south, east and west"}
		}
		n, ok := raw.(json.Number)
		if !ok {
			return nil, &Error{Path: path + "." + k, Msg: "must be a number of degrees, not " + typeName(raw)}
		}
		f, err := n.Float64()
		limit := 180.0
		if i < 2 {
			limit = 90
		}
		if err != nil || math.IsNaN(f) || f < -limit || f > limit {
			return nil, &Error{Path: path + "." + k, Msg: fmt.Sprintf("%s is outside -%g..%g degrees", n, limit, limit)}
		}
		vals[i] = f
	}
	b := &bbox{north: vals[0], south: vals[1], east: vals[2], west: vals[3]}
	if b.south > b.north {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("south (%g) is north of north (%g)", b.south, b.north)}
	}
	return b, nil
}

// eval: geometry null or absent → true (the original's pass-through);
// Point → strictly inside; Polygon and MultiPolygon → intersects the box
// (touching counts); other geometry types → true; malformed → error.
func (b *bbox) eval(c *evalCtx) (bool, error) {
	g, err := c.geometryOf()
	if err != nil {
		return false, fmt.Errorf("bbox: %w", err)
	}
	switch g.kind {
	case geomPoint:
		lon, lat := g.point[0], g.point[1]
		if !(lat > b.south && lat < b.north) {
			return false, nil
		}
		if b.west <= b.east {
			return lon > b.west && lon < b.east, nil
		}
		return lon > b.west || lon < b.east, nil
	case geomPolygons:
		for _, r := range b.rects() {
			for _, poly := range g.polygons {
				if r.intersects(poly) {
					return true, nil
				}
			}
		}
		return false, nil
	}
	return true, nil
}

// rects splits the box at the antimeridian when it crosses it.
func (b *bbox) rects() []rect {
	if b.west <= b.east {
		return []rect{{b.west, b.south, b.east, b.north}}
	}
	return []rect{{b.west, b.south, 180, b.north}, {-180, b.south, b.east, b.north}}
}
