package filter

import (
	"encoding/json"
	"testing"
)

func BenchmarkEvaluateUIFilter(b *testing.B) {
	f := mustCompile(b, seedFilters[3])
	in := post()
	b.ReportAllocs()
	for b.Loop() {
		if d, err := f.Evaluate(in); err != nil || !d.Accept {
			b.Fatal(d, err)
		}
	}
}

func BenchmarkEvaluateNoGeometry(b *testing.B) {
	f := mustCompile(b, seedFilters[2])
	in := post()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Evaluate(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluateDefault(b *testing.B) {
	f := Default()
	in := post()
	b.ReportAllocs()
	for b.Loop() {
		if d, _ := f.Evaluate(in); !d.Accept {
			b.Fatal(d)
		}
	}
}

func BenchmarkCompileUIFilter(b *testing.B) {
	raw := json.RawMessage(seedFilters[3])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(raw); err != nil {
			b.Fatal(err)
		}
	}
}
