package wis2

import "testing"

func BenchmarkPeek(b *testing.B) {
	msg := readSample(b, "wmo-im_wis2box-training/wnm-wis2box-1.3.0-br-inmet-synop.json")
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Peek(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	msg := readSample(b, "wmo-im_wis2box-training/wnm-wis2box-1.3.0-br-inmet-synop.json")
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(msg); err != nil {
			b.Fatal(err)
		}
	}
}
