package wis2

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxInlineBytes bounds the decoded size of inline content. The WNM limits
// inline data to 4096 bytes; the bound leaves room for sloppy publishers but
// stops a gzip bomb.
const MaxInlineBytes = 1 << 20

// Decode returns the inline data: "utf-8" (the value's bytes), "base64"
// (standard alphabet, padding optional, line breaks ignored) or "gzip"
// (base64 of RFC 1952 gzip data). Encoding names are case-insensitive and
// "utf8" is accepted. When Size is given (> 0) the decoded length must equal
// it; Size 0 means "not given" (as Link.Length) and is not checked. The
// decoded size is bounded by MaxInlineBytes (and by Size+1 when given), so a
// compressed bomb fails early.
func (c *Content) Decode() ([]byte, error) {
	if c == nil {
		return nil, errors.New("no inline content")
	}
	limit := int64(MaxInlineBytes)
	if c.Size > MaxInlineBytes {
		return nil, fmt.Errorf("inline content size %d exceeds %d", c.Size, MaxInlineBytes)
	}
	var data []byte
	switch enc := strings.ToLower(strings.TrimSpace(c.Encoding)); enc {
	case "utf-8", "utf8":
		if int64(len(c.Value)) > limit {
			return nil, fmt.Errorf("inline content exceeds %d bytes", limit)
		}
		data = []byte(c.Value)
	case "base64":
		d, err := decodeBase64(c.Value)
		if err != nil {
			return nil, err
		}
		data = d
	case "gzip":
		z, err := decodeBase64(c.Value)
		if err != nil {
			return nil, err
		}
		zr, err := gzip.NewReader(bytes.NewReader(z))
		if err != nil {
			return nil, fmt.Errorf("inline gzip content: %w", err)
		}
		if c.Size > 0 {
			limit = c.Size + 1
		}
		d, err := io.ReadAll(io.LimitReader(zr, limit+1))
		if err != nil {
			return nil, fmt.Errorf("inline gzip content: %w", err)
		}
		if int64(len(d)) > limit {
			return nil, fmt.Errorf("inline gzip content inflates beyond %d bytes", limit)
		}
		data = d
	case "":
		return nil, errors.New("inline content has no encoding")
	default:
		return nil, fmt.Errorf("inline content encoding %q is not utf-8, base64 or gzip", c.Encoding)
	}
	if c.Size > 0 && int64(len(data)) != c.Size {
		return nil, fmt.Errorf("inline content decodes to %d bytes, size says %d", len(data), c.Size)
	}
	return data, nil
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if d, err := base64.StdEncoding.DecodeString(s); err == nil {
		return d, nil
	}
	d, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("inline content is not base64: %w", err)
	}
	return d, nil
}
