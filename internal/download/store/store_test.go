package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLayoutExpand(t *testing.T) {
	l, err := ParseLayout("")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	cases := []struct {
		in   PathInput
		want string
	}{
		{PathInput{Target: "synop", Time: at, CentreID: "de-dwd", Filename: "a.bufr"}, "synop/2026/03/04/de-dwd/a.bufr"},
		{PathInput{Target: "", Time: at, CentreID: "", Filename: "a.bufr"}, "2026/03/04/unknown/a.bufr"},
		{PathInput{Target: "../../x", Time: at, CentreID: "..", Filename: ".."}, "x/2026/03/04/unknown/data"},
		{PathInput{Target: "a/./b", Time: at, CentreID: "c/d", Filename: "", DataID: "wis2/x/y/file.grib"}, "a/b/2026/03/04/c_d/file.grib"},
		{PathInput{Target: "t", Time: at, CentreID: "c", Filename: ".hidden"}, "t/2026/03/04/c/_hidden"},
		{PathInput{Target: "t", Time: at, CentreID: "c", Filename: "a\x00b\nc"}, "t/2026/03/04/c/a_b_c"},
	}
	for _, c := range cases {
		got, err := l.Expand(c.in)
		if err != nil || got != c.want {
			t.Errorf("%+v: %q %v, want %q", c.in, got, err, c.want)
		}
	}
}

func TestParseLayoutErrors(t *testing.T) {
	for _, s := range []string{"{target}/{nope}/{filename}", "{target}/{yyyy}", "{target", "/abs/{filename}"} {
		if _, err := ParseLayout(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	if _, err := ParseLayout("{target}/{centre_id}/{yyyy}{mm}{dd}/{hh}/{data_id}"); err != nil {
		t.Error(err)
	}
}

func FuzzPath(f *testing.F) {
	f.Add("synop", "de-dwd", "file.bufr", "wis2/a/b", "{target}/{yyyy}/{mm}/{dd}/{centre_id}/{filename}")
	f.Add("../..", "..", "..", "../../etc/passwd", "{target}/{data_id}")
	f.Add("/abs", "a/b", "/x/../y", "", "x/../{target}/../{filename}")
	f.Add("a\\..\\..", ".", "\x00", "..\\..", "{centre_id}..{filename}")
	f.Fuzz(func(t *testing.T, target, centre, name, dataID, layout string) {
		l, err := ParseLayout(layout)
		if err != nil {
			return
		}
		rel, err := l.Expand(PathInput{Target: target, CentreID: centre, Filename: name, DataID: dataID, Time: time.Unix(0, 0)})
		if err != nil {
			return
		}
		if !filepath.IsLocal(rel) {
			t.Fatalf("%q is not local", rel)
		}
		for _, seg := range strings.Split(rel, "/") {
			if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, ".") || len(seg) > maxSegment {
				t.Fatalf("bad segment %q in %q", seg, rel)
			}
		}
		root := "/data/root"
		if j := filepath.Join(root, rel); !strings.HasPrefix(j, root+"/") {
			t.Fatalf("%q escapes %s", j, root)
		}
	})
}

func TestSymlinkEscapeRefused(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	os.MkdirAll(outside, 0o755)
	s, err := New(root, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "evil")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TempFile("evil/2026/01/01/c/f"); err == nil {
		t.Fatal("temporary file created through a symlink leaving the root")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("created outside the root: %v", entries)
	}
}

func TestCommitReplacesAtomicallyAndRecreatesDirs(t *testing.T) {
	s, err := New(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	write := func(data string) string {
		f, err := s.TempFile("t/a/f")
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(data)
		f.Close()
		return f.Name()
	}
	if _, err := s.Commit(write("one"), []string{"t/a/f", "u/b/f"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(write("two"), []string{"t/a/f"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(s.Root(), "t/a/f")); string(b) != "two" {
		t.Fatalf("got %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(s.Root(), "u/b/f")); string(b) != "one" {
		t.Fatalf("other target changed: %q", b)
	}
	// A directory removed by cleanup after it was checked is recreated.
	tmp := write("three")
	os.RemoveAll(filepath.Join(s.Root(), "v"))
	if _, err := s.Commit(tmp, []string{"v/c/f"}); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(s.Root(), "v"))
	if _, err := s.Commit(write("four"), []string{"v/c/f"}); err != nil {
		t.Fatalf("vanished directory not recreated: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(s.Root(), "t/a"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	freed, ok, err := s.Remove("u/b/f")
	if err != nil || !ok || freed != 3 {
		t.Errorf("remove: %d %v %v", freed, ok, err)
	}
	if _, _, err := s.Remove("../x"); err == nil {
		t.Error("remove outside root accepted")
	}
}
