package ui

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// apiDocsURL is the browser-facing link to the API's Swagger UI: the host the
// browser used to reach the UI, on the port the API is published on. The
// API's internal URL (e.g. http://api:5001) means nothing to a browser.
func apiDocsURL(r *http.Request, port int) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]") // a bracketed IPv6 literal without a port
	if host == "" {
		host = "localhost"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: "/swagger"}
	return u.String()
}
