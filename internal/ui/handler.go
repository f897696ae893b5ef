// Package ui serves the wis2downloader web UI: a server-rendered page (templ)
// whose subscription list is loaded with htmx from a fragment that the UI
// server fetches from the subscription API.
//
// The browser never talks to the API's internal URL
// (WIS2_SUBSCRIPTION_MANAGER_URL) and never sees the API token: the UI server
// makes that call and renders the result.
package ui

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/wmo-im/wis2downloader/web"
)

// apiTimeout bounds one call from the UI server to the API.
const apiTimeout = 5 * time.Second

// Options are the UI handler's dependencies and settings.
type Options struct {
	Version       string
	APIURL        string       // internal URL of the subscription API, used server-side only
	APIToken      string       // bearer token sent to the API
	APIPublicPort int          // port the API is published on, for the browser's docs link
	GrafanaURL    string       // browser-facing Grafana URL
	Ops           http.Handler // serves /healthz and /metrics
	HTTPClient    *http.Client // for API calls; nil: a client without a global timeout
	Logger        *slog.Logger // nil: discard
}

// handler holds what the UI's routes need.
type handler struct {
	opts   Options
	api    *apiClient
	logger *slog.Logger
}

// New returns the UI's routes: / (the page), /fragments/subscriptions (htmx
// fragment), /static/* (embedded assets), and /healthz and /metrics from
// opts.Ops.
func New(opts Options) http.Handler {
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{
		opts:   opts,
		api:    &apiClient{baseURL: strings.TrimRight(opts.APIURL, "/"), token: opts.APIToken, http: hc},
		logger: logger,
	}
	r := chi.NewRouter()
	r.Use(middleware.Recoverer, securityHeaders)
	if opts.Ops != nil {
		r.Method(http.MethodGet, "/healthz", opts.Ops)
		r.Method(http.MethodGet, "/metrics", opts.Ops)
	}
	r.Get("/", h.page)
	r.Get("/fragments/subscriptions", h.subscriptions)
	r.Method(http.MethodGet, "/static/*", http.FileServerFS(web.Static()))
	return r
}

// page renders the main page.
func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	data := PageData{
		Version:    h.opts.Version,
		APIDocsURL: apiDocsURL(r, h.opts.APIPublicPort),
		GrafanaURL: h.opts.GrafanaURL,
		HTMX:       web.HTMXVersion,
	}
	h.render(w, r, Page(data))
}

// subscriptions renders the subscription list fetched from the API, or an
// error box when the API cannot be used. It always answers 200 so that htmx
// swaps the error box in.
func (h *handler) subscriptions(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	subs, err := h.api.subscriptions(ctx)
	if err != nil {
		h.logger.Warn("Subscription API unavailable", "error", err)
		h.render(w, r, APIError(err.Error()))
		return
	}
	rows := make([]Row, len(subs))
	for i, s := range subs {
		rows[i] = Row{ID: s.ID, Topic: s.Topic, Filter: filterText(s.Filter)}
		if s.SavePath != nil {
			rows[i].SavePath = *s.SavePath
		}
	}
	h.render(w, r, SubscriptionList(rows))
}

func (h *handler) render(w http.ResponseWriter, r *http.Request, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := c.Render(r.Context(), w); err != nil {
		h.logger.Error("Render failed", "path", r.URL.Path, "error", err)
	}
}
