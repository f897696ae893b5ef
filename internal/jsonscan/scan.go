// Package jsonscan walks JSON that is already known to be valid (checked
// with json.Valid): it hands out the raw bytes of object members and array
// elements without decoding or allocating. It does not validate; on invalid
// input it may panic.
package jsonscan

import "bytes"

// Kind returns the first non-space byte of b ('{', '[', '"', 'n', ...), or
// 0 if b holds only white space.
func Kind(b []byte) byte {
	s := scanner{b: b}
	s.space()
	if s.i >= len(b) {
		return 0
	}
	return b[s.i]
}

// Object iterates over the members of a JSON object.
type Object struct{ s scanner }

// NewObject starts an iteration over the object in b; ok is false if b
// (after white space) is not an object.
func NewObject(b []byte) (o Object, ok bool) {
	if Kind(b) != '{' {
		return Object{}, false
	}
	o = Object{scanner{b: b}}
	o.s.space()
	o.s.i++ // '{'
	return o, true
}

// Next returns the next member: its key with quotes and its raw value.
// ok is false after the last member.
func (o *Object) Next() (key, value []byte, ok bool) {
	s := &o.s
	if s.b == nil {
		return nil, nil, false
	}
	s.space()
	if s.b[s.i] == '}' {
		return nil, nil, false
	}
	if s.b[s.i] == ',' {
		s.i++
		s.space()
	}
	key = s.str()
	s.space()
	s.i++ // ':'
	s.space()
	return key, s.value(), true
}

// Array iterates over the elements of a JSON array.
type Array struct{ s scanner }

// NewArray starts an iteration over the array in b; ok is false if b
// (after white space) is not an array.
func NewArray(b []byte) (a Array, ok bool) {
	if Kind(b) != '[' {
		return Array{}, false
	}
	a = Array{scanner{b: b}}
	a.s.space()
	a.s.i++ // '['
	return a, true
}

// Next returns the raw value of the next element; ok is false after the
// last element.
func (a *Array) Next() (value []byte, ok bool) {
	s := &a.s
	if s.b == nil {
		return nil, false
	}
	s.space()
	if s.b[s.i] == ']' {
		return nil, false
	}
	if s.b[s.i] == ',' {
		s.i++
		s.space()
	}
	return s.value(), true
}

// scanner is a position in valid JSON.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// str consumes a string starting at s.i and returns it with its quotes.
func (s *scanner) str() []byte {
	start := s.i
	s.i++
	for {
		s.i += bytes.IndexAny(s.b[s.i:], "\"\\")
		if s.b[s.i] == '\\' {
			s.i += 2
			continue
		}
		s.i++
		return s.b[start:s.i]
	}
}

// value consumes one value starting at s.i and returns it.
func (s *scanner) value() []byte {
	start := s.i
	switch s.b[s.i] {
	case '"':
		s.str()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				s.str()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return s.b[start:s.i]
				}
			}
			s.i++
		}
	default: // number, true, false, null
	scalar:
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				break scalar
			}
			s.i++
		}
	}
	return s.b[start:s.i]
}
