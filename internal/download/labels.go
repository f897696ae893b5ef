package download

// knownMediaTypes bounds the media_type label of downloads_total and
// downloads_bytes_total; anything else is counted as "other".
var knownMediaTypes = map[string]bool{
	"image/gif": true, "image/jpeg": true, "image/png": true, "image/tiff": true, "image/webp": true,
	"application/pdf": true, "application/postscript": true, "application/bufr": true,
	"application/grib": true, "application/x-hdf": true, "application/x-hdf5": true,
	"application/x-netcdf": true, "application/x-netcdf4": true, "application/netcdf": true,
	"text/plain": true, "text/html": true, "text/xml": true, "text/csv": true,
	"text/tab-separated-values": true, "application/octet-stream": true,
	"application/json": true, "application/geo+json": true, "application/xml": true,
	"application/zip": true, "application/gzip": true, "application/x-gzip": true,
	"application/x-tar": true, "application/x-bzip2": true, "application/zstd": true,
}

func mediaTypeLabel(mt string) string {
	if knownMediaTypes[mt] {
		return mt
	}
	if mt == "" {
		return "unknown"
	}
	return "other"
}
