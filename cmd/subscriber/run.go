package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"

	"golang.org/x/sync/errgroup"

	"github.com/wmo-im/wis2downloader/internal/cli"
	"github.com/wmo-im/wis2downloader/internal/config"
	"github.com/wmo-im/wis2downloader/internal/httpserver"
	"github.com/wmo-im/wis2downloader/internal/redisconn"
	"github.com/wmo-im/wis2downloader/internal/subscriber"
	"github.com/wmo-im/wis2downloader/internal/telemetry"
)

// run is the whole program: command line, configuration, then the
// subscriber and its ops server (/healthz, /metrics) until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	mode, err := cli.Parse(config.Subscriber, args, stdout)
	if err != nil || mode == cli.Version {
		return err
	}
	src, err := config.NewSource(getenv, ".env")
	if err != nil {
		return err
	}
	cfg, err := config.LoadSubscriber(src)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if mode == cli.Healthcheck {
		if cfg.MetricsPort == 0 {
			return fmt.Errorf("healthcheck needs %s (it is 0)", config.SubscriberPort.Name)
		}
		return cli.CheckHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/healthz", cfg.MetricsPort))
	}

	logger, err := telemetry.NewLogger(stdout, config.Subscriber, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	logger.Info("Configuration", "settings", cfg.Settings)
	clients := redisconn.New(cfg.Redis)
	defer clients.Close()
	reg := telemetry.NewRegistry()
	sub, err := subscriber.New(subscriber.Options{Config: cfg, Logger: logger, Redis: clients, Registerer: reg})
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return sub.Run(gctx) })
	if cfg.MetricsPort > 0 {
		srv := httpserver.New(net.JoinHostPort("", strconv.Itoa(cfg.MetricsPort)), httpserver.Ops(reg, sub.Health))
		g.Go(func() error { return httpserver.Run(gctx, srv, logger) })
	}
	return g.Wait()
}
