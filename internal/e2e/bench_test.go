package e2e

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// envInt reads a positive integer setting of the benchmark.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// procStats are peak RSS and CPU time of one process, from /proc.
type procStats struct {
	hwmKiB int64   // VmHWM
	cpu    float64 // utime+stime in seconds
}

func readProcStats(pid int) (procStats, error) {
	var st procStats
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			st.hwmKiB, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// Fields after the command name (which is in parentheses): utime is
	// field 14 and stime 15 of the whole line, in clock ticks (100/s).
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) > 12 {
		ut, _ := strconv.ParseFloat(f[11], 64)
		stt, _ := strconv.ParseFloat(f[12], 64)
		st.cpu = (ut + stt) / 100
	}
	return st, nil
}

// loadRun is one measured run.
type loadRun struct {
	name      string
	n         int
	bytes     int
	elapsed   time.Duration // first publish to last file
	publish   time.Duration // first to last publish
	latencies []time.Duration
	dups      int
	conns     int                // new connections to the cache during the run
	cpu       map[string]float64 // CPU seconds used during the run, per service
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

// runLoad publishes n notifications of size-byte files on broker A, at
// rate per second (0 = as fast as possible, from several goroutines), and
// waits until every file is on disk. With copies, every notification is
// also published on broker B (same message id) and once more from cache B
// (new id, same data_id and pubtime), so duplicates race their originals.
func runLoad(b *testing.B, s *stack, arr *arrivals, name string, n, size, rate int, copies bool) loadRun {
	b.Helper()
	const centre, target = "xx-load", "load"
	topic := dataTopic("cache", centre)
	names := make([]string, n)
	payloads := make([][]byte, n)
	copyB := make([][]byte, n) // same data from cache B, new id
	paths := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("%s_%06d.bin", name, i)
		paths[i] = "/data/" + centre + "/" + names[i]
		body := randomBytes(size)
		s.cacheA.Put(paths[i], body)
		nt := newNote(centre, names[i], s.cacheA.URL(paths[i]), body)
		payloads[i] = nt.JSON()
		if copies {
			s.cacheB.Put(paths[i], body)
			nt.ID = uuid.NewString()
			nt.Href = s.cacheB.URL(paths[i])
			copyB[i] = nt.JSON()
		}
	}
	publishOne := func(ctx context.Context, i int) error {
		if err := s.pubA.Publish(ctx, topic, payloads[i]); err != nil || !copies {
			return err
		}
		if err := s.pubB.Publish(ctx, topic, payloads[i]); err != nil {
			return err
		}
		return s.pubB.Publish(ctx, topic, copyB[i])
	}
	cpuBefore := map[string]float64{}
	for name, pid := range s.pids() {
		if st, err := readProcStats(pid); err == nil {
			cpuBefore[name] = st.cpu
		}
	}
	connsBefore := s.cacheA.Conns()
	sent := make([]time.Time, n)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	if rate > 0 {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		for i := range n {
			<-tick.C
			sent[i] = time.Now()
			if err := publishOne(ctx, i); err != nil {
				b.Fatal(err)
			}
		}
		tick.Stop()
	} else {
		const publishers = 8
		var wg sync.WaitGroup
		errc := make(chan error, publishers)
		for w := range publishers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += publishers {
					sent[i] = time.Now()
					if err := publishOne(ctx, i); err != nil {
						errc <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			b.Fatal(err)
		}
	}
	published := time.Since(start)
	deadline := time.Now().Add(10 * time.Minute)
	for arr.Count(names) < n {
		if time.Now().After(deadline) {
			b.Fatalf("%s: only %d of %d files arrived in 10 minutes", name, arr.Count(names), n)
		}
		s.checkAlive(b)
		time.Sleep(5 * time.Millisecond)
	}
	r := loadRun{name: name, n: n, bytes: n * size, publish: published, cpu: map[string]float64{}, conns: s.cacheA.Conns() - connsBefore}
	var last time.Time
	for i, nm := range names {
		at, _ := arr.At(nm)
		if at.After(last) {
			last = at
		}
		r.latencies = append(r.latencies, at.Sub(sent[i]))
	}
	r.elapsed = last.Sub(start)
	sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
	for _, p := range paths {
		if h := s.cacheA.Hits(p) + s.cacheB.Hits(p); h > 1 {
			r.dups += h - 1
		}
	}
	for name, pid := range s.pids() {
		if st, err := readProcStats(pid); err == nil {
			r.cpu[name] = st.cpu - cpuBefore[name]
		}
	}
	// Spot-check content: the last file of the run.
	if f := s.find(target, names[n-1]); len(f) != 1 {
		b.Errorf("%s stored %d times", names[n-1], len(f))
	}
	return r
}

// BenchmarkEndToEnd drives the whole stack: a burst of N notifications
// (E2E_BENCH_N, default 5000) of 10 KiB files through one broker, then a
// paced run at 100 notifications/s (E2E_BENCH_PACED_N, default 1000). It
// reports files/s, MB/s, publish-to-file latency percentiles, duplicate
// downloads, and peak RSS and CPU seconds of every service process, and
// prints one summary table.
func BenchmarkEndToEnd(b *testing.B) {
	burstN := envInt("E2E_BENCH_N", 5000)
	pacedN := envInt("E2E_BENCH_PACED_N", 1000)
	dupN := envInt("E2E_BENCH_DUP_N", 1000)
	const size = 10 << 10
	// E2E_WORKER_<VAR>=value sets <VAR> for the workers (experiments such
	// as E2E_WORKER_DOWNLOAD_HOST_CONCURRENCY=16).
	workerEnv := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "E2E_WORKER_") {
			workerEnv[strings.TrimPrefix(k, "E2E_WORKER_")] = v
		}
	}
	s := startStack(b, stackConfig{workers: envInt("E2E_BENCH_WORKERS", 1), worker: workerEnv})
	s.subscribe(b, "cache/a/wis2/xx-load/#", "load")
	arr := watchArrivals(b, s.data+"/load")
	// Warm-up: connections, directories, code paths.
	runLoad(b, s, arr, "warmup", 50, size, 0, false)

	var runs []loadRun
	report := func(b *testing.B, r loadRun) {
		b.ReportMetric(float64(r.n)/r.elapsed.Seconds(), "files/s")
		b.ReportMetric(float64(r.bytes)/r.elapsed.Seconds()/1e6, "MB/s")
		b.ReportMetric(float64(percentile(r.latencies, 0.50).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(percentile(r.latencies, 0.95).Microseconds())/1000, "p95-ms")
		b.ReportMetric(float64(percentile(r.latencies, 0.99).Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(r.dups), "dup-downloads")
		runs = append(runs, r)
	}
	b.Run("burst", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			report(b, runLoad(b, s, arr, fmt.Sprintf("burst%d", i), burstN, size, 0, false))
		}
	})
	b.Run("paced100", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			report(b, runLoad(b, s, arr, fmt.Sprintf("paced%d", i), pacedN, size, 100, false))
		}
	})
	b.Run("duplicates", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			r := runLoad(b, s, arr, fmt.Sprintf("dups%d", i), dupN, size, 0, true)
			s.waitQueueIdle(b)
			r.dups = 0
			for j := range dupN {
				p := fmt.Sprintf("/data/xx-load/dups%d_%06d.bin", i, j)
				if h := s.cacheA.Hits(p) + s.cacheB.Hits(p); h > 1 {
					r.dups += h - 1
				}
			}
			report(b, r)
		}
	})

	var sb strings.Builder
	fmt.Fprintf(&sb, "\nEnd-to-end load (10 KiB files via broker A; dups: also via broker B and cache B; %d worker process(es), WORKER_CONCURRENCY=%s)\n", len(s.workers), workerConcurrency(s))
	fmt.Fprintf(&sb, "%-10s %7s %9s %8s %8s %9s %9s %9s %5s %6s\n", "run", "files", "publish/s", "files/s", "MB/s", "p50 ms", "p95 ms", "p99 ms", "dups", "conns")
	for _, r := range runs {
		fmt.Fprintf(&sb, "%-10s %7d %9.0f %8.0f %8.1f %9.2f %9.2f %9.2f %5d %6d\n", strings.TrimRight(r.name, "0123456789"), r.n,
			float64(r.n)/r.publish.Seconds(), float64(r.n)/r.elapsed.Seconds(), float64(r.bytes)/r.elapsed.Seconds()/1e6,
			ms(percentile(r.latencies, 0.5)), ms(percentile(r.latencies, 0.95)), ms(percentile(r.latencies, 0.99)), r.dups, r.conns)
	}
	fmt.Fprintf(&sb, "%-16s %12s", "process", "peak RSS MiB")
	for _, r := range runs {
		fmt.Fprintf(&sb, " %10s", "CPU s "+strings.TrimRight(r.name, "0123456789"))
	}
	sb.WriteString("\n")
	pids := s.pids()
	names := make([]string, 0, len(pids))
	for name := range pids {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		st, err := readProcStats(pids[name])
		if err != nil {
			continue
		}
		fmt.Fprintf(&sb, "%-16s %12.1f", name, float64(st.hwmKiB)/1024)
		for _, r := range runs {
			fmt.Fprintf(&sb, " %10.2f", r.cpu[name])
		}
		sb.WriteString("\n")
	}
	fmt.Print(sb.String())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// workerConcurrency is the WORKER_CONCURRENCY the workers run with.
