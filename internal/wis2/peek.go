package wis2

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/wmo-im/wis2downloader/internal/jsonscan"
)

// Peek is the cheap check the subscriber runs on every message: size limit,
// valid JSON, a top-level object with a non-empty string "id". It returns
// the same id as Parse (the last "id" member wins, as in encoding/json),
// and the same *ParseError reasons for these checks, without decoding the
// rest of the message.
func Peek(b []byte) (string, error) {
	if len(b) > MaxMessageBytes {
		return "", &ParseError{Reason: ReasonTooLarge, Detail: fmt.Sprintf("%d bytes exceeds %d", len(b), MaxMessageBytes)}
	}
	if !json.Valid(b) {
		return "", &ParseError{Reason: ReasonNotJSON, Detail: "invalid JSON"}
	}
	// b is valid JSON from here on, so the scanner below may assume it.
	obj, ok := jsonscan.NewObject(b)
	if !ok {
		if jsonscan.Kind(b) == 'n' {
			return "", &ParseError{Reason: ReasonInvalidType, Detail: "message is null"}
		}
		return "", &ParseError{Reason: ReasonInvalidType, Detail: "message is not a JSON object"}
	}
	var idRaw []byte
	for key, value, ok := obj.Next(); ok; key, value, ok = obj.Next() {
		if isKey(key, "id") {
			idRaw = value
		}
	}
	if idRaw == nil || idRaw[0] == 'n' {
		return "", &ParseError{Reason: ReasonNoID, Detail: "no \"id\""}
	}
	if idRaw[0] != '"' {
		return "", &ParseError{Reason: ReasonInvalidType, Detail: "id: " + clip(idRaw) + " is not a string"}
	}
	id := unquote(idRaw)
	if strings.TrimSpace(id) == "" {
		return "", &ParseError{Reason: ReasonNoID, Detail: "no \"id\""}
	}
	return id, nil
}

// isKey compares a raw (quoted) JSON key with want, unescaping if needed.
func isKey(raw []byte, want string) bool {
	if plain(raw) {
		return len(raw) == len(want)+2 && string(raw[1:len(raw)-1]) == want
	}
	return unquote(raw) == want
}

// unquote returns the value of a valid raw JSON string.
func unquote(raw []byte) string {
	if plain(raw) {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	_ = json.Unmarshal(raw, &s) // raw is a valid JSON string
	return s
}

// plain reports whether a raw JSON string needs no unescaping: no escapes
// and valid UTF-8 (encoding/json turns invalid bytes into U+FFFD).
func plain(raw []byte) bool {
	return bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw)
}
