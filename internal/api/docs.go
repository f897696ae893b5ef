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

// swaggerFiles are the embedded Swagger UI files: index.html at /swagger,
// the others at /swagger/<name>.
var swaggerFiles = map[string]bool{
	"index.html":           true,
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

// asset is one embedded Swagger UI file, also gzip-compressed.
type asset struct {
	contentType string
	body, gz    []byte
}

// loadAssets reads the embedded Swagger UI files (index.html and
// swaggerFiles) and compresses them once.
func loadAssets() (map[string]asset, error) {
	out := map[string]asset{}
	for name := range swaggerFiles {
		b, err := swaggerFS.ReadFile(path.Join("swaggerui", name))
		if err != nil {
			return nil, fmt.Errorf("swagger ui asset: %w", err)
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "text/plain; charset=utf-8"
		}
		out[name] = asset{contentType: ct, body: b, gz: gzipped(b)}
	}
	return out, nil
}

func (a *API) swaggerIndex(w http.ResponseWriter, r *http.Request) {
	a.serveAsset(w, r, "index.html")
}

func (a *API) swaggerAsset(w http.ResponseWriter, r *http.Request) {
	f := chi.URLParam(r, "file")
	if f == "index.html" {
		f = "" // served at /swagger only
	}
	a.serveAsset(w, r, f)
}

func (a *API) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	as, ok := a.assets[name]
	if !ok {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	writeEncoded(w, r, as.contentType, as.body, as.gz)
}
