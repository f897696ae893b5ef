package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// auth requires "Authorization: Bearer <API_TOKEN>". Both tokens are hashed
// first so the constant-time comparison does not reveal the length either.
func (a *API) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			unauthorized(w, "missing bearer token (Authorization: Bearer <API_TOKEN>)")
			return
		}
		h := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		if subtle.ConstantTimeCompare(h[:], a.tokenHash[:]) != 1 {
			unauthorized(w, "invalid bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="wis2downloader"`)
	writeError(w, http.StatusUnauthorized, msg)
}

// accessLog writes one line per request: method, path (never the query or
// headers, so no token), status, bytes, duration and request id. Successful
// health checks and scrapes are logged at debug level only.
func (a *API) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		id := middleware.GetReqID(r.Context())
		if id != "" {
			ww.Header().Set(middleware.RequestIDHeader, id)
		}
		next.ServeHTTP(ww, r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		lvl := slog.LevelInfo
		switch {
		case status >= 500:
			lvl = slog.LevelWarn
		case status < 400 && (r.URL.Path == "/health" || r.URL.Path == "/metrics"):
			lvl = slog.LevelDebug // healthchecks and scrapes: every few seconds
		}
		a.logger.LogAttrs(r.Context(), lvl, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Int("bytes", ww.BytesWritten()),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", id),
		)
	})
}

// recoverer turns a panic into a logged error and a JSON 500 (chi's
// Recoverer prints to stderr and sends no body).
func (a *API) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			a.logger.Error("panic serving request", "path", r.URL.Path, "panic", fmt.Sprint(rec),
				"request_id", middleware.GetReqID(r.Context()), "stack", string(debug.Stack()))
			writeError(w, http.StatusInternalServerError, "internal error")
		}()
		next.ServeHTTP(w, r)
	})
}

// redirectTo answers a relative redirect, which also works behind a reverse
// proxy that strips a path prefix.
func redirectTo(status int, rel string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", rel)
		w.WriteHeader(status)
	}
}
