package wis2

import (
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// ErrUnsupportedMethod is returned by NewHash for an integrity method it
// does not know. Such a file is unverifiable, not corrupt.
var ErrUnsupportedMethod = errors.New("unsupported integrity method")

// Methods lists the integrity methods NewHash supports, in their WNM spelling.
var Methods = []string{"sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512"}

// NewHash returns a hash for a WNM integrity method: sha256, sha384, sha512,
// sha3-256, sha3-384, sha3-512. Case, surrounding spaces and "_" for "-"
// are tolerated ("SHA3_256"), as is "sha-256". Any other method returns an
// error wrapping ErrUnsupportedMethod.
func NewHash(method string) (hash.Hash, error) {
	switch CanonicalMethod(method) {
	case "sha256":
		return sha256.New(), nil
	case "sha384":
		return sha512.New384(), nil
	case "sha512":
		return sha512.New(), nil
	case "sha3-256":
		return sha3.New256(), nil
	case "sha3-384":
		return sha3.New384(), nil
	case "sha3-512":
		return sha3.New512(), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedMethod, method)
}

// CanonicalMethod returns the WNM spelling of an integrity method
// ("SHA3_256" → "sha3-256", "sha-512" → "sha512"); unknown methods are
// returned lower-cased and trimmed.
func CanonicalMethod(method string) string {
	m := strings.ToLower(strings.TrimSpace(method))
	m = strings.ReplaceAll(m, "_", "-")
	switch m {
	case "sha-256", "sha2-256":
		return "sha256"
	case "sha-384", "sha2-384":
		return "sha384"
	case "sha-512", "sha2-512":
		return "sha512"
	}
	return m
}

// NewHash returns the hash for i.Method (see the package function NewHash).
func (i Integrity) NewHash() (hash.Hash, error) { return NewHash(i.Method) }

// Matches reports whether the digest sum equals i.Value. The value is read
// as base64 (standard or URL alphabet, with or without padding) or as hex
// (either case), whichever decodes to exactly len(sum) bytes and equals it.
// An empty value or empty sum never matches.
func (i Integrity) Matches(sum []byte) bool {
	v := strings.TrimSpace(i.Value)
	if v == "" || len(sum) == 0 {
		return false
	}
	if len(v) == 2*len(sum) {
		if d, err := hex.DecodeString(v); err == nil && subtle.ConstantTimeCompare(d, sum) == 1 {
			return true
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if enc.DecodedLen(len(v)) < len(sum) || enc.DecodedLen(len(v)) > len(sum)+2 {
			continue
		}
		d, err := enc.DecodeString(v)
		if err == nil && subtle.ConstantTimeCompare(d, sum) == 1 {
			return true
		}
	}
	return false
}
