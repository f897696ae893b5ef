package filter

import (
	"os"
	"testing"

	"github.com/wmo-im/wis2downloader/internal/wis2"
)

// TestNewInputOnSamples runs real notifications through NewInput and the
// default filter, as the worker does before a download.
func TestNewInputOnSamples(t *testing.T) {
	const dir = "../../../shared/wis2-samples/"
	tests := []struct {
		file, topic, centre, mediaType string
		size                           int64
		defaultAccepts                 bool
	}{
		{"wmo-im_wis2box-training/wnm-wis2box-1.3.0-br-inmet-synop.json", "origin/a/wis2/br-inmet/data/core/weather/surface-based-observations/synop", "br-inmet", "application/bufr", 125117, true},
		{"wmo-im_pywis-pubsub/tests/test_valid_checksum.json", "cache/a/wis2/de-dwd-gts-to-wis2/data/core/S/Z/I/O/01/ammc", "de-dwd-gts-to-wis2", "", 465, true},
		{"wmo-im_wis2-notification-message/examples/eumetsat-msg-seviri-recommended-notification.json", "origin/a/wis2/int-eumetsat/data/recommended/weather", "int-eumetsat", "application/zip", 4023452, false},
		{"wmo-im_wis2-notification-message/examples/example3.json", "legacy-topic", "", "", -1, true},
	}
	for _, tc := range tests {
		b, err := os.ReadFile(dir + tc.file)
		if err != nil {
			t.Fatalf("samples folder missing (shared/ must sit beside the repo): %v", err)
		}
		n, err := wis2.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		link, _, _ := n.DataLink()
		in := NewInput(tc.topic, n, link)
		if in.CentreID != tc.centre || in.MediaType != tc.mediaType || in.Size != tc.size || in.Href != link.Href ||
			in.DataID != n.Properties.DataID || in.Stage != PreDownload || in.Properties["data_id"] != n.Properties.DataID {
			t.Errorf("%s: input %+v", tc.file, in)
		}
		d, err := Default().Evaluate(in)
		if err != nil || d.Accept != tc.defaultAccepts {
			t.Errorf("%s: default filter %+v, %v", tc.file, d, err)
		}
	}
}
