package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/hibiken/asynq"

	"github.com/wmo-im/wis2downloader/internal/api"
	"github.com/wmo-im/wis2downloader/internal/cli"
	"github.com/wmo-im/wis2downloader/internal/config"
	"github.com/wmo-im/wis2downloader/internal/httpserver"
	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/redisconn"
	"github.com/wmo-im/wis2downloader/internal/telemetry"
)

// run is the whole program: command line, configuration, then the HTTP
// server until ctx ends (SIGTERM drains in-flight requests).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	cfg, logger, ok, err := cli.Program[config.APIConfig]{
		Service: config.API,
		Load:    config.LoadAPI,
		HealthURL: func(c config.APIConfig) (string, error) {
			return cli.LocalURL(c.Host, c.Port, "/health"), nil
		},
	}.Start(ctx, args, getenv, stdout)
	if !ok {
		return err
	}
	clients := redisconn.New(cfg.Redis)
	defer clients.Close()
	insp := asynq.NewInspectorFromRedisClient(clients.Queue)

	reg := telemetry.NewRegistry()
	if err := reg.Register(metrics.NewCollector(clients.App, insp, cfg.Queue, cfg.Redis.Timeout+cfg.Redis.DialTimeout, logger)); err != nil {
		return fmt.Errorf("register metrics collector: %w", err)
	}
	h, err := api.New(api.Options{
		Redis:     clients.App,
		Inspector: insp,
		Queue:     cfg.Queue,
		Gatherer:  reg,
		Token:     cfg.Token,
		BodyLimit: cfg.BodyLimit,
		Debug:     cfg.Debug,
		Logger:    logger,
	})
	if err != nil {
		return err
	}
	srv := httpserver.New(net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), http.MaxBytesHandler(h, cfg.BodyLimit))
	if cfg.Debug {
		logger.Warn("API_DEBUG is on: /debug/pprof is served (behind the bearer token)")
	}
	return httpserver.Run(ctx, srv, logger)
}
