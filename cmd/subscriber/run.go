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
	cfg, logger, ok, err := cli.Program[config.SubscriberConfig]{
		Service: config.Subscriber,
		Load:    config.LoadSubscriber,
		HealthURL: func(c config.SubscriberConfig) (string, error) {
			if c.MetricsPort == 0 {
				return "", fmt.Errorf("healthcheck needs %s (it is 0)", config.SubscriberPort.Name)
			}
			return cli.LocalURL("", c.MetricsPort, "/healthz"), nil
		},
	}.Start(ctx, args, getenv, stdout)
	if !ok {
		return err
	}
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
