package main

import (
	"context"
	"fmt"
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
	mode, err := cli.Parse(config.UI, args, stdout)
	if err != nil || mode == cli.Version {
		return err
	}
	src, err := config.NewSource(getenv, ".env")
	if err != nil {
		return err
	}
	cfg, err := config.LoadUI(src)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if mode == cli.Healthcheck {
		return cli.CheckHTTP(ctx, "http://"+net.JoinHostPort(probeHost(cfg.Host), strconv.Itoa(cfg.Port))+"/healthz")
	}

	logger, err := telemetry.NewLogger(stdout, config.UI, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	logger.Info("Starting", "version", buildinfo.Version())
	logger.Info("Configuration", "settings", cfg.Settings)
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

// probeHost is where the healthcheck finds the server: loopback when it
// listens on every address, else the address it is bound to.
func probeHost(host string) string {
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return "127.0.0.1"
	}
	return host
}

// apiHTTPClient calls the API directly: it is an internal service, so the
// proxy environment variables do not apply.
func apiHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	return &http.Client{Transport: t}
}
