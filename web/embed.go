// Package web holds the UI's static assets, embedded into the ui binary.
//
// static/htmx.min.js is htmx 2.0.11 (0BSD, see static/htmx.LICENSE.txt),
// vendored with `npm pack htmx.org@2.0.11` from package/dist/htmx.min.js.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// Static returns the embedded assets. Their paths start with "static/"
// (static/htmx.min.js, static/app.css), so a file server mounted at /static/
// serves them without stripping the prefix.
func Static() fs.FS { return static }

// HTMXVersion is the vendored htmx release.
const HTMXVersion = "2.0.11"
