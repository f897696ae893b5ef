package config

// Service names as used in Var.Services, log lines and metrics.
const (
	Subscriber = "subscriber"
	API        = "api"
	Worker     = "worker"
	UI         = "ui"
	Compose    = "compose" // read only by docker-compose.yaml, never by a binary
)

// Var describes one environment variable.
type Var struct {
	Name     string
	Aliases  []string // older or seed names accepted as well
	Default  string
	Help     string
	Secret   bool // never printed; NAME_FILE accepted
	Required bool
	Services []string
}

var all = []string{Subscriber, API, Worker, UI}

// Application-wide variables.
var (
	LogLevel  = Var{Name: "LOG_LEVEL", Default: "INFO", Help: "Logging level: DEBUG, INFO, WARNING, ERROR", Services: all}
	LogFormat = Var{Name: "LOG_FORMAT", Default: "text", Help: "Log line format: text (the admin guide's one-line format) or json", Services: all}
	DataPath  = Var{Name: "CONTAINER_DATA_PATH", Aliases: []string{"DATA_BASEPATH"}, Default: "/data", Help: "Base directory for downloaded files", Services: []string{Worker, API}}
	HostData  = Var{Name: "HOST_DATA_PATH", Default: "./downloads", Help: "Host directory mounted at CONTAINER_DATA_PATH (compose only)", Services: []string{Compose}}
	Queue     = Var{Name: "DOWNLOAD_QUEUE", Aliases: []string{"CELERY_DEFAULT_QUEUE"}, Default: "downloads", Help: "Name of the asynq queue that carries download tasks", Services: []string{Subscriber, Worker, API}}
)

// Redis variables.
var (
	RedisHost        = Var{Name: "REDIS_HOST", Default: "localhost", Help: "Redis server hostname", Services: all}
	RedisPort        = Var{Name: "REDIS_PORT", Default: "6379", Help: "Redis server port", Services: all}
	RedisDB          = Var{Name: "REDIS_DATABASE", Default: "0", Help: "Redis database number for application keys", Services: all}
	RedisUsername    = Var{Name: "REDIS_USERNAME", Default: "", Help: "Redis ACL user name (empty: the default user)", Services: all}
	RedisPassword    = Var{Name: "REDIS_PASSWORD", Required: true, Secret: true, Help: "Redis authentication password (required; the process exits if unset)", Services: append([]string{Compose}, all...)}
	RedisDialTimeout = Var{Name: "REDIS_DIAL_TIMEOUT", Default: "5s", Help: "Timeout for connecting to Redis", Services: all}
	RedisTimeout     = Var{Name: "REDIS_TIMEOUT", Default: "3s", Help: "Read/write timeout of one Redis command", Services: all}
	QueueDB          = Var{Name: "QUEUE_REDIS_DB", Aliases: []string{"CELERY_BACKEND_DB"}, Default: "0", Help: "Redis database number of the asynq task queue", Services: []string{Subscriber, Worker, API}}
	ResultDB         = Var{Name: "CELERY_RESULT_DB", Default: "1", Help: "Accepted for compatibility; asynq keeps no result backend, so it is unused", Services: []string{Worker}}
	RedisTTL         = Var{Name: "REDIS_TTL_SECONDS", Default: "3600", Help: "TTL (seconds) of deduplication keys", Services: []string{Worker}}
	RedisLock        = Var{Name: "REDIS_MESSAGE_LOCK", Default: "300", Help: "Lock expiry (seconds) preventing concurrent downloads of the same data", Services: []string{Worker}}
)

