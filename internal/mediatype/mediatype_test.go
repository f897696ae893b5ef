package mediatype

import (
	"os"
	"testing"
)

func TestSniff(t *testing.T) {
	bufr := "BUFR\x00\x00\xb4\x04\x00\x00\x16\x00\x00\x00\x00\x00\x00\x00"
	grib := "GRIB\x00\x00\x00\x02\x00\x00\x00\x00\x00\x01\x2c\x00"
	gtsHeading := "\x01\r\r\n123\r\r\nISMD01 LFPW 061200\r\r\n"
	hdf5 := "\x89HDF\r\n\x1a\n\x00\x00\x00\x00\x00\x08\x08\x00\x04\x00\x10\x00"
	pad512 := string(make([]byte, 512))
	tests := []struct {
		name, head, want string
	}{
		{"bufr", bufr, BUFR},
		{"grib", grib, GRIB},
		{"bufr after GTS heading", gtsHeading + bufr, BUFR},
		{"grib after GTS heading with BBB", "\x01\r\r\n007\r\r\nHTXA50 ECMF 061200 RRA\r\r\n" + grib, GRIB},
		{"bufr after heading without SOH", "IUSN01 EDZW 061200\r\r\n" + bufr, BUFR},
		{"bufr too deep", string(make([]byte, 300)) + bufr, OctetStream},
		{"bufr inside a word", "xBUFR edition 4", "text/plain"},
		{"binary before bufr", "\x00\x00\x00\n" + bufr, OctetStream},
		{"hdf5", hdf5, HDF5},
		{"hdf5 with 512-byte user block", pad512 + hdf5, HDF5},
		{"hdf4", "\x0e\x03\x13\x01\x00\xc8\x00\x00\x00\x00\x00\x00\x00\x00", HDF4},
		{"netcdf classic", "CDF\x01\x00\x00\x00\x00\x00\x00\x00\x0a", NetCDF},
		{"netcdf 64-bit offset", "CDF\x02\x00\x00\x00\x00", NetCDF},
		{"netcdf cdf5", "CDF\x05\x00\x00\x00\x00", NetCDF},
		{"not netcdf", "CDF\x03\x00\x00\x00\x00", OctetStream},
		{"png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"},
		{"pdf", "%PDF-1.7\n", "application/pdf"},
		{"gif", "GIF89a\x01\x00", "image/gif"},
		{"xml", "<?xml version=\"1.0\"?><a/>", "text/xml"},
		{"html", "<!DOCTYPE html><html>", "text/html"},
		{"crex text", "SZIO01 AMMC 110648\r\r\nCREX++\r\r\nT000103 A001", "text/plain"},
		{"zip", "PK\x03\x04\x14\x00", "application/zip"},
		{"gzip", "\x1f\x8b\x08\x00", "application/x-gzip"},
		{"empty", "", OctetStream},
	}
	for _, tc := range tests {
		if got := Sniff([]byte(tc.head)); got != tc.want {
			t.Errorf("%s: Sniff = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestSniffRealBulletin: the real CREX bulletin from the samples is text.
func TestSniffRealBulletin(t *testing.T) {
	b, err := os.ReadFile("../../../shared/wis2-samples/wmo-im_pywis-pubsub/tests/A_SZIO01AMMC110648_C_EDZW_20230811064904_50549867")
	if err != nil {
		t.Fatalf("samples folder missing (shared/ must sit beside the repo): %v", err)
	}
	if got := Sniff(b); got != "text/plain" {
		t.Errorf("Sniff = %q", got)
	}
}

func TestNormalize(t *testing.T) {
	tests := map[string]string{
		"application/bufr":                  BUFR,
		"application/x-bufr":                BUFR,
		"Application/X-BUFR":                BUFR,
		" application/x-grib ":              GRIB,
		"application/grib2":                 GRIB,
		"application/grib;edition=2":        GRIB,
		"text/plain; charset=utf-8":         "text/plain",
		"TEXT/HTML;charset=ISO-8859-1":      "text/html",
		"application/x-netcdf4":             "application/x-netcdf4",
		"application/netcdf":                NetCDF,
		"application/vnd.api+json":          "application/vnd.api+json",
		"":                                  "",
		"   ":                               "",
		"bufr":                              "",
		"application/octet-stream; x=\"y\"": OctetStream,
	}
	for in, want := range tests {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkNormalizeSimple(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Normalize("application/bufr")
	}
}

func BenchmarkSniff(b *testing.B) {
	head := []byte("\x01\r\r\n123\r\r\nISMD01 LFPW 061200\r\r\nBUFR\x00\x00\xb4\x04")
	b.ReportAllocs()
	for b.Loop() {
		Sniff(head)
	}
}