func workerConcurrency(s *stack) string {
	for _, e := range s.workers[0].env {
		if v, ok := strings.CutPrefix(e, "WORKER_CONCURRENCY="); ok {
			return v
		}
	}
	return "16 (default)"
}

// pids names every process of the stack: the services, redis-server, the
// brokers and this test process (fake caches and publishers), whose
// figures are in brackets.
func (s *stack) pids() map[string]int {
	out := map[string]int{}
	for _, svc := range s.all() {
		if pid := svc.Pid(); pid != 0 {
			out[svc.name] = pid
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if info, err := s.rdb.Info(ctx, "server").Result(); err == nil {
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
				if pid, err := strconv.Atoi(v); err == nil {
					out["(redis-server)"] = pid
				}
			}
		}
	}
	for name, dir := range map[string]string{"(mosquitto A)": s.brokerA.Dir, "(mosquitto B)": s.brokerB.Dir} {
		if pid := pidWithArg(dir); pid != 0 {
			out[name] = pid
		}
	}
	out["(test process)"] = os.Getpid()
	return out
}

// pidWithArg finds a process whose command line mentions s.
func pidWithArg(s string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && strings.Contains(string(b), s) {
			return pid
		}
	}
	return 0
}

// waitQueueIdle waits until the download queue is empty and no task runs,
// so that late duplicate copies have been processed.
func (s *stack) waitQueueIdle(b *testing.B) {
	b.Helper()
	eventually(b, 5*time.Minute, "download queue drained", func() (bool, string) {
		m, err := scrape(s.client.http, s.client.base+"/metrics")
		if err != nil {
			return false, err.Error()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		active, _ := s.rdb.LLen(ctx, "asynq:{downloads}:active").Result()
		retry, _ := s.rdb.ZCard(ctx, "asynq:{downloads}:retry").Result()
		q := m.Sum("wis2downloader_celery_queue_length", nil)
		return q == 0 && active == 0 && retry == 0, fmt.Sprintf("queue length %g, active %d, waiting for retry %d", q, active, retry)
	}, s)
}
