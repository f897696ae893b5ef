package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// routes lists every route of the API.
func (a *API) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, a.accessLog, a.recoverer)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed on "+r.URL.Path)
	})

	// Open: health, metrics and documentation.
	r.Get("/health", a.health)
	r.Method(http.MethodGet, "/metrics", a.metrics)
	r.Get("/openapi.json", a.openAPI)
	r.Get("/openapi", a.openAPI)
	r.Get("/", redirectTo(http.StatusFound, "swagger"))
	r.Get("/swagger", a.swaggerIndex)
	r.Get("/swagger/{file}", a.swaggerAsset)

	// Behind the bearer token.
	r.Group(func(r chi.Router) {
		r.Use(a.auth)
		r.Get("/subscriptions", a.listSubscriptions)
		r.Post("/subscriptions", a.createSubscription)
		r.Get("/subscriptions/{id}", a.getSubscription)
		r.Put("/subscriptions/{id}", a.updateSubscription)
		r.Delete("/subscriptions/{id}", a.deleteSubscription)
		if a.debug {
			r.Mount("/debug", middleware.Profiler())
		}
	})
	return r
}
