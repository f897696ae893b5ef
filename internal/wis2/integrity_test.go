package wis2

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestNewHash(t *testing.T) {
	data := []byte("abc")
	// Known digests of "abc" (FIPS 180-4 / FIPS 202 test vectors, hex prefix).
	tests := map[string]string{
		"sha256":     "ba7816bf8f01cfea",
		"SHA384":     "cb00753f45a35e8b",
		"sha512":     "ddaf35a193617aba",
		"sha-512":    "ddaf35a193617aba",
		"sha3-256":   "3a985da74fe225b2",
		"sha3_384":   "ec01498288516fc9",
		"SHA3-512":   "b751850b1a57168a",
		" sha3_256 ": "3a985da74fe225b2",
	}
	for method, prefix := range tests {
		h, err := NewHash(method)
		if err != nil {
			t.Errorf("NewHash(%q): %v", method, err)
			continue
		}
		h.Write(data)
		if got := hex.EncodeToString(h.Sum(nil)); !strings.HasPrefix(got, prefix) {
			t.Errorf("%s(abc) = %s, want prefix %s", method, got, prefix)
		}
	}
	for _, m := range Methods {
		if _, err := NewHash(m); err != nil {
			t.Errorf("listed method %s: %v", m, err)
		}
	}
	for _, method := range []string{"md5", "shake128", "", "sha1", "crc32"} {
		if _, err := NewHash(method); !errors.Is(err, ErrUnsupportedMethod) {
			t.Errorf("NewHash(%q) error = %v, want ErrUnsupportedMethod", method, err)
		}
	}
}

func TestIntegrityMatches(t *testing.T) {
	h, _ := NewHash("sha256")
	h.Write([]byte("payload"))
	sum := h.Sum(nil)
	other := append([]byte(nil), sum...)
	other[5] ^= 0x80
	forms := map[string]string{
		"std":    base64.StdEncoding.EncodeToString(sum),
		"raw":    base64.RawStdEncoding.EncodeToString(sum),
		"url":    base64.URLEncoding.EncodeToString(sum),
		"rawurl": base64.RawURLEncoding.EncodeToString(sum),
		"hex":    hex.EncodeToString(sum),
		"HEX":    strings.ToUpper(hex.EncodeToString(sum)),
		"spaced": " " + base64.StdEncoding.EncodeToString(sum) + "\n",
	}
	for name, v := range forms {
		in := Integrity{Method: "sha256", Value: v}
		if !in.Matches(sum) {
			t.Errorf("%s form %q does not match", name, v)
		}
		if in.Matches(other) {
			t.Errorf("%s form matches a different digest", name)
		}
	}
	for _, v := range []string{"", "A2KNxvks...S8qfSCw==", hex.EncodeToString(sum[:16]), base64.StdEncoding.EncodeToString(append(sum, 0))} {
		if (Integrity{Value: v}).Matches(sum) {
			t.Errorf("value %q matches", v)
		}
	}
	if (Integrity{Value: forms["std"]}).Matches(nil) {
		t.Error("empty sum matches")
	}
}

func gz(t testing.TB, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestContentDecode(t *testing.T) {
	bin := []byte{0, 1, 2, 0xff, 'B', 'U', 'F', 'R'}
	text := []byte("TTAAii CCCC YYGGgg\r\nbody é")
	tests := []struct {
		name string
		c    *Content
		want []byte
		err  string
	}{
		{"utf-8", &Content{Encoding: "utf-8", Value: string(text), Size: int64(len(text))}, text, ""},
		{"utf8 no size", &Content{Encoding: "UTF8", Value: "abc"}, []byte("abc"), ""},
		{"utf-8 wrong size", &Content{Encoding: "utf-8", Value: "abc", Size: 4}, nil, "size says 4"},
		{"base64", &Content{Encoding: "base64", Value: base64.StdEncoding.EncodeToString(bin), Size: int64(len(bin))}, bin, ""},
		{"base64 unpadded", &Content{Encoding: "base64", Value: base64.RawStdEncoding.EncodeToString(bin), Size: int64(len(bin))}, bin, ""},
		{"base64 wrapped", &Content{Encoding: "base64", Value: "AAEC\n/0JV\r\nRlI=", Size: 8}, bin, ""},
		{"base64 bad", &Content{Encoding: "base64", Value: "@@@", Size: 2}, nil, "not base64"},
		{"gzip", &Content{Encoding: "gzip", Value: gz(t, text), Size: int64(len(text))}, text, ""},
		{"gzip wrong size", &Content{Encoding: "gzip", Value: gz(t, text), Size: 3}, nil, "inflates beyond"},
		{"gzip not gzip", &Content{Encoding: "gzip", Value: base64.StdEncoding.EncodeToString(text), Size: 5}, nil, "gzip"},
		{"gzip truncated", &Content{Encoding: "gzip", Value: gz(t, text)[:20], Size: int64(len(text))}, nil, "gzip"},
		{"gzip bomb", &Content{Encoding: "gzip", Value: gz(t, make([]byte, 8<<20))}, nil, "inflates beyond"},
		{"no encoding", &Content{Value: "abc"}, nil, "no encoding"},
		{"unknown encoding", &Content{Encoding: "zstd", Value: "abc"}, nil, "not utf-8, base64 or gzip"},
		{"huge size", &Content{Encoding: "utf-8", Value: "abc", Size: 1 << 40}, nil, "exceeds"},
		{"nil", nil, nil, "no inline content"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.Decode()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Decode = %q, %v; want error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Fatalf("Decode = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestInlineContentVerified: inline data in all three encodings parses and
// verifies against its integrity like a download would.
func TestInlineContentVerified(t *testing.T) {
	data := []byte("ZCZC 123\r\r\nSMAA01 LFPW 061200\r\r\nAAXX 06121 07149 NNNN")
	h, _ := NewHash("sha3-256")
	h.Write(data)
	sum := base64.StdEncoding.EncodeToString(h.Sum(nil))
	for enc, value := range map[string]string{
		"utf-8":  string(data),
		"base64": base64.StdEncoding.EncodeToString(data),
		"gzip":   gz(t, data),
	} {
		props := `,"integrity":{"method":"sha3-256","value":"` + sum + `"},"content":{"encoding":"` + enc + `","value":` + jsonString(value) + `,"size":` + itoa(len(data)) + `}`
		n, err := Parse([]byte(msg("LINKS", ``, "PROPS", props)))
		if err != nil {
			t.Fatalf("%s: %v", enc, err)
		}
		got, err := n.Properties.Content.Decode()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: Decode = %q, %v", enc, got, err)
		}
		h, _ := n.Properties.Integrity.NewHash()
		h.Write(got)
		if !n.Properties.Integrity.Matches(h.Sum(nil)) {
			t.Errorf("%s: integrity mismatch", enc)
		}
	}
}
