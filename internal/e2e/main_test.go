// Package e2e runs the whole product — the four real binaries, a real
// redis-server, two real mosquitto brokers and fake Global Caches — and
// checks what an operator would check: files on disk, /metrics, exit codes.
//
// The package holds only tests. TestMain builds the binaries once; every test
// starts the stack it needs (see stack_test.go) and stops it when it ends.
package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

// services are the binaries under cmd/ that the suite runs.
var services = []string{"api", "subscriber", "worker", "ui"}

// binDir holds the binaries built by TestMain.
var binDir string

// sampleTemplate is a real WIS2 notification (a GTS bulletin relayed by a
// Global Cache) that every published notification is built from, and
// sampleBulletin the 465-byte file it describes.
var (
	sampleTemplate map[string]any
	sampleBulletin []byte
)

// samplesDir is shared/wis2-samples seen from this package's directory.
const samplesDir = "../../../shared/wis2-samples"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if err := loadSamples(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	if dir := os.Getenv("E2E_BIN_DIR"); dir != "" {
		// Prebuilt binaries (e.g. from make build) instead of a fresh build.
		binDir = dir
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "wis2-e2e-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	if err := testsvc.BuildServices(dir, services...); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	return m.Run()
}

// loadSamples reads the notification template and its data file.
func loadSamples() error {
	base := filepath.Join(samplesDir, "wmo-im_pywis-pubsub", "tests")
	b, err := os.ReadFile(filepath.Join(base, "test_valid_checksum.json"))
	if err != nil {
		return fmt.Errorf("WIS2 samples missing (expected shared/wis2-samples next to the repository): %w", err)
	}
	if err := json.Unmarshal(b, &sampleTemplate); err != nil {
		return fmt.Errorf("sample notification: %w", err)
	}
	sampleBulletin, err = os.ReadFile(filepath.Join(base, "A_SZIO01AMMC110648_C_EDZW_20230811064904_50549867"))
	if err != nil {
		return fmt.Errorf("sample bulletin: %w", err)
	}
	return nil
}
