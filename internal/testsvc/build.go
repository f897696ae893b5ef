package testsvc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// modulePath is the import path of this module's commands' parent.
const modulePath = "github.com/wmo-im/wis2downloader"

// BuildServices builds the named services (cmd/<name>, e.g. "worker") with
// one go build into dir and checks every binary is there. It works from any
// directory inside the module; TestMain functions, which have no testing.TB,
// call it directly.
func BuildServices(dir string, services ...string) error {
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for _, s := range services {
		args = append(args, modulePath+"/cmd/"+s)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	for _, s := range services {
		if _, err := os.Stat(filepath.Join(dir, s)); err != nil {
			return fmt.Errorf("go build produced no %s binary: %w", s, err)
		}
	}
	return nil
}

// Build is BuildServices into a temporary directory of t; it returns the
// directory, with one binary per service named after it.
func Build(t testing.TB, services ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := BuildServices(dir, services...); err != nil {
		t.Fatal(err)
	}
	return dir
}
