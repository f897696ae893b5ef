package stack

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// parseDockerfile splits a Dockerfile into instructions (comments dropped,
// backslash continuations joined).
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	flush := func() {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		if s == "" {
			return
		}
		cmd, args, _ := strings.Cut(s, " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	flush()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// stage is one FROM … section.
type stage struct {
	from  string
	name  string
	instr []instruction
}

func stages(instrs []instruction) (args map[string]string, out []stage) {
	args = map[string]string{}
	for _, in := range instrs {
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			out = append(out, s)
		case len(out) == 0 && in.cmd == "ARG":
			k, v, _ := strings.Cut(in.args, "=")
			args[k] = v
		case len(out) > 0:
			out[len(out)-1].instr = append(out[len(out)-1].instr, in)
		}
	}
	return args, out
}

// expand resolves ${NAME} from the global ARG defaults.
func expand(s string, args map[string]string) string {
	return os.Expand(s, func(k string) string { return args[k] })
}

// execForm decodes a JSON-array (exec form) instruction argument.
func execForm(t *testing.T, what, s string) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Errorf("%s %q is not in exec form (JSON array): %v", what, s, err)
	}
	return v
}

// goModVersion is the go directive of go.mod.
func goModVersion(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readFile(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return m[1]
}

func TestDockerfiles(t *testing.T) {
	goVersion := goModVersion(t)
	builder := regexp.MustCompile(`^golang:(\d+\.\d+\.\d+)-(bookworm|trixie)$`)
	runtimeImage := regexp.MustCompile(`^(gcr\.io/distroless/static-debian1[2-9]:nonroot|scratch)$`)
	for _, svc := range appServices {
		t.Run(svc, func(t *testing.T) {
			path := rootFile(t, "containers/"+svc+"/Dockerfile")
			args, st := stages(parseDockerfile(t, path))
			if len(st) != 2 {
				t.Fatalf("%d stages, want build + runtime", len(st))
			}
			build, final := st[0], st[1]

			img := expand(build.from, args)
			m := builder.FindStringSubmatch(img)
			switch {
			case m == nil:
				t.Errorf("builder image %q is not a pinned golang:X.Y.Z-<debian> tag", img)
			case m[1] != goVersion:
				t.Errorf("builder Go %s, go.mod says go %s (GOTOOLCHAIN=local needs the same toolchain)", m[1], goVersion)
			}
			if img := expand(final.from, args); !runtimeImage.MatchString(img) {
				t.Errorf("runtime image %q, want distroless static (nonroot) or scratch", img)
			}

			var env, goBuild string
			var cached bool
			for _, in := range build.instr {
				switch in.cmd {
				case "ENV":
					env += " " + in.args
				case "RUN":
					if strings.Contains(in.args, "go build") {
						goBuild = in.args
						cached = strings.Contains(in.args, "--mount=type=cache,target=/go/pkg/mod") &&
							strings.Contains(in.args, "--mount=type=cache,target=/root/.cache/go-build")
					}
				}
			}
			for _, want := range []string{"CGO_ENABLED=0", "GOTOOLCHAIN=local"} {
				if !strings.Contains(env, want) {
					t.Errorf("build stage lacks ENV %s", want)
				}
			}
			if goBuild == "" {
				t.Fatal("no go build in the build stage")
			}
			if !cached {
				t.Error("go build does not use the module and build caches (--mount=type=cache)")
			}
			for _, want := range []string{
				"-trimpath",
				"-X github.com/wmo-im/wis2downloader/internal/buildinfo.version=${VERSION}",
				"-o /out/" + svc + " ./cmd/" + svc,
			} {
				if !strings.Contains(goBuild, want) {
					t.Errorf("go build lacks %q: %s", want, goBuild)
				}
			}
			if !hasMainPackage(t, rootFile(t, "cmd/"+svc)) {
				t.Errorf("./cmd/%s holds no main package", svc)
			}

			bin := "/usr/local/bin/" + svc
			var user, entry, health, copied string
			labels := ""
			for _, in := range final.instr {
				switch in.cmd {
				case "USER":
					user = in.args
				case "ENTRYPOINT":
					entry = strings.Join(execForm(t, "ENTRYPOINT", in.args), " ")
				case "HEALTHCHECK":
					_, cmd, ok := strings.Cut(in.args, "CMD ")
					if !ok {
						t.Errorf("HEALTHCHECK %q has no CMD", in.args)
					}
					health = strings.Join(execForm(t, "HEALTHCHECK CMD", cmd), " ")
				case "COPY":
					copied = in.args
				case "LABEL":
					labels += in.args
				}
			}
			if user != "10001:988" {
				t.Errorf("USER %q, want 10001:988", user)
			}
			if entry != bin {
				t.Errorf("ENTRYPOINT %q, want [%q]", entry, bin)
			}
			if health != bin+" healthcheck" {
				t.Errorf("HEALTHCHECK CMD %q, want [%q, \"healthcheck\"]", health, bin)
			}
			if copied != "--from=build /out/"+svc+" "+bin {
				t.Errorf("runtime COPY %q does not install the built binary at %s", copied, bin)
			}
			for _, l := range []string{"org.opencontainers.image.title", "org.opencontainers.image.version", "org.opencontainers.image.source"} {
				if !strings.Contains(labels, l) {
					t.Errorf("no %s label", l)
				}
			}

			ignore := readFile(t, "containers/"+svc+"/Dockerfile.dockerignore")
			for _, want := range []string{".env", "downloads", ".git"} {
				if !contains(lines(ignore), want) {
					t.Errorf("Dockerfile.dockerignore does not exclude %s from the build context", want)
				}
			}
		})
	}
}

// hasMainPackage reports whether dir holds a non-test Go file of package main.
func hasMainPackage(t *testing.T, dir string) bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`(?m)^package main\b`).Match(b) {
			return true
		}
	}
	return false
}

