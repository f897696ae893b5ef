// Package lifecycle checks the contract every binary shares: no configuration
// → exit 1 naming the missing variables; -version; the healthcheck
// subcommand; the admin guide's log format; a clean exit on SIGTERM.
package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

var services = []string{"subscriber", "api", "worker", "ui"}

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wis2dl-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	if err := testsvc.BuildServices(dir, services...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// command runs a binary with exactly env (plus PATH) in an empty directory,
// so no .env file is picked up.
func command(t *testing.T, svc string, env map[string]string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(binDir, svc), args...)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

func TestNoConfigurationExitsNamingMissingVariables(t *testing.T) {
	want := map[string][]string{
		"subscriber": {"REDIS_PASSWORD", "GLOBAL_BROKER_HOST"},
		"api":        {"REDIS_PASSWORD", "API_SECRET_KEY", "API_TOKEN"},
		"worker":     {"REDIS_PASSWORD"},
		"ui":         {"REDIS_PASSWORD", "API_TOKEN", "UI_SECRET_KEY"},
	}
	for _, svc := range services {
		t.Run(svc, func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := command(t, svc, nil)
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit: %v (want status 1); stderr: %s", err, stderr.String())
			}
			for _, name := range want[svc] {
				if !strings.Contains(stderr.String(), name) {
					t.Errorf("stderr does not name %s: %s", name, stderr.String())
				}
			}
		})
	}
}

func TestVersionFlag(t *testing.T) {
	for _, svc := range services {
		out, err := command(t, svc, nil, "-version").Output()
		if err != nil || !strings.HasPrefix(string(out), svc+" ") {
			t.Errorf("%s -version: %q %v", svc, out, err)
		}
	}
}

// freePort is a free loopback port, as a variable value.
func freePort(t *testing.T) string { return strconv.Itoa(testsvc.FreePort(t)) }

var logLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (subscriber|api|worker|ui) (DEBUG|INFO|WARNING|ERROR) \S`)

// TestStartHealthyAndStopOnSIGTERM starts each binary with a valid
// configuration against real Redis (and mosquitto for the subscriber), waits
// until its healthcheck subcommand passes, checks the log format, then sends
// SIGTERM and expects a clean exit.
func TestStartHealthyAndStopOnSIGTERM(t *testing.T) {
	rds := testsvc.StartRedis(t)
	mq := testsvc.StartMosquitto(t)
	common := map[string]string{
		"REDIS_HOST":     rds.Host,
		"REDIS_PORT":     strconv.Itoa(rds.Port),
		"REDIS_PASSWORD": rds.Password,
		"LOG_LEVEL":      "INFO",
	}
	envs := map[string]map[string]string{
		"subscriber": {
			"GLOBAL_BROKER_HOST": "127.0.0.1", "GLOBAL_BROKER_PORT": strconv.Itoa(mq.TCPPort),
			"GLOBAL_BROKER_USERNAME": mq.Username, "GLOBAL_BROKER_PASSWORD": mq.Password,
			"MQTT_PROTOCOL": "tcp", "MQTT_TLS": "false", "SUBSCRIBER_METRICS_PORT": freePort(t),
		},
		"api":    {"API_HOST": "127.0.0.1", "API_PORT": freePort(t), "API_TOKEN": "t0ken", "API_SECRET_KEY": "k", "CONTAINER_DATA_PATH": t.TempDir()},
		"worker": {"WORKER_METRICS_PORT": freePort(t), "CONTAINER_DATA_PATH": t.TempDir(), "DOWNLOAD_MIN_FREE_BYTES": "0"},
		"ui":     {"UI_HOST": "127.0.0.1", "UI_PORT": freePort(t), "API_TOKEN": "t0ken", "UI_SECRET_KEY": "s", "WIS2_SUBSCRIPTION_MANAGER_URL": "http://127.0.0.1:1"},
	}
	for _, svc := range services {
		t.Run(svc, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range common {
				env[k] = v
			}
			for k, v := range envs[svc] {
				env[k] = v
			}
			var stdout, stderr bytes.Buffer
			cmd := command(t, svc, env)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			defer func() {
				if t.Failed() {
					t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
				}
			}()

			healthy := false
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				hc := command(t, svc, env, "healthcheck")
				hc.Dir = cmd.Dir
				if hc.Run() == nil {
					healthy = true
					break
				}
			}
			if !healthy {
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("%s never became healthy", svc)
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("exit after SIGTERM: %v (want status 0)", err)
				}
			case <-ctx.Done():
				_ = cmd.Process.Kill()
				<-done
				t.Fatal("no exit within 30 s of SIGTERM")
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			if len(lines) == 0 || lines[0] == "" {
				t.Fatal("no log output on stdout")
			}
			for _, l := range lines {
				if !logLine.MatchString(l) {
					t.Errorf("log line not in the admin guide format: %q", l)
					break
				}
			}
			if strings.Contains(stdout.String(), rds.Password) {
				t.Error("the Redis password appears in the log")
			}
		})
	}
	// Healthcheck of a service that is not running fails.
	if err := command(t, "api", map[string]string{"REDIS_PASSWORD": "x", "API_TOKEN": "t", "API_SECRET_KEY": "k", "API_PORT": freePort(t)}, "healthcheck").Run(); err == nil {
		t.Error("healthcheck passed with no API running")
	}
}
