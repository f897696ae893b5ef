package testsvc

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/config"
	"github.com/wmo-im/wis2downloader/internal/redisconn"
)

// Redis is a running redis-server owned by one test.
type Redis struct {
	Addr     string // 127.0.0.1:Port
	Host     string // 127.0.0.1
	Port     int
	Password string // random, required by the server (requirepass)
	Dir      string // working directory: redis.conf, redis.log, the AOF

	server
	extra []string
}

// RedisOption changes how StartRedis configures the server.
type RedisOption func(*Redis)

// RedisConfig adds redis.conf lines (e.g. "maxmemory 10mb"); later lines win.
func RedisConfig(lines ...string) RedisOption {
	return func(r *Redis) { r.extra = append(r.extra, lines...) }
}

// StartRedis starts a redis-server on a free loopback port in a directory of
// t.TempDir(), protected by a random password and with the append-only file
// on (fsync always), so data survives Stop/Start and even Kill/Start. It
// returns once the server answers AUTH and PING, and stops it when the test
// ends; the server log is printed when the test failed.
func StartRedis(t testing.TB, opts ...RedisOption) *Redis {
	t.Helper()
	bin := findBinary(t, "redis-server")
	r := &Redis{
		Host:     "127.0.0.1",
		Password: randomSecret(),
		Dir:      filepath.Join(t.TempDir(), "redis"),
	}
	for _, o := range opts {
		o(r)
	}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		t.Fatalf("testsvc: %v", err)
	}
	r.server = server{
		t: t,
		proc: &process{
			name:    "redis-server",
			bin:     bin,
			args:    []string{filepath.Join(r.Dir, "redis.conf")},
			logPath: filepath.Join(r.Dir, "redis.log"),
		},
		probe: r.probe,
		where: func() string { return "redis-server on " + r.Addr },
	}
	err := r.launch(func() error {
		var err error
		if r.Port, err = freePort(); err != nil {
			return err
		}
		r.Addr = net.JoinHostPort(r.Host, strconv.Itoa(r.Port))
		return r.writeConfig()
	})
	if err != nil {
		t.Fatalf("testsvc: start redis-server: %v", err)
	}
	return r
}

func (r *Redis) writeConfig() error {
	lines := []string{
		"bind 127.0.0.1",
		"port " + strconv.Itoa(r.Port),
		"protected-mode yes",
		"daemonize no",
		`logfile ""`,
		"dir " + r.Dir,
		"requirepass " + r.Password,
		"appendonly yes",
		"appendfsync always",
		`save ""`,
		"databases 16",
	}
	lines = append(lines, r.extra...)
	return os.WriteFile(filepath.Join(r.Dir, "redis.conf"), []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

// probe succeeds when the server accepts a connection and answers AUTH and
// PING (not LOADING). It dials first so that go-redis, which logs and backs
// off after failed dials, only runs once the port is open.
func (r *Redis) probe(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", r.Addr)
	if err != nil {
		return err
	}
	conn.Close()
	c := redis.NewClient(&redis.Options{
		Addr: r.Addr, Password: r.Password,
		DialTimeout: time.Second, MaxRetries: -1, PoolSize: 1,
	})
	defer c.Close()
	return c.Ping(ctx).Err()
}

// Config returns the product's Redis settings for this server, with both the
// application and the queue database set to db.
func (r *Redis) Config(db int) config.Redis {
	return config.Redis{
		Host:        r.Host,
		Port:        r.Port,
		DB:          db,
		QueueDB:     db,
		Password:    r.Password,
		DialTimeout: 5 * time.Second,
		Timeout:     3 * time.Second,
	}
}

// Client returns a go-redis client for database 0, built with redisconn like
// the services build theirs; it is closed when the test ends.
func (r *Redis) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(redisconn.Options(r.Config(0), 0))
	t.Cleanup(func() { _ = c.Close() })
	return c
}
