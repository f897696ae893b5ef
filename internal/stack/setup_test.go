package stack

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/joho/godotenv"
)

// setupCheckout copies containers/setup-env.sh and default.env into a fresh
// directory laid out like the repository.
func setupCheckout(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "containers"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"containers/setup-env.sh", "default.env"} {
		b, err := os.ReadFile(rootFile(t, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// posixShell is dash when installed (no bash-isms slip through), else sh.
func posixShell(t *testing.T) string {
	t.Helper()
	for _, sh := range []string{"dash", "sh"} {
		if p, err := exec.LookPath(sh); err == nil {
			return p
		}
	}
	t.Fatal("no POSIX shell (sh) on PATH")
	return ""
}

// runSetup runs the script from another working directory, as `make up` may.
func runSetup(t *testing.T, dir string, env ...string) string {
	t.Helper()
	cmd := exec.Command(posixShell(t), filepath.Join(dir, "containers", "setup-env.sh"))
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("setup-env.sh: %v\n%s", err, out.String())
	}
	return out.String()
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	m, err := godotenv.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestSetupEnvFreshCheckout(t *testing.T) {
	dir := setupCheckout(t)
	out := runSetup(t, dir)
	envPath := filepath.Join(dir, ".env")
	st, err := os.Stat(envPath)
	if err != nil {
		t.Fatalf(".env not created: %v\n%s", err, out)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf(".env mode %v, want 0600", st.Mode().Perm())
	}
	env := readEnvFile(t, envPath)
	tmpl := defaultEnv(t)
	seen := map[string]string{}
	for _, name := range generatedSecrets() {
		v := env[name]
		if !hex64.MatchString(v) {
			t.Errorf("%s = %q, want 32 random bytes in hex", name, v)
		}
		if other, dup := seen[v]; dup {
			t.Errorf("%s and %s got the same value", name, other)
		}
		seen[v] = name
	}
	if !regexp.MustCompile(`^wis2downloader-[0-9a-f]{12}$`).MatchString(env["MQTT_SESSION_ID"]) {
		t.Errorf("MQTT_SESSION_ID = %q", env["MQTT_SESSION_ID"])
	}
	// Everything else is the template unchanged.
	for k, v := range tmpl {
		if _, gen := seen[env[k]]; gen || k == "MQTT_SESSION_ID" {
			continue
		}
		if env[k] != v {
			t.Errorf("%s changed from %q to %q", k, v, env[k])
		}
	}
	if len(env) != len(tmpl) {
		t.Errorf(".env has %d variables, default.env %d", len(env), len(tmpl))
	}
	// The compose file loads with the result.
	if _, err := loadCompose(t, env); err != nil {
		t.Errorf("docker-compose.yaml does not load with the generated .env: %v", err)
	}

	data := filepath.Join(dir, "downloads")
	dst, err := os.Stat(data)
	if err != nil || !dst.IsDir() {
		t.Fatalf("downloads/ not created: %v", err)
	}
	if dst.Mode().Perm()&0o055 != 0o055 {
		t.Errorf("downloads/ mode %v: the host's users cannot read it", dst.Mode().Perm())
	}
	if os.Geteuid() == 0 {
		if uid, gid := owner(t, data); uid != 10001 || gid != 988 {
			t.Errorf("downloads/ owned by %d:%d, want 10001:988", uid, gid)
		}
	} else if !strings.Contains(out, "10001") {
		t.Errorf("non-root run says nothing about UID 10001:\n%s", out)
	}
}

func TestSetupEnvIdempotentAndKeepsValues(t *testing.T) {
	dir := setupCheckout(t)
	envPath := filepath.Join(dir, ".env")
	// An existing .env with one secret set, one set to "" and others missing.
	existing := "REDIS_PASSWORD=keep-me\nAPI_TOKEN=\"\"\nLOG_LEVEL=DEBUG\nGLOBAL_BROKER_PASSWORD=everyone\n"
	if err := os.WriteFile(envPath, []byte(existing), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runSetup(t, dir)
	env := readEnvFile(t, envPath)
	if env["REDIS_PASSWORD"] != "keep-me" || env["LOG_LEVEL"] != "DEBUG" || env["GLOBAL_BROKER_PASSWORD"] != "everyone" {
		t.Errorf("existing values changed: %v", env)
	}
	for _, name := range generatedSecrets() {
		if name != "REDIS_PASSWORD" && !hex64.MatchString(env[name]) {
			t.Errorf("%s = %q, want generated", name, env[name])
		}
	}
	if !strings.Contains(out, "lacks") {
		t.Errorf("no note about settings missing from the old .env:\n%s", out)
	}
	if st, _ := os.Stat(envPath); st.Mode().Perm() != 0o600 {
		t.Errorf("existing .env mode %v, want 0600", st.Mode().Perm())
	}

	first, err := os.ReadFile(envPath)
	if err != nil {
		t.Fatal(err)
	}
	runSetup(t, dir)
	second, err := os.ReadFile(envPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("second run changed .env:\n%s\n---\n%s", first, second)
	}
}

// TestSetupEnvWithoutOpenSSL exercises the /dev/urandom + od fallback with a
// PATH that holds only the basic tools.
func TestSetupEnvWithoutOpenSSL(t *testing.T) {
	bin := t.TempDir()
	for _, tool := range []string{"sh", "dash", "awk", "od", "tr", "mktemp", "cat", "rm", "cp", "chmod", "chown", "mkdir", "ls", "id", "dirname"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			continue
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	dir := setupCheckout(t)
	runSetup(t, dir, "PATH="+bin)
	env := readEnvFile(t, filepath.Join(dir, ".env"))
	for _, name := range generatedSecrets() {
		if !hex64.MatchString(env[name]) {
			t.Errorf("%s = %q without openssl", name, env[name])
		}
	}
}

// TestSetupEnvHostDataPath: the data directory follows HOST_DATA_PATH.
func TestSetupEnvHostDataPath(t *testing.T) {
	dir := setupCheckout(t)
	data := filepath.Join(t.TempDir(), "wis2 data")
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("HOST_DATA_PATH="+data+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runSetup(t, dir)
	if st, err := os.Stat(data); err != nil || !st.IsDir() {
		t.Fatalf("HOST_DATA_PATH directory not created: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "downloads")); err == nil {
		t.Error("downloads/ created although HOST_DATA_PATH points elsewhere")
	}
}

// TestSetupEnvNonRootPrintsCommands: a user who cannot chown (and has no
// setfacl) is told exactly what to run. Needs root to switch to that user.
func TestSetupEnvNonRootPrintsCommands(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the script as another user")
	}
	const nobody = 65534
	// t.TempDir's parent is private to root; this user needs to enter it.
	base, err := os.MkdirTemp("", "wis2-setup-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "checkout")
	if err := os.CopyFS(dir, os.DirFS(setupCheckout(t))); err != nil {
		t.Fatal(err)
	}
	if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	}); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"sh", "dash", "awk", "od", "tr", "mktemp", "cat", "rm", "cp", "chmod", "mkdir", "ls", "id", "dirname", "openssl"} {
		if p, err := exec.LookPath(tool); err == nil {
			if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
				t.Fatal(err)
			}
		}
	}
	cmd := exec.Command(posixShell(t), filepath.Join(dir, "containers", "setup-env.sh"))
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + bin, "HOME=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("setup-env.sh as nobody: %v\n%s", err, out)
	}
	want := "sudo chown -R 10001:988 './downloads'"
	if !strings.Contains(string(out), want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if uid, _ := owner(t, filepath.Join(dir, ".env")); uid != nobody {
		t.Errorf(".env owned by %d", uid)
	}
	if st, err := os.Stat(filepath.Join(dir, "downloads")); err != nil {
		t.Error(err)
	} else if st.Mode().Perm()&0o055 != 0o055 {
		t.Errorf("downloads/ mode %v: the host's users cannot read it", st.Mode().Perm())
	}
}
