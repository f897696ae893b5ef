// Package api is the subscription manager: the REST API on /subscriptions,
// /health, the Prometheus /metrics endpoint, the OpenAPI document and the
// Swagger UI served from the binary.
package api

import (
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/subscription"
)

// QueueInspector is the part of *asynq.Inspector the health check uses.
type QueueInspector interface {
	GetQueueInfo(queue string) (*asynq.QueueInfo, error)
	Queues() ([]string, error)
}

// Options are the dependencies of the API.
type Options struct {
	Redis     *redis.Client       // application database: subscriptions, heartbeats
	Inspector QueueInspector      // download queue (asynq); nil: an inspector on Redis
	Queue     string              // name of the download queue
	Gatherer  prometheus.Gatherer // served on /metrics; nil: an empty registry
	Token     string              // bearer token required on /subscriptions
	BodyLimit int64               // largest request body in bytes
	Debug     bool                // serve /debug/pprof (behind the token)
	Logger    *slog.Logger        // nil: discard
	// CacheMaxAge overrides DefaultCacheMaxAge (tests).
	CacheMaxAge time.Duration
}

// API holds the handlers' dependencies.
type API struct {
	rdb       *redis.Client
	store     *subscription.Store
	list      *listCache
	insp      QueueInspector
	queue     string
	metrics   *metricsHandler
	tokenHash [sha256.Size]byte
	bodyLimit int64
	debug     bool
	logger    *slog.Logger
	openapi   []byte           // the OpenAPI document as JSON
	assets    map[string]asset // Swagger UI files
}

// New returns the API's HTTP handler.
func New(o Options) (http.Handler, error) {
	if o.Token == "" {
		return nil, errors.New("api: empty bearer token")
	}
	if o.Redis == nil {
		return nil, errors.New("api: no Redis client")
	}
	if o.Inspector == nil {
		o.Inspector = asynq.NewInspectorFromRedisClient(o.Redis)
	}
	if o.Gatherer == nil {
		o.Gatherer = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.BodyLimit <= 0 {
		o.BodyLimit = 64 << 10
	}
	doc, err := openAPIJSON()
	if err != nil {
		return nil, err
	}
	assets, err := loadAssets()
	if err != nil {
		return nil, err
	}
	if o.CacheMaxAge <= 0 {
		o.CacheMaxAge = DefaultCacheMaxAge
	}
	list := &listCache{maxAge: o.CacheMaxAge}
	list.store = subscription.NewStore(o.Redis, subscription.OnChange(list.changed))
	a := &API{
		rdb:       o.Redis,
		store:     list.store,
		list:      list,
		insp:      o.Inspector,
		queue:     o.Queue,
		metrics:   newMetricsHandler(o.Gatherer, o.CacheMaxAge, o.Logger),
		tokenHash: sha256.Sum256([]byte(o.Token)),
		bodyLimit: o.BodyLimit,
		debug:     o.Debug,
		logger:    o.Logger,
		openapi:   doc,
		assets:    assets,
	}
	return a.routes(), nil
}
