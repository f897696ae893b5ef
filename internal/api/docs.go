package api

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"path"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"
)

//go:embed openapi.yaml
var openAPIYAML []byte

//go:embed swaggerui
var swaggerFS embed.FS

// swaggerFiles are the assets served under /swagger/ (index.html at /swagger/).
var swaggerFiles = map[string]bool{
	"swagger-ui-bundle.js": true, "swagger-ui.css": true, "swagger-initializer.js": true,
	"LICENSE": true, "NOTICE": true,
}

// OpenAPIDocument loads and validates the embedded OpenAPI document.
func OpenAPIDocument() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("invalid OpenAPI document: %w", err)
	}
	return doc, nil
}

// openAPIJSON returns the document as JSON, as served.
func openAPIJSON() ([]byte, error) {
	doc, err := OpenAPIDocument()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode OpenAPI document: %w", err)
	}
	return b, nil
}

func (a *API) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(a.openapi)
}

func (a *API) swaggerIndex(w http.ResponseWriter, r *http.Request) {
	serveEmbedded(w, "index.html")
}

func (a *API) swaggerAsset(w http.ResponseWriter, r *http.Request) {
	f := chi.URLParam(r, "file")
	if !swaggerFiles[f] {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
		return
	}
	serveEmbedded(w, f)
}

func serveEmbedded(w http.ResponseWriter, name string) {
	b, err := swaggerFS.ReadFile(path.Join("swaggerui", name))
	if err != nil {
		writeError(w, http.StatusNotFound, "no such file: "+name)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "text/plain; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}
