package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"

	"github.com/wmo-im/wis2downloader/internal/cli"
	"github.com/wmo-im/wis2downloader/internal/config"
	"github.com/wmo-im/wis2downloader/internal/download"
	"github.com/wmo-im/wis2downloader/internal/httpserver"
	"github.com/wmo-im/wis2downloader/internal/maintenance"
	"github.com/wmo-im/wis2downloader/internal/redisconn"
	"github.com/wmo-im/wis2downloader/internal/tasks"
	"github.com/wmo-im/wis2downloader/internal/telemetry"
)

// Queue polling and shutdown timing.
const (
	// defaultPollInterval is used when WORKER_POLL_INTERVAL is 0 or
	// negative (asynq would otherwise fall back to 1 s).
	defaultPollInterval = 5 * time.Millisecond
	// delayedCheckInterval moves due retries back to the queue.
	delayedCheckInterval = time.Second
	// shutdownTimeout lets in-flight downloads finish on SIGTERM; what is
	// still running then is pushed back to the queue. The compose file gives
	// the worker a 60 s stop grace period.
	shutdownTimeout = 20 * time.Second
)

func run(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	cfg, logger, ok, err := cli.Program[config.WorkerConfig]{
		Service: config.Worker,
		Load:    config.LoadWorker,
		HealthURL: func(c config.WorkerConfig) (string, error) {
			if c.MetricsPort == 0 {
				return "", fmt.Errorf("healthcheck needs %s (it is 0)", config.WorkerPort.Name)
			}
			return cli.LocalURL("", c.MetricsPort, "/healthz"), nil
		},
	}.Start(ctx, args, getenv, stdout)
	if !ok {
		return err
	}
	return serve(ctx, cfg, logger)
}

// serve runs the worker until ctx ends (SIGTERM): it then stops taking
// tasks, lets running downloads finish for up to shutdownTimeout and
// returns the rest to the queue.
func serve(ctx context.Context, cfg config.WorkerConfig, logger *slog.Logger) error {
	clients := redisconn.New(cfg.Redis)
	defer clients.Close()
	reg := telemetry.NewRegistry()

	h, err := download.New(cfg, clients.App, logger, reg)
	if err != nil {
		return err
	}
	defer h.Close()
	maint := maintenance.New(cfg.DataPath, cfg.Retention, clients.App, logger)

	alog := asynqLogger{logger}
	level := asynq.WarnLevel
	if l, _ := telemetry.ParseLevel(cfg.Log.Level); l <= slog.LevelDebug {
		level = asynq.DebugLevel
	}
	// The ops port is taken first, so a busy port fails before any task runs.
	var ln net.Listener
	if cfg.MetricsPort != 0 {
		if ln, err = net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(cfg.MetricsPort))); err != nil {
			return fmt.Errorf("ops listener: %w", err)
		}
	}
	lanes := make([]*asynq.Server, 0, 4)
	for _, conc := range laneConcurrency(cfg.Concurrency) {
		// Every lane polls an idle queue: the first to wake takes a new
		// task, so two lanes halve the wait on a quiet feed.
		poll := pollInterval(cfg.PollInterval)
		lanes = append(lanes, asynq.NewServerFromRedisClient(clients.Queue, asynq.Config{
			Concurrency:              conc,
			Queues:                   map[string]int{cfg.Queue: 1},
			TaskCheckInterval:        poll,
			DelayedTaskCheckInterval: delayedCheckInterval,
			RetryDelayFunc:           download.RetryDelay,
			IsFailure:                download.IsFailure,
			ShutdownTimeout:          shutdownTimeout,
			Logger:                   alog,
			LogLevel:                 level,
		}))
	}
	mux := asynq.NewServeMux()
	mux.Handle(tasks.TypeDownload, h)
	maint.Register(mux)

	// The scheduler gets its own small connection: with a shared client its
	// Shutdown logs an error for the client it may not close.
	qo := redisconn.Options(cfg.Redis, cfg.Redis.QueueDB)
	sched := asynq.NewScheduler(asynq.RedisClientOpt{
		Addr: qo.Addr, Username: qo.Username, Password: qo.Password, DB: qo.DB,
		DialTimeout: qo.DialTimeout, ReadTimeout: qo.ReadTimeout, WriteTimeout: qo.WriteTimeout, PoolSize: 2,
	}, &asynq.SchedulerOpts{Logger: alog, LogLevel: level, Location: time.UTC})
	if err := maint.Schedule(sched, cfg.Queue); err != nil {
		closeListener(ln)
		return err
	}

	for i, srv := range lanes {
		if err := srv.Start(mux); err != nil {
			shutdownLanes(lanes[:i])
			closeListener(ln)
			return fmt.Errorf("start task server: %w", err)
		}
	}
	var running atomic.Bool
	running.Store(true)
	if err := sched.Start(); err != nil {
		shutdownLanes(lanes)
		closeListener(ln)
		return fmt.Errorf("start scheduler: %w", err)
	}
	if err := maint.Disk(ctx); err != nil {
		logger.Warn("disk gauges", "error", err)
	}

	var wg sync.WaitGroup
	httpErr := make(chan error, 1)
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	if ln != nil {
		health := func(hctx context.Context) (map[string]any, error) {
			d := map[string]any{"queue": cfg.Queue}
			if !running.Load() {
				return d, errors.New("task server stopped")
			}
			if err := redisconn.Ping(hctx, clients.App); err != nil {
				return d, err
			}
			return d, nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := httpserver.Serve(opsCtx, httpserver.New("", httpserver.Ops(reg, health)), ln, logger); err != nil {
				httpErr <- err
			}
		}()
	}
	logger.Info("worker running", "queue", cfg.Queue, "dequeue_lanes", len(lanes))

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down: finishing in-flight downloads", "timeout", shutdownTimeout)
	case runErr = <-httpErr:
	}
	sched.Shutdown()
	shutdownLanes(lanes)
	running.Store(false)
	stopOps()
	wg.Wait()
	logger.Info("worker stopped")
	return runErr
}

// tasksPerLane is how many concurrent tasks share one asynq server. An asynq
// server takes tasks off the queue one Redis round trip at a time, in one
// loop; with 16 concurrent short downloads that loop, not the downloads, set
// the pace. The worker therefore runs one server ("dequeue lane") per
// tasksPerLane tasks of WORKER_CONCURRENCY, all on the same queue and
// handler (the per-host limit and caches are shared).
const tasksPerLane = 8

// laneConcurrency splits the worker's concurrency over its lanes.
func laneConcurrency(total int) []int {
	total = max(total, 1)
	n := (total + tasksPerLane - 1) / tasksPerLane
	out := make([]int, n)
	for i := range out {
		out[i] = total / n
		if i < total%n {
			out[i]++
		}
	}
	return out
}

// shutdownLanes stops every lane taking tasks, then lets each finish its
// running tasks (up to shutdownTimeout, all lanes at the same time) and
// returns the rest to the queue.
func shutdownLanes(lanes []*asynq.Server) {
	for _, srv := range lanes {
		srv.Stop()
	}
	var wg sync.WaitGroup
	for _, srv := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.Shutdown()
		}()
	}
	wg.Wait()
}

// pollInterval is asynq's TaskCheckInterval: an idle worker sleeps between
// half and one and a half of it before polling the queue again, so it sets
// the latency floor on a quiet feed (WORKER_POLL_INTERVAL).
func pollInterval(d time.Duration) time.Duration {
	if d <= 0 {
		return defaultPollInterval
	}
	return d
}

func closeListener(ln net.Listener) {
	if ln != nil {
		ln.Close()
	}
}
