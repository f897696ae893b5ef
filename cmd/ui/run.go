package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/wmo-im/wis2downloader/internal/buildinfo"
	"github.com/wmo-im/wis2downloader/internal/cli"
	"github.com/wmo-im/wis2downloader/internal/config"
	"github.com/wmo-im/wis2downloader/internal/httpserver"
	"github.com/wmo-im/wis2downloader/internal/telemetry"
	"github.com/wmo-im/wis2downloader/internal/ui"
)

// apiPublishedPort is the host port docker-compose.yaml publishes the API on
// (5002 → 5001); the page links the browser to /swagger there.
const apiPublishedPort = 5002

// run is the whole program: command line, configuration, then the UI server
// until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	cfg, logger, ok, err := cli.Program[config.UIConfig]{
		Service: config.UI,
		Load:    config.LoadUI,
		HealthURL: func(c config.UIConfig) (string, error) {
			return cli.LocalURL(c.Host, c.Port, "/healthz"), nil
		},
	}.Start(ctx, args, getenv, stdout)
	if !ok {
		return err
	}
	reg := telemetry.NewRegistry()
	health := func(context.Context) (map[string]any, error) {
		return map[string]any{"version": buildinfo.Version()}, nil
	}
	h := ui.New(ui.Options{
		Version:       buildinfo.Version(),
		APIURL:        cfg.APIURL,
		APIToken:      cfg.APIToken,
		APIPublicPort: apiPublishedPort,
		GrafanaURL:    cfg.GrafanaURL,
		Ops:           httpserver.Ops(reg, health),
		HTTPClient:    apiHTTPClient(),
		Logger:        logger,
	})
	srv := httpserver.New(net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), h)
	return httpserver.Run(ctx, srv, logger)
}

// apiHTTPClient calls the API directly: it is an internal service, so the
// proxy environment variables do not apply.
func apiHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	return &http.Client{Transport: t}
}