// MQTT / subscriber variables.
var (
	BrokerHost      = Var{Name: "GLOBAL_BROKER_HOST", Required: true, Help: "WIS2 Global Broker hostname (e.g. globalbroker.meteo.fr)", Services: []string{Subscriber}}
	BrokerPort      = Var{Name: "GLOBAL_BROKER_PORT", Default: "443", Help: "Broker port", Services: []string{Subscriber}}
	BrokerUsername  = Var{Name: "GLOBAL_BROKER_USERNAME", Default: "everyone", Help: "MQTT username", Services: []string{Subscriber}}
	BrokerPassword  = Var{Name: "GLOBAL_BROKER_PASSWORD", Default: "everyone", Secret: true, Help: "MQTT password", Services: []string{Subscriber}}
	MQTTProtocol    = Var{Name: "MQTT_PROTOCOL", Default: "websockets", Help: "Transport protocol: websockets or tcp", Services: []string{Subscriber}}
	MQTTSessionID   = Var{Name: "MQTT_SESSION_ID", Default: "", Help: "MQTT client id / persistent session; default derived from host name and broker", Services: []string{Subscriber}}
	MQTTTLS         = Var{Name: "MQTT_TLS", Default: "auto", Help: "TLS to the broker: auto (on for ports 443 and 8883), true or false", Services: []string{Subscriber}}
	MQTTCAFile      = Var{Name: "MQTT_CA_FILE", Default: "", Help: "Extra CA certificate (PEM) trusted besides the system roots", Services: []string{Subscriber}}
	MQTTWSPath      = Var{Name: "MQTT_WS_PATH", Default: "/mqtt", Help: "WebSocket path on the broker (/mqtt; NOAA uses /ws)", Services: []string{Subscriber}}
	MQTTExpiry      = Var{Name: "MQTT_SESSION_EXPIRY", Default: "3600", Help: "Seconds the broker keeps the session (and queued QoS 1 messages) while disconnected", Services: []string{Subscriber}}
	MQTTKeepAlive   = Var{Name: "MQTT_KEEPALIVE", Default: "60", Help: "MQTT keep-alive in seconds", Services: []string{Subscriber}}
	MQTTShareGroup  = Var{Name: "MQTT_SHARE_GROUP", Default: "", Help: "Shared-subscription group ($share/<group>/...) so replicas split the load; empty = off", Services: []string{Subscriber}}
	Reconcile       = Var{Name: "SUBSCRIBER_RECONCILE_INTERVAL", Default: "30s", Help: "How often the subscriber re-reads global:subscriptions to heal lost commands", Services: []string{Subscriber}}
	UnhealthyAfter  = Var{Name: "SUBSCRIBER_UNHEALTHY_AFTER", Default: "120s", Help: "Subscriber reports unhealthy after the broker connection is down this long", Services: []string{Subscriber}}
	SubscriberPort  = Var{Name: "SUBSCRIBER_METRICS_PORT", Default: "9101", Help: "Port of the subscriber's /healthz and /metrics (0 = off)", Services: []string{Subscriber}}
	SubscriberFlows = Var{Name: "SUBSCRIBER_ENQUEUERS", Default: "16", Help: "Concurrent enqueue workers between MQTT and the queue", Services: []string{Subscriber}}
)

// Worker variables.
var (
	Concurrency      = Var{Name: "WORKER_CONCURRENCY", Default: "16", Help: "Download tasks processed concurrently by one worker process", Services: []string{Worker}}
	GCExclude        = Var{Name: "GC_EXCLUDE", Default: "", Help: "Comma-separated list of Global Cache hostnames to exclude", Services: []string{Worker}}
	ChunkSize        = Var{Name: "DOWNLOAD_CHUNK_SIZE", Default: "65536", Help: "Streaming buffer size in bytes", Services: []string{Worker}}
	Retention        = Var{Name: "DOWNLOAD_RETENTION_PERIOD", Default: "30", Help: "Days a downloaded file is kept before cleanup (0 = keep forever)", Services: []string{Worker}}
	MaxBytes         = Var{Name: "DOWNLOAD_MAX_BYTES", Default: "1073741824", Help: "Largest file accepted, in bytes", Services: []string{Worker}}
	ConnectTimeout   = Var{Name: "DOWNLOAD_CONNECT_TIMEOUT", Default: "10s", Help: "Timeout for connecting to a cache or origin server", Services: []string{Worker}}
	ReadTimeout      = Var{Name: "DOWNLOAD_READ_TIMEOUT", Default: "60s", Help: "Timeout while no byte arrives during a download", Services: []string{Worker}}
	TotalTimeout     = Var{Name: "DOWNLOAD_TIMEOUT", Default: "15m", Help: "Upper limit for one whole download", Services: []string{Worker}}
	MaxAttempts      = Var{Name: "DOWNLOAD_MAX_ATTEMPTS", Default: "6", Help: "Attempts for retryable failures (404 soon after publication, 429, 5xx, timeouts) before FAILED", Services: []string{Worker}}
	HostConcurrency  = Var{Name: "DOWNLOAD_HOST_CONCURRENCY", Default: "5", Help: "Concurrent downloads per host and worker process", Services: []string{Worker}}
	AllowPrivate     = Var{Name: "DOWNLOAD_ALLOW_PRIVATE_NETWORKS", Default: "false", Help: "Allow downloads from loopback/private/link-local addresses (tests, private caches)", Services: []string{Worker}}
	AllowNetworks    = Var{Name: "DOWNLOAD_ALLOW_NETWORKS", Default: "", Help: "Comma-separated CIDRs allowed even though private/loopback (e.g. a private cache 10.1.2.0/24)", Services: []string{Worker}}
	CAFile           = Var{Name: "DOWNLOAD_CA_FILE", Default: "", Help: "Extra CA certificate (PEM) trusted for downloads besides the system roots", Services: []string{Worker}}
	DeleteOnDeletion = Var{Name: "DOWNLOAD_APPLY_DELETIONS", Default: "false", Help: "Remove the local copy when a notification with rel=deletion arrives", Services: []string{Worker}}
	MinFreeBytes     = Var{Name: "DOWNLOAD_MIN_FREE_BYTES", Default: "1073741824", Help: "Downloads wait (reason disk_full) while free space is below this many bytes", Services: []string{Worker}}
	PathLayout       = Var{Name: "DOWNLOAD_PATH_LAYOUT", Default: "{target}/{yyyy}/{mm}/{dd}/{centre_id}/{filename}", Help: "Layout of stored files below the data root", Services: []string{Worker}}
	PollInterval     = Var{Name: "WORKER_POLL_INTERVAL", Default: "5ms", Help: "How often an idle worker polls the queue: the latency floor on a quiet feed (each poll is one cheap Redis script)", Services: []string{Worker}}
	WorkerPort       = Var{Name: "WORKER_METRICS_PORT", Default: "9102", Help: "Port of the worker's /healthz and /metrics (0 = off)", Services: []string{Worker}}
)

