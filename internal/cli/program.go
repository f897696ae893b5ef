package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"

	"github.com/wmo-im/wis2downloader/internal/buildinfo"
	"github.com/wmo-im/wis2downloader/internal/config"
	"github.com/wmo-im/wis2downloader/internal/telemetry"
)

// Program is the start-up every binary shares: command line, configuration
// (environment over .env), healthcheck subcommand, logger.
type Program[C interface{ Base() config.Common }] struct {
	Service string
	Load    func(*config.Source) (C, error)
	// HealthURL is what the healthcheck subcommand probes.
	HealthURL func(C) (string, error)
}

// Start runs the shared start-up. When ok is false the process is done: the
// version was printed or the healthcheck ran, and err tells the outcome.
// Otherwise it returns the configuration and a logger that has already
// logged the version and the (redacted) settings.
func (p Program[C]) Start(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) (cfg C, logger *slog.Logger, ok bool, err error) {
	mode, err := Parse(p.Service, args, stdout)
	if err != nil || mode == Version {
		return cfg, nil, false, err
	}
	src, err := config.NewSource(getenv, ".env")
	if err != nil {
		return cfg, nil, false, err
	}
	if cfg, err = p.Load(src); err != nil {
		return cfg, nil, false, fmt.Errorf("configuration: %w", err)
	}
	if mode == Healthcheck {
		url, err := p.HealthURL(cfg)
		if err != nil {
			return cfg, nil, false, err
		}
		return cfg, nil, false, CheckHTTP(ctx, url)
	}
	base := cfg.Base()
	if logger, err = telemetry.NewLogger(stdout, p.Service, base.Log.Level, base.Log.Format); err != nil {
		return cfg, nil, false, err
	}
	logger.Info("Starting", "version", buildinfo.Version())
	logger.Info("Configuration", "settings", base.Settings)
	return cfg, logger, true, nil
}

// LocalURL is the URL of a service's own endpoint for its healthcheck:
// loopback when it listens on every address, else the address it is bound to.
func LocalURL(host string, port int, path string) string {
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + path
}
