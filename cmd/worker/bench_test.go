package main

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/metrics"
	"github.com/wmo-im/wis2downloader/internal/tasks"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

var block = func() []byte {
	b := make([]byte, 64<<10)
	copy(b, "BUFR")
	for i := 4; i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	return b
}()

// pattern yields size bytes of block, repeated, without holding them.
type pattern struct {
	off  int
	left int64
}

func (p *pattern) Read(buf []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	n := copy(buf, block[p.off:min(int64(len(block)), int64(p.off)+p.left)])
	p.off = (p.off + n) % len(block)
	p.left -= int64(n)
	return n, nil
}

// benchProcess runs the real worker binary as a separate process over a
// real Redis, with b.N queued notifications of size bytes served by a
// loopback HTTP server in this process, and reports files/s, MB/s and the
// worker process's peak RSS (VmHWM).
func benchProcess(b *testing.B, size int64) {
	bin := filepath.Join(testsvc.Build(b, "worker"), "worker")
	r := testsvc.StartRedis(b, testsvc.RedisConfig("appendfsync everysec"))
	rdb := r.Client(b)
	h := sha512.New()
	io.Copy(h, &pattern{left: size})
	digest := base64.StdEncoding.EncodeToString(h.Sum(nil))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		io.Copy(w, &pattern{left: size})
	}))
	defer srv.Close()

	c := asynq.NewClientFromRedisClient(rdb)
	now := time.Now().UTC().Format(time.RFC3339)
	for i := range b.N {
		id := fmt.Sprintf("bench-%d", i)
		raw, _ := json.Marshal(map[string]any{
			"id": id, "type": "Feature", "geometry": nil,
			"properties": map[string]any{"data_id": "bench/" + id, "pubtime": now,
				"integrity": map[string]any{"method": "sha512", "value": digest}},
			"links": []any{map[string]any{"href": fmt.Sprintf("%s/f/%d.bufr", srv.URL, i), "rel": "canonical", "type": "application/bufr", "length": size}},
		})
		save := "bench"
		t, err := tasks.NewDownload(tasks.Download{Topic: "cache/a/wis2/xx-bench/data/core/x", Message: raw,
			Targets: []tasks.Target{{ID: "s", SavePath: &save}}}, id, asynq.Queue("downloads"), asynq.MaxRetry(25))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Enqueue(t); err != nil {
			b.Fatal(err)
		}
	}
	data := b.TempDir()
	if d := os.Getenv("WIS2_BENCH_DATA"); d != "" {
		data = filepath.Join(d, strconv.FormatInt(time.Now().UnixNano(), 36))
		defer os.RemoveAll(data)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{
		"REDIS_HOST=" + r.Host, "REDIS_PORT=" + strconv.Itoa(r.Port), "REDIS_PASSWORD=" + r.Password,
		"CONTAINER_DATA_PATH=" + data, "WORKER_METRICS_PORT=0", "LOG_LEVEL=WARNING",
		"DOWNLOAD_ALLOW_PRIVATE_NETWORKS=true", "DOWNLOAD_MIN_FREE_BYTES=0",
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	// WIS2_BENCH_LOG_LEVEL=INFO measures the production log level: the log
	// then goes through a pipe to a reader that drops it, as a container's
	// log driver reads it.
	if l := os.Getenv("WIS2_BENCH_LOG_LEVEL"); l != "" {
		cmd.Env = append(cmd.Env, "LOG_LEVEL="+l)
		cmd.Stdout = struct{ io.Writer }{io.Discard}
	}
	redisCPU0 := redisCPU(b, rdb)
	b.ResetTimer()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ok, failed := metrics.Labels{"status": "success"}.Field(), metrics.Labels{"status": "failed"}.Field()
	hwm := ""
	for {
		vals, _ := rdb.HMGet(ctx, metrics.Key(metrics.Notifications), ok, failed).Result()
		n, _ := strconv.ParseFloat(fmt.Sprint(vals[0]), 64)
		if f, _ := strconv.ParseFloat(fmt.Sprint(vals[1]), 64); f > 0 {
			cmd.Process.Kill()
			cmd.Wait()
			b.Fatalf("%v downloads failed", f)
		}
		hwm = vmHWM(cmd.Process.Pid)
		if int(n) >= b.N {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	workerCPU := procCPU(cmd.Process.Pid)
	redisUsed := redisCPU(b, rdb) - redisCPU0
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	b.ReportMetric(float64(workerCPU.Microseconds())/float64(b.N), "worker-cpu-us/file")
	b.ReportMetric(float64(redisUsed.Microseconds())/float64(b.N), "redis-us/file")
	b.ReportMetric(float64(b.N)/el.Seconds(), "files/s")
	b.ReportMetric(float64(size)*float64(b.N)/el.Seconds()/1e6, "MB/s")
	b.Logf("N=%d size=%d: %.0f files/s, %.1f MB/s, worker VmHWM %s (start-up included)", b.N, size,
		float64(b.N)/el.Seconds(), float64(size)*float64(b.N)/el.Seconds()/1e6, hwm)
}

// WriteTo lets io.Copy hand the blocks to the response writer without a
// copy buffer of its own (32 KiB per response).
func (p *pattern) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for p.left > 0 {
		m, err := w.Write(block[p.off:min(int64(len(block)), int64(p.off)+p.left)])
		n += int64(m)
		p.off = (p.off + m) % len(block)
		p.left -= int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// procCPU is the CPU time (user + system) process pid has used.
func procCPU(pid int) time.Duration {
	s, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	f := strings.Fields(string(s[strings.LastIndexByte(string(s), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // clock ticks (USER_HZ = 100)
}

// redisCPU is the CPU time the redis-server has used.
func redisCPU(b *testing.B, rdb *redis.Client) time.Duration {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var d time.Duration
	for _, l := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(l, ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, _ := strconv.ParseFloat(v, 64)
			d += time.Duration(f * float64(time.Second))
		}
	}
	return d
}

func vmHWM(pid int) string {
	s, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(s), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "?"
}

func BenchmarkProcess10KiB(b *testing.B)  { benchProcess(b, 10<<10) }
func BenchmarkProcess1MiB(b *testing.B)   { benchProcess(b, 1<<20) }
func BenchmarkProcess100MiB(b *testing.B) { benchProcess(b, 100<<20) }
