package config

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// Log holds the logging settings of every service.
type Log struct {
	Level  string // DEBUG, INFO, WARNING, ERROR
	Format string // text or json
}

// Redis holds the connection settings shared by go-redis and asynq.
type Redis struct {
	Host        string
	Port        int
	DB          int
	QueueDB     int
	Username    string
	Password    string
	DialTimeout time.Duration
	Timeout     time.Duration
}

// Addr is host:port of the Redis server.
func (r Redis) Addr() string { return net.JoinHostPort(r.Host, strconv.Itoa(r.Port)) }

// Common is what every service reads.
type Common struct {
	Log      Log
	Redis    Redis
	Settings Settings // every variable read, for a redacted start-up log line
}

func (l *loader) common() Common {
	c := Common{
		Log: Log{
			Level:  l.oneOf(LogLevel, "debug", "info", "warning", "warn", "error"),
			Format: l.oneOf(LogFormat, "text", "json"),
		},
		Redis: Redis{
			Host:        l.str(RedisHost),
			Port:        l.port(RedisPort),
			DB:          l.int(RedisDB),
			Username:    l.str(RedisUsername),
			Password:    l.raw(RedisPassword),
			DialTimeout: l.seconds(RedisDialTimeout),
			Timeout:     l.seconds(RedisTimeout),
		},
	}
	if c.Redis.DB < 0 || c.Redis.DB > 15 {
		l.errs = append(l.errs, fmt.Errorf("%s: %d is not a database number (0-15)", RedisDB.Name, c.Redis.DB))
	}
	return c
}

// queue reads the queue settings used by the services that touch asynq.
func (l *loader) queue(c *Common) string {
	c.Redis.QueueDB = l.int(QueueDB)
	return l.str(Queue)
}

func (l *loader) finish(c *Common) error {
	c.Settings = l.seen
	return l.err()
}

// Base returns the settings every service shares; every service
// configuration embeds Common and so has this method.
func (c Common) Base() Common { return c }
