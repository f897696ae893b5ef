// Package topic implements MQTT topic-filter validation and matching with the
// real wildcard semantics: "+" is exactly one level, "#" the rest (last level
// only, and it also matches the parent level itself).
package topic

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLength is the longest topic filter accepted.
const MaxLength = 1024

// ValidateFilter checks that f is a valid MQTT topic filter.
func ValidateFilter(f string) error {
	if f == "" {
		return errors.New("topic is empty")
	}
	if len(f) > MaxLength {
		return fmt.Errorf("topic is longer than %d bytes", MaxLength)
	}
	if strings.ContainsRune(f, 0) {
		return errors.New("topic contains a NUL character")
	}
	if !utf8.ValidString(f) {
		return errors.New("topic is not valid UTF-8")
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "" && len(levels) > 1:
			return fmt.Errorf("topic level %d is empty (leading, trailing or double '/')", i+1)
		case l == "#" && i != len(levels)-1:
			return fmt.Errorf("'#' must be the last level (found at level %d)", i+1)
		case l != "#" && l != "+" && strings.ContainsAny(l, "+#"):
			return fmt.Errorf("wildcard inside level %d %q: '+' and '#' must stand alone in a level", i+1, l)
		}
	}
	return nil
}

// Match reports whether topic name t matches filter f. As MQTT requires,
// a filter starting with a wildcard does not match topics starting with '$'.
func Match(f, t string) bool {
	if strings.HasPrefix(t, "$") && (strings.HasPrefix(f, "+") || strings.HasPrefix(f, "#")) {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(f, "/")
		if fl == "#" {
			return true
		}
		tl, trest, tmore := strings.Cut(t, "/")
		if fl != "+" && fl != tl {
			return false
		}
		if !fmore && !tmore {
			return true
		}
		if !tmore {
			// "a/#" matches "a": the filter's remainder must be exactly "#".
			return fmore && frest == "#"
		}
		if !fmore {
			return false
		}
		f, t = frest, trest
	}
}
