// Package mediatype detects and normalises media types of downloaded WIS2
// data: the WMO binary formats (BUFR, GRIB, also behind a GTS abbreviated
// heading), HDF5, HDF4 and NetCDF signatures, then net/http's sniffer.
package mediatype

import (
	"bytes"
	"mime"
	"net/http"
	"strings"
)

// Media types this package returns or normalises to.
const (
	BUFR        = "application/bufr"
	GRIB        = "application/grib"
	HDF5        = "application/x-hdf5"
	HDF4        = "application/x-hdf"
	NetCDF      = "application/x-netcdf"
	OctetStream = "application/octet-stream"
)

// SniffLen is how many leading bytes Sniff looks at; more are ignored.
const SniffLen = 4096

// headingWindow is how far into the data a BUFR/GRIB message may start
// after a GTS abbreviated heading (start-of-heading, sequence number,
// "TTAAii CCCC YYGGgg [BBB]" lines, each ended by CR CR LF).
const headingWindow = 256

var (
	hdf5Magic = []byte("\x89HDF\r\n\x1a\n")
	hdf4Magic = []byte("\x0e\x03\x13\x01")
)

// Sniff returns the media type of data beginning with head:
//
//   - "BUFR" / "GRIB" at the start, or at the start of a line within the
//     first 256 bytes when everything before it is a GTS abbreviated heading
//     (printable ASCII, SOH, CR, LF): application/bufr, application/grib;
//   - the HDF5 signature at offset 0, 512, 1024 or 2048: application/x-hdf5.
//     NetCDF-4 files are HDF5 files and are reported as application/x-hdf5
//     (telling them apart needs the file's metadata; both types are in the
//     default filter list);
//   - HDF4 (0x0e031301): application/x-hdf;
//   - NetCDF classic, 64-bit offset and CDF-5 ("CDF" + 1, 2 or 5):
//     application/x-netcdf;
//   - otherwise net/http.DetectContentType, normalised (text/plain,
//     image/png, application/pdf, ..., application/octet-stream).
//
// Empty input is application/octet-stream.
func Sniff(head []byte) string {
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	if len(head) == 0 {
		return OctetStream
	}
	if t := wmoBinary(head); t != "" {
		return t
	}
	for _, off := range []int{0, 512, 1024, 2048} {
		if len(head) >= off+len(hdf5Magic) && bytes.Equal(head[off:off+len(hdf5Magic)], hdf5Magic) {
			return HDF5
		}
	}
	if bytes.HasPrefix(head, hdf4Magic) {
		return HDF4
	}
	if len(head) >= 4 && string(head[:3]) == "CDF" && (head[3] == 1 || head[3] == 2 || head[3] == 5) {
		return NetCDF
	}
	return Normalize(http.DetectContentType(head))
}

// wmoBinary finds a BUFR or GRIB message at the start of head or just after
// a GTS abbreviated heading.
func wmoBinary(head []byte) string {
	limit := min(len(head), headingWindow)
	for i := 0; i+4 <= len(head) && i <= limit; i++ {
		if i == 0 || head[i-1] == '\n' {
			switch string(head[i : i+4]) {
			case "BUFR":
				return BUFR
			case "GRIB":
				return GRIB
			}
		}
		if c := head[i]; c != 0x01 && c != '\r' && c != '\n' && (c < 0x20 || c > 0x7e) {
			return "" // not a heading any more
		}
	}
	return ""
}

// aliases maps legacy or vendor spellings to the type Normalize returns.
var aliases = map[string]string{
	"application/x-bufr":   BUFR,
	"application/x-grib":   GRIB,
	"application/x-grib2":  GRIB,
	"application/grib2":    GRIB,
	"application/x-hdf5":   HDF5,
	"application/x-netcdf": NetCDF,
	"application/netcdf":   NetCDF,
}

// Normalize returns a declared media type in the form the filters compare:
// parameters stripped ("; charset=..."), lower case, surrounding space
// removed, and application/x-bufr → application/bufr, application/x-grib
// (also x-grib2, grib2) → application/grib, application/netcdf →
// application/x-netcdf. An empty or unparsable value returns "" except that
// a plain "type/subtype" prefix is still used.
func Normalize(declared string) string {
	s := strings.TrimSpace(declared)
	if s == "" {
		return ""
	}
	if isSimple(s) {
		if a, ok := aliases[s]; ok {
			return a
		}
		return s
	}
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if mt, _, err := mime.ParseMediaType(s); err == nil {
		s = mt
	}
	if !strings.Contains(s, "/") {
		return ""
	}
	if a, ok := aliases[s]; ok {
		return a
	}
	return s
}

// isSimple reports whether s is already lower-case "type/subtype" without
// parameters or spaces, so Normalize can return it without allocating.
func isSimple(s string) bool {
	slash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '+', c == '_':
		case c == '/' && !slash && i > 0 && i < len(s)-1:
			slash = true
		default:
			return false
		}
	}
	return slash
}
