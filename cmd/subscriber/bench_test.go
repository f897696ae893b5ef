package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/redis/go-redis/v9"

	"github.com/wmo-im/wis2downloader/internal/subscription"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

// BenchmarkBrokerToQueue measures the real subscriber binary between a real
// mosquitto and a real Redis, with acknowledgement after enqueue: b.N QoS 1
// notifications, and the time until every task is in the queue.
//
//   - backlog: the messages wait in the broker session while the subscriber
//     is stopped; the clock runs from its start to the last task queued.
//   - live: the subscriber runs while publishers send.
//
// It reports msgs/s and the subscriber's peak resident memory (VmHWM).
// Run with e.g. -bench BrokerToQueue -benchtime 20000x.
func BenchmarkBrokerToQueue(b *testing.B) {
	bin := filepath.Join(testsvc.Build(b, "subscriber"), "subscriber")
	for _, mode := range []string{"backlog", "live"} {
		b.Run(mode, func(b *testing.B) { benchBrokerToQueue(b, bin, mode == "live") })
	}
	// Reference: how fast the test publishers alone get messages into the
	// broker (no subscriber); "live" cannot exceed it.
	b.Run("publish-only", func(b *testing.B) {
		m := testsvc.StartMosquitto(b)
		b.ResetTimer()
		t0 := time.Now()
		publishMany(b, m, b.N)
		b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "msgs/s")
		b.ReportMetric(0, "ns/op")
	})
}

func benchBrokerToQueue(b *testing.B, bin string, live bool) {
	r := testsvc.StartRedis(b, testsvc.RedisConfig("appendfsync everysec"))
	m := testsvc.StartMosquitto(b)
	rdb := r.Client(b)
	ctx := context.Background()
	const filter = "origin/a/wis2/+/data/core/#"
	sub, _ := json.Marshal(subscription.Subscription{ID: "bench", Topic: filter})
	rdb.HSet(ctx, subscription.HashKey, "bench", sub)
	env := []string{
		"REDIS_HOST=" + r.Host, "REDIS_PORT=" + strconv.Itoa(r.Port), "REDIS_PASSWORD=" + r.Password,
		"GLOBAL_BROKER_HOST=127.0.0.1", "GLOBAL_BROKER_PORT=" + strconv.Itoa(m.TCPPort),
		"GLOBAL_BROKER_USERNAME=" + m.Username, "GLOBAL_BROKER_PASSWORD=" + m.Password,
		"MQTT_PROTOCOL=tcp", "MQTT_TLS=false", "MQTT_SESSION_ID=bench", "SUBSCRIBER_METRICS_PORT=0",
		"LOG_LEVEL=WARNING", "PATH=" + os.Getenv("PATH"),
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(bin)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		return cmd
	}
	stop := func(cmd *exec.Cmd) {
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			b.Errorf("subscriber exit: %v", err)
		}
	}
	pendingKey := "asynq:{downloads}:pending"
	waitPending := func(n int64) {
		deadline := time.Now().Add(5 * time.Minute)
		for rdb.LLen(ctx, pendingKey).Val() < n {
			if time.Now().After(deadline) {
				b.Fatalf("timed out: %d of %d tasks queued", rdb.LLen(ctx, pendingKey).Val(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	// Create the session and its subscription once.
	cmd := start()
	waitSubscribed(b, rdb, filter)
	n := b.N
	if !live {
		stop(cmd)
		publishMany(b, m, n)
		b.ResetTimer()
		cmd = start()
	} else {
		// Sanity: one message end to end before the clock starts.
		publishMany(b, m, 1)
		waitPending(1)
		rdb.Del(ctx, pendingKey)
		b.ResetTimer()
		go publishMany(b, m, n)
	}
	t0, cpu0 := time.Now(), cpuTime(cmd.Process.Pid)
	waitPending(int64(n))
	elapsed := time.Since(t0)
	b.StopTimer()
	cpu := cpuTime(cmd.Process.Pid) - cpu0
	hwm := peakRSS(cmd.Process.Pid)
	stop(cmd)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(hwm)/(1<<20), "peakRSS_MiB")
	// CPU the subscriber itself spent per message: what one core could do
	// without the broker, Redis and the publishers competing for it.
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu_µs/msg")
	b.ReportMetric(0, "ns/op")
}

// waitSubscribed waits until the subscriber recorded the filter as
// subscribed on the broker.
func waitSubscribed(b *testing.B, rdb *redis.Client, filter string) {
	deadline := time.Now().Add(30 * time.Second)
	for !rdb.SIsMember(context.Background(), "subscriber:filters:bench", filter).Val() {
		if time.Now().After(deadline) {
			b.Fatal("subscriber did not subscribe")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// publishMany publishes n QoS 1 notifications from 4 concurrent clients.
func publishMany(b *testing.B, m *testsvc.Mosquitto, n int) {
	const clients = 4
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			ctx := context.Background()
			conn, err := net.Dial("tcp", m.TCPAddr)
			if err != nil {
				b.Error(err)
				return
			}
			id := fmt.Sprintf("bench-pub-%d-%d", c, time.Now().UnixNano())
			pc := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: id})
			if _, err := pc.Connect(ctx, &paho.Connect{ClientID: id, KeepAlive: 30, CleanStart: true,
				Username: m.Username, UsernameFlag: true, Password: []byte(m.Password), PasswordFlag: true}); err != nil {
				b.Error(err)
				return
			}
			defer pc.Disconnect(&paho.Disconnect{})
			// Publish with up to 16 in flight per client.
			sem := make(chan struct{}, 16)
			var inner sync.WaitGroup
			for i := c; i < n; i += clients {
				sem <- struct{}{}
				inner.Go(func() {
					defer func() { <-sem }()
					payload := benchMessage(fmt.Sprintf("bench-%d-%d", i, time.Now().UnixNano()))
					if _, err := pc.Publish(ctx, &paho.Publish{Topic: "origin/a/wis2/ca-eccc-msc/data/core/weather/synop", QoS: 1, Payload: payload}); err != nil {
						b.Error(err)
					}
				})
			}
			inner.Wait()
		})
	}
	wg.Wait()
}

func benchMessage(id string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"conformsTo":["http://wis.wmo.int/spec/wnm/1/conf/core"],"type":"Feature",`+
		`"geometry":{"type":"Point","coordinates":[6.14,46.22]},"properties":{"pubtime":"2022-03-20T04:50:18Z",`+
		`"datetime":"2022-03-20T04:45:00Z","integrity":{"method":"sha512","value":"A2KNxvks"},`+
		`"data_id":"wis2/CAN/eccc-msc/data/core/weather/surface-based-obs/landFixed/UANT01_CWAO_200445___15103.bufr4"},`+
		`"links":[{"href":"https://example.org/data/92c557ef.bufr4","rel":"canonical","type":"application/bufr","length":457}]}`, id)
}

// cpuTime reads the user+system CPU time of a process (clock ticks of 10 ms).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields of the whole line.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// peakRSS reads VmHWM (bytes) of a process.
func peakRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
