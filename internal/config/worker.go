package config

import "time"

// WorkerConfig is the configuration of the download worker.
type WorkerConfig struct {
	Common
	Queue           string
	DataPath        string
	Concurrency     int
	DedupTTL        time.Duration
	LockTTL         time.Duration
	GCExclude       []string
	ChunkSize       int
	Retention       time.Duration // 0 = keep forever
	MaxBytes        int64
	ConnectTimeout  time.Duration
	ReadTimeout     time.Duration
	TotalTimeout    time.Duration
	MaxAttempts     int
	HostConcurrency int
	AllowPrivate    bool
	AllowNetworks   []string // CIDRs
	CAFile          string
	ApplyDeletions  bool
	MinFreeBytes    int64
	PathLayout      string
	PollInterval    time.Duration
	MetricsPort     int
}

// LoadWorker reads the worker's configuration.
func LoadWorker(src *Source) (WorkerConfig, error) {
	l := newLoader(src)
	c := WorkerConfig{Common: l.common()}
	c.Queue = l.queue(&c.Common)
	_ = l.int(ResultDB) // accepted for compatibility, unused
	c.DataPath = l.str(DataPath)
	c.Concurrency = l.int(Concurrency)
	c.DedupTTL = l.seconds(RedisTTL)
	c.LockTTL = l.seconds(RedisLock)
	c.GCExclude = l.list(GCExclude)
	c.ChunkSize = l.int(ChunkSize)
	c.Retention = time.Duration(l.int(Retention)) * 24 * time.Hour
	c.MaxBytes = l.int64(MaxBytes)
	c.ConnectTimeout = l.seconds(ConnectTimeout)
	c.ReadTimeout = l.seconds(ReadTimeout)
	c.TotalTimeout = l.seconds(TotalTimeout)
	c.MaxAttempts = l.int(MaxAttempts)
	c.HostConcurrency = l.int(HostConcurrency)
	c.AllowPrivate = l.bool(AllowPrivate)
	c.AllowNetworks = l.list(AllowNetworks)
	c.CAFile = l.str(CAFile)
	c.ApplyDeletions = l.bool(DeleteOnDeletion)
	c.MinFreeBytes = l.int64(MinFreeBytes)
	c.PathLayout = l.str(PathLayout)
	c.PollInterval = l.seconds(PollInterval)
	c.MetricsPort = l.port(WorkerPort)
	if c.Concurrency < 1 {
		c.Concurrency = 1
	}
	return c, l.finish(&c.Common)
}
