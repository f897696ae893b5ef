// Swagger UI for the wis2downloader API, served from the binary (no CDN).
// The document URL is relative to /swagger, so it also works behind a path prefix.
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: new URL("openapi.json", window.location.href).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
};
