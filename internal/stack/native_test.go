package stack

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

// TestMakeRunStartsTheStackNatively runs containers/run-native.sh (what `make
// run` runs after building bin/) in a copy of the repository: it must create
// .env, start its own redis-server and the four services, which become
// healthy (the subscriber connected to a real broker given through the
// environment, which wins over .env), and stop them all on SIGTERM.
func TestMakeRunStartsTheStackNatively(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four binaries")
	}
	root := repoRoot(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "containers"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"default.env", "containers/run-native.sh", "containers/setup-env.sh"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := testsvc.BuildServices(filepath.Join(dir, "bin"), "subscriber", "api", "worker", "ui"); err != nil {
		t.Fatal(err)
	}

	mq := testsvc.StartMosquitto(t)
	apiPort, uiPort := testsvc.FreePort(t), testsvc.FreePort(t)
	subPort, workerPort := testsvc.FreePort(t), testsvc.FreePort(t)
	cmd := exec.Command("bash", "containers/run-native.sh")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(os.Environ(),
		"NATIVE_REDIS_PORT="+strconv.Itoa(testsvc.FreePort(t)),
		"NATIVE_API_PORT="+strconv.Itoa(apiPort),
		"NATIVE_UI_PORT="+strconv.Itoa(uiPort),
		"SUBSCRIBER_METRICS_PORT="+strconv.Itoa(subPort),
		"WORKER_METRICS_PORT="+strconv.Itoa(workerPort),
		"GLOBAL_BROKER_HOST=127.0.0.1",
		"GLOBAL_BROKER_PORT="+strconv.Itoa(mq.TCPPort),
		"GLOBAL_BROKER_USERNAME="+mq.Username,
		"GLOBAL_BROKER_PASSWORD="+mq.Password,
		"MQTT_PROTOCOL=tcp",
		"DOWNLOAD_MIN_FREE_BYTES=0",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("run-native.sh output:\n%s", out.String())
		}
	})

	healthy := func() bool {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(apiPort) + "/health")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var h struct {
			Status      string `json:"status"`
			Subscribers []struct {
				Broker    string `json:"broker"`
				Connected bool   `json:"connected"`
			} `json:"subscribers"`
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&h) != nil {
			return false
		}
		if len(h.Subscribers) != 1 || !h.Subscribers[0].Connected || h.Subscribers[0].Broker != "127.0.0.1" {
			return false
		}
		for _, u := range []string{
			"http://127.0.0.1:" + strconv.Itoa(uiPort) + "/healthz",
			"http://127.0.0.1:" + strconv.Itoa(subPort) + "/healthz",
			"http://127.0.0.1:" + strconv.Itoa(workerPort) + "/healthz",
		} {
			r, err := http.Get(u)
			if err != nil {
				return false
			}
			r.Body.Close()
			if r.StatusCode != http.StatusOK {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(60 * time.Second)
	for !healthy() {
		select {
		case err := <-done:
			t.Fatalf("run-native.sh exited early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the native stack did not become healthy within 60 s")
		}
		time.Sleep(300 * time.Millisecond)
	}
	if fi, err := os.Stat(filepath.Join(dir, ".env")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf(".env not created with mode 0600: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		t.Fatal("run-native.sh did not stop within 40 s of SIGTERM")
	}
	// Every service stopped: nothing answers any more.
	if _, err := http.Get("http://127.0.0.1:" + strconv.Itoa(apiPort) + "/health"); err == nil {
		t.Error("the API still answers after SIGTERM")
	}
	for _, p := range []int{uiPort, subPort, workerPort} {
		if _, err := http.Get("http://127.0.0.1:" + strconv.Itoa(p) + "/healthz"); err == nil {
			t.Errorf("a service on port %d still answers after SIGTERM", p)
		}
	}
}
