package testsvc

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binaryDirs are searched after PATH: Debian installs servers in /usr/sbin,
// which is not on every user's PATH.
var binaryDirs = [...]string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"}

// lookBinary returns the path of the executable name, or "" when it is missing.
func lookBinary(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range binaryDirs {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// findBinary is lookBinary that fails the test, naming the install command,
// when the binary is missing.
func findBinary(t testing.TB, name string) string {
	t.Helper()
	p := lookBinary(name)
	if p == "" {
		t.Fatalf("testsvc: %s not found on PATH or in /usr/sbin; install it with: %s", name, InstallHint)
	}
	return p
}