// TestDockerfileBuildCommand runs the Dockerfiles' go build line natively
// and checks the result: a static binary that reports the injected version.
func TestDockerfileBuildCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four binaries")
	}
	if runtime.GOOS != "linux" {
		t.Skip("static Linux binaries")
	}
	out := t.TempDir()
	const version = "v9.8.7-stacktest"
	pkgs := make([]string, 0, len(appServices))
	for _, svc := range appServices {
		pkgs = append(pkgs, "./cmd/"+svc)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goBin, append([]string{"build", "-trimpath",
		"-ldflags", "-s -w -X github.com/wmo-im/wis2downloader/internal/buildinfo.version=" + version,
		"-o", out + "/"}, pkgs...)...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build (as in the Dockerfiles): %v\n%s", err, b)
	}
	for _, svc := range appServices {
		bin := filepath.Join(out, svc)
		if dyn, err := isDynamic(bin); err != nil {
			t.Errorf("%s: %v", svc, err)
			continue
		} else if dyn {
			t.Errorf("%s is dynamically linked; distroless static has no libc", svc)
		}
		got, err := exec.Command(bin, "-version").CombinedOutput()
		if err != nil || !strings.Contains(string(got), version) {
			t.Errorf("%s -version = %q (%v), want the injected %s", svc, got, err, version)
		}
	}
}

// isDynamic reports whether an ELF executable requests a program interpreter
// (the dynamic loader).
func isDynamic(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true, nil
		}
	}
	return false, nil
}

// TestDockerignoreKeepsGoSources: the build context excludes secrets and data
// but no directory holding Go code the binaries need (e.g. web/ for the UI's
// embedded assets).
func TestDockerignoreKeepsGoSources(t *testing.T) {
	root := repoRoot(t)
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var goDirs []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		found := false
		_ = filepath.WalkDir(filepath.Join(root, e.Name()), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") {
				found = true
				return filepath.SkipAll
			}
			return nil
		})
		if found {
			goDirs = append(goDirs, e.Name())
		}
	}
	if !contains(goDirs, "cmd") || !contains(goDirs, "internal") {
		t.Fatalf("Go directories %v lack cmd or internal", goDirs)
	}
	for _, svc := range appServices {
		ignored := lines(readFile(t, "containers/"+svc+"/Dockerfile.dockerignore"))
		for _, d := range goDirs {
			for _, pat := range ignored {
				if ok, _ := filepath.Match(strings.TrimSuffix(pat, "/"), d); ok {
					t.Errorf("containers/%s/Dockerfile.dockerignore excludes %s/, which holds Go code", svc, d)
				}
			}
		}
	}
}
