package subscriber

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wmo-im/wis2downloader/internal/subscription"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

// BenchmarkBacklogInProcess drains b.N QoS 1 messages waiting in the broker
// session into the queue, in process (for -cpuprofile; the figures of the
// real binary come from cmd/subscriber's BenchmarkBrokerToQueue).
func BenchmarkBacklogInProcess(b *testing.B) {
	r := testsvc.StartRedis(b, testsvc.RedisConfig("appendfsync everysec"))
	m := testsvc.StartMosquitto(b)
	rdb := r.Client(b)
	storeSubscription(b, rdb, subscription.Subscription{ID: "s", Topic: filterECCC})
	cfg := testConfig(r, m)
	cfg.Enqueuers = 16
	first := startSubscriber(b, cfg, "bench")
	first.waitSubscribed(b, filterECCC)
	first.stop()
	publishParallel(b, m, b.N)

	b.ResetTimer()
	s := startSubscriber(b, cfg, "bench")
	t0 := time.Now()
	for s.count(resultQueued) < float64(b.N) {
		time.Sleep(5 * time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "msgs/s")
	b.StopTimer()
	s.stop()
}

func publishParallel(b *testing.B, m *testsvc.Mosquitto, n int) {
	conn, err := net.Dial("tcp", m.TCPAddr)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	pc := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: "bench-pub"})
	if _, err := pc.Connect(ctx, &paho.Connect{ClientID: "bench-pub", KeepAlive: 30, CleanStart: true,
		Username: m.Username, UsernameFlag: true, Password: []byte(m.Password), PasswordFlag: true}); err != nil {
		b.Fatal(err)
	}
	defer pc.Disconnect(&paho.Disconnect{})
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := pc.Publish(ctx, &paho.Publish{Topic: topicECCC, QoS: 1, Payload: message(fmt.Sprintf("b-%d", i))}); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
}
