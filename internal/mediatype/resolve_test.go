package mediatype

import "testing"

func TestResolve(t *testing.T) {
	bufr := []byte("BUFR\x00\x00\xb4\x04")
	tests := []struct {
		declared string
		head     []byte
		want     string
	}{
		{"application/x-bufr", []byte("anything"), BUFR},
		{"text/html; charset=utf-8", bufr, "text/html"}, // declared wins
		{"", bufr, BUFR},
		{"application/octet-stream", bufr, BUFR},
		{"application/octet-stream", []byte{0, 1, 2}, OctetStream},
		{"  ", []byte("plain words"), "text/plain"},
	}
	for _, tc := range tests {
		if got := Resolve(tc.declared, tc.head); got != tc.want {
			t.Errorf("Resolve(%q, %q) = %q, want %q", tc.declared, tc.head, got, tc.want)
		}
	}
}
