package download

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/config"
	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/tasks"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

// patternReader yields size bytes of a fixed pattern without holding them.
type patternReader struct {
	block []byte
	off   int
	left  int64
}

var patternBlock = func() []byte {
	b := make([]byte, 64<<10)
	copy(b, "BUFR")
	for i := 4; i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	return b
}()

func newPattern(size int64) *patternReader { return &patternReader{block: patternBlock, left: size} }

func (p *patternReader) Read(buf []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	n := copy(buf, p.block[p.off:min(int64(len(p.block)), int64(p.off)+p.left)])
	p.off = (p.off + n) % len(p.block)
	p.left -= int64(n)
	return n, nil
}

// WriteTo lets io.Copy hand the blocks to the response writer without a
// copy buffer of its own (32 KiB per response).
func (p *patternReader) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for p.left > 0 {
		m, err := w.Write(p.block[p.off:min(int64(len(p.block)), int64(p.off)+p.left)])
		n += int64(m)
		p.off = (p.off + m) % len(p.block)
		p.left -= int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func patternDigest(size int64) string {
	h := sha512.New()
	io.Copy(h, newPattern(size))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// cpuUse is the CPU time used so far by this test process (worker, HTTP
// server, asynq) and by the redis-server: per-file CPU figures hold when the
// machine is shared and wall-clock rates do not.
type cpuUse struct{ self, redis time.Duration }

func takeCPU(b *testing.B, rdb *redis.Client) cpuUse {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	c := cpuUse{self: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(l, ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, _ := strconv.ParseFloat(v, 64)
			c.redis += time.Duration(f * float64(time.Second))
		}
	}
	return c
}

// report adds the CPU microseconds per unit spent since c.
func (c cpuUse) report(b *testing.B, rdb *redis.Client, unit string) {
	d := takeCPU(b, rdb)
	b.ReportMetric(float64((d.self-c.self).Microseconds())/float64(b.N), "cpu-us/"+unit)
	b.ReportMetric(float64((d.redis-c.redis).Microseconds())/float64(b.N), "redis-us/"+unit)
}

func vmHWM() string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "?"
}

// benchWorker enqueues b.N notifications of size bytes and measures how
// fast a worker (asynq server, concurrency 16) stores them.
func benchWorker(b *testing.B, size int64) {
	r := testsvc.StartRedis(b, testsvc.RedisConfig("appendfsync everysec"))
	e := newEnvOn(b, r, func(c *config.WorkerConfig) {
		c.Concurrency = 16
		if n, _ := strconv.Atoi(os.Getenv("WIS2_BENCH_CONC")); n > 0 {
			c.Concurrency = n
		}
		c.MinFreeBytes = 0
		if n, _ := strconv.Atoi(os.Getenv("WIS2_BENCH_HOSTCONC")); n > 0 {
			c.HostConcurrency = n
		}
		// WIS2_BENCH_DATA puts the data root elsewhere (e.g. /dev/shm, to
		// measure the worker rather than the disk).
		if d := os.Getenv("WIS2_BENCH_DATA"); d != "" {
			c.DataPath = d + "/" + strconv.FormatInt(time.Now().UnixNano(), 36)
			b.Cleanup(func() { os.RemoveAll(c.DataPath) })
		}
	})
	digest := patternDigest(size)
	srv := serveFunc(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		io.Copy(w, newPattern(size))
	})
	client := asynq.NewClientFromRedisClient(e.rdb)
	now := time.Now()
	for i := range b.N {
		id := fmt.Sprintf("bench-%d", i)
		m := notification(id, "bench/"+id, fmt.Sprintf("%s/f/%d.bufr", srv.URL, i), nil, now)
		m.props()["integrity"] = map[string]any{"method": "sha512", "value": digest}
		m.link()["length"] = size
		raw := m.json(b)
		task, err := tasks.NewDownload(tasks.Download{Topic: testTopic, Message: raw, Targets: []tasks.Target{target("s", strp("bench"), "")}},
			id, asynq.Queue(e.cfg.Queue), asynq.MaxRetry(25))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := client.Enqueue(task); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	cpu0 := takeCPU(b, e.rdb)
	start := time.Now()
	// Like the worker binary, one asynq server per 8 concurrent tasks
	// (WIS2_BENCH_LANES overrides), sharing the handler.
	lanes := (e.cfg.Concurrency + 7) / 8
	if n, _ := strconv.Atoi(os.Getenv("WIS2_BENCH_LANES")); n > 0 {
		lanes = n
	}
	conc := e.cfg.Concurrency
	e.cfg.Concurrency = max(conc/lanes, 1)
	for range lanes {
		e.startServer(nil)
	}
	e.cfg.Concurrency = conc
	ctx := context.Background()
	field := metrics.Labels{"status": "success"}.Field()
	for {
		n, _ := e.rdb.HGet(ctx, metrics.Key(metrics.Notifications), field).Float64()
		if int(n) >= b.N {
			break
		}
		failed, _ := e.rdb.HGet(ctx, metrics.Key(metrics.Notifications), metrics.Labels{"status": "failed"}.Field()).Float64()
		if failed > 0 {
			b.Fatalf("%v downloads failed (bench-0: %s %s)", failed, e.status("bench-0"), e.reason("bench-0"))
		}
		time.Sleep(2 * time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	cpu0.report(b, e.rdb, "file")
	if os.Getenv("WIS2_BENCH_REDIS_STATS") != "" {
		st, _ := e.rdb.Info(ctx, "commandstats").Result()
		os.WriteFile(os.Getenv("WIS2_BENCH_REDIS_STATS"), []byte(st), 0o644)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "files/s")
	b.ReportMetric(float64(size)*float64(b.N)/el.Seconds()/1e6, "MB/s")
	b.Logf("N=%d size=%d: %.0f files/s, %.1f MB/s, VmHWM %s (whole test process incl. HTTP server)",
		b.N, size, float64(b.N)/el.Seconds(), float64(size)*float64(b.N)/el.Seconds()/1e6, vmHWM())
}

func BenchmarkWorker10KiB(b *testing.B)  { benchWorker(b, 10<<10) }
func BenchmarkWorker1MiB(b *testing.B)   { benchWorker(b, 1<<20) }
func BenchmarkWorker100MiB(b *testing.B) { benchWorker(b, 100<<20) }
