package mediatype

// Resolve returns the media type of downloaded data: the declared type
// (the link's "type"), normalised, unless it is missing or the
// uninformative application/octet-stream, in which case the data's first
// bytes are sniffed (Sniff). GTS bulletins are often declared as
// octet-stream and sniff as BUFR, GRIB or text.
func Resolve(declared string, head []byte) string {
	if t := Normalize(declared); t != "" && t != OctetStream {
		return t
	}
	return Sniff(head)
}