// API variables.
var (
	APIHost      = Var{Name: "API_HOST", Aliases: []string{"FLASK_HOST"}, Default: "0.0.0.0", Help: "API bind address", Services: []string{API}}
	APIPort      = Var{Name: "API_PORT", Aliases: []string{"FLASK_PORT"}, Default: "5001", Help: "API bind port (internal; compose publishes it on 5002)", Services: []string{API}}
	APISecretKey = Var{Name: "API_SECRET_KEY", Aliases: []string{"FLASK_SECRET_KEY"}, Required: true, Secret: true, Help: "API secret key (the original's FLASK_SECRET_KEY); required so deployments keep one, reserved for signing, unused by this version", Services: []string{API}}
	APIDebug     = Var{Name: "API_DEBUG", Aliases: []string{"FLASK_DEBUG"}, Default: "false", Help: "Debug mode: serves /debug/pprof; keep false in production", Services: []string{API}}
	APIToken     = Var{Name: "API_TOKEN", Required: true, Secret: true, Help: "Bearer token required on /subscriptions (the UI sends it too)", Services: []string{API, UI}}
	APIBodyLimit = Var{Name: "API_MAX_BODY_BYTES", Default: "65536", Help: "Largest accepted request body", Services: []string{API}}
)

// UI variables.
var (
	UIHost     = Var{Name: "UI_HOST", Default: "0.0.0.0", Help: "UI bind address", Services: []string{UI}}
	UIPort     = Var{Name: "UI_PORT", Default: "8080", Help: "UI bind port", Services: []string{UI}}
	UIAPIURL   = Var{Name: "WIS2_SUBSCRIPTION_MANAGER_URL", Aliases: []string{"WIS2DOWNLOADER_SUBSCRIPTION_MANAGER_URL"}, Default: "http://api:5001", Help: "Internal URL the UI uses to reach the subscription API", Services: []string{UI}}
	GrafanaURL = Var{Name: "WIS2_GRAFANA_URL", Aliases: []string{"WIS2DOWNLOADER_GRAFANA_URL"}, Default: "http://localhost:3000", Help: "URL used to embed Grafana panels in the dashboard view", Services: []string{UI}}
	UISecret   = Var{Name: "UI_SECRET_KEY", Aliases: []string{"STORAGE_SECRET"}, Required: true, Secret: true, Help: "Secret signing UI session cookies (required)", Services: []string{UI}}
	GDCTTL     = Var{Name: "GDC_CACHE_TTL_SECONDS", Default: "21600", Help: "Seconds to cache GDC catalogue data in Redis (0 = no cache)", Services: []string{UI}}
)

// Vars lists every variable, in documentation order.
func Vars() []Var {
	return []Var{
		LogLevel, LogFormat, DataPath, HostData, Queue,
		RedisHost, RedisPort, RedisDB, RedisUsername, RedisPassword, RedisDialTimeout, RedisTimeout, QueueDB, ResultDB, RedisTTL, RedisLock,
		BrokerHost, BrokerPort, BrokerUsername, BrokerPassword, MQTTProtocol, MQTTSessionID, MQTTTLS, MQTTCAFile, MQTTWSPath, MQTTExpiry, MQTTKeepAlive, MQTTShareGroup, Reconcile, UnhealthyAfter, SubscriberPort, SubscriberFlows,
		Concurrency, GCExclude, ChunkSize, Retention, MaxBytes, ConnectTimeout, ReadTimeout, TotalTimeout, MaxAttempts, HostConcurrency, AllowPrivate, AllowNetworks, CAFile, DeleteOnDeletion, MinFreeBytes, PathLayout, PollInterval, WorkerPort,
		APIHost, APIPort, APISecretKey, APIDebug, APIToken, APIBodyLimit,
		UIHost, UIPort, UIAPIURL, GrafanaURL, UISecret, GDCTTL,
	}
}
