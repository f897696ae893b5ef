package wis2

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// samplesDir is shared/wis2-samples relative to this package: the repo is at
// <X>/main and shared/ beside it, in development and in CI alike.
const samplesDir = "../../../shared/wis2-samples"

// readSample reads a sample file; a missing samples folder fails the test.
func readSample(t testing.TB, rel string) []byte {
	t.Helper()
	if _, err := os.Stat(samplesDir); err != nil {
		t.Fatalf("samples folder %s missing (shared/ must sit beside the repo): %v", samplesDir, err)
	}
	b, err := os.ReadFile(filepath.Join(samplesDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// embeddedWNM extracts data.content.wnm from a WIS2 monitoring event.
func embeddedWNM(t testing.TB, b []byte) []byte {
	t.Helper()
	var ev struct {
		Data struct {
			Content struct {
				WNM json.RawMessage `json:"wnm"`
			} `json:"content"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &ev); err != nil || len(ev.Data.Content.WNM) == 0 {
		t.Fatalf("no embedded WNM: %v", err)
	}
	return ev.Data.Content.WNM
}

// schemaExample extracts the "example" of the bundled WNM schema.
func schemaExample(t testing.TB, b []byte) []byte {
	t.Helper()
	var s struct {
		Example json.RawMessage `json:"example"`
	}
	if err := json.Unmarshal(b, &s); err != nil || len(s.Example) == 0 {
		t.Fatalf("no schema example: %v", err)
	}
	return s.Example
}

// sampleCase is one notification message from shared/wis2-samples and
// what Parse must make of it.
type sampleCase struct {
	file    string
	extract func(testing.TB, []byte) []byte

	reason      Reason // "" = accepted
	id          string
	dataID      string
	action      Action
	href        string // prefix of the chosen link
	length      int64
	linkType    string
	method      string
	content     bool // inline content kept
	contentErr  bool // inline content dropped with an error
	pubtime     string
	datetime    string // "" = nil
	startEnd    bool
	geometry    bool
	cache       *bool
	allKey      string // a key expected in Properties.All
	metadataID  string
	integrityOK string // hex/base64 form check: "hex", "base64", "garbage"
}

var falseVal = false

func sampleCases() []sampleCase {
	const nm = "wmo-im_wis2-notification-message/"
	const pp = "wmo-im_pywis-pubsub/"
	return []sampleCase{
		{file: nm + "examples/example1.json", id: "31e9d66a-cd83-4174-9429-b932f1abe1be",
			dataID: "dataset/123/data-granule/UANT01_CWAO_200445___15103.bufr4", action: ActionNew,
			href: "https://example.org/data/4Pubsub/", linkType: "application/bufr", method: "sha512",
			contentErr: true, // size 457 but the value is 27 bytes
			pubtime:    "2022-03-20T04:50:18Z", datetime: "2022-03-20T04:45:00Z", geometry: true,
			metadataID: "urn:wmo:md:ca-eccc-msc:observations.swob", integrityOK: "garbage"},
		{file: nm + "examples/example2.json", id: "31e9d66a-cd83-4174-9429-b932f1abe1be",
			dataID: "dataset/4546/abcdef-abcd-abcd-abcd-abcdefabcd", action: ActionNew,
			href: "https://example.org/data/nwp/", linkType: "application/grib", method: "sha512",
			pubtime: "2022-03-20T04:50:18Z", startEnd: true, geometry: true,
			metadataID: "urn:wmo:md:fr-meteo-france:gap123", integrityOK: "garbage"},
		{file: nm + "examples/example3.json", id: "31e9d66a-cd83-4174-9429-b932f1abcdef",
			dataID: "data/data-123/items/abcdefab-abcd-1234-5678-0123456789ab", action: ActionNew,
			href: "https://example.org/92c557ef", pubtime: "2022-11-20T16:40:37Z", datetime: "2022-11-11T11:11:11Z",
			cache: &falseVal, metadataID: "urn:wmo:md:test-nmhs-xyz:some_dataset"},
		{file: nm + "examples/example4.json", id: "31e9d66a-cd83-4174-9429-b932f1abcdef",
			dataID: "data/data-123/items/abcdefab-abcd-1234-5678-0123456789ab", action: ActionDelete,
			href: "https://example.org/92c557ef", pubtime: "2022-12-22T16:40:37Z", datetime: "2022-11-11T11:11:11Z",
			cache: &falseVal, metadataID: "urn:wmo:md:test-nmhs-xyz:some_dataset"},
		{file: nm + "examples/eumetsat-msg-seviri-core-notification.json", id: "e686f5cf-bacf-4703-9f94-217e2b5d5ebb",
			dataID: "wis2/int-eumetsat/data/core/weather/space-based-observations/satellite4nowcasting/Meteosat-10/ImageL1-5/H-000-MSG3__-MSG3________-IR_134___-000001___-202401181200-C_",
			action: ActionNew, href: "https://wisdev.kishou.go.jp/data/wis2/int-eumetsat/", length: 409575,
			linkType: "application/octet-stream", method: "sha512", pubtime: "2024-01-18T12:05:02Z",
			datetime: "2024-01-18T12:00:00Z", metadataID: "urn:wmo:md:int:eumetsat:EO:EUM:DAT:MSG:HRSEVIRI3", integrityOK: "hex"},
		{file: nm + "examples/eumetsat-msg-seviri-recommended-notification.json", id: "952de8f5-1220-4930-930f-d4fb2fc07087",
			dataID: "wis2/int-eumetsat/data/core/weather/space-based-observations/satellite4nowcasting/Meteosat-10/ImageL1-5/EO:EUM:DAT:MSG:HRSEVIRI-MSG3-SEVI-MSG15-0100-NA-20240122075742.471000000Z-NA",
			action: ActionNew, href: "https://api.eumetsat.int/data/download/1.0.0/collections/EO%3AEUM%3ADAT%3A0410/",
			length: 4023452, linkType: "application/zip", method: "sha512", pubtime: "2024-01-18T12:05:02Z",
			datetime: "2024-01-22T07:45:00Z", metadataID: "urn:wmo:md:int:eumetsat:EO:EUM:DAT:MSG:HRSEVIRI3", integrityOK: "hex"},
		{file: nm + "examples/eumetsat-msg-seviri-recommended-api-notification.json", id: "20043c6a-5ceb-4601-8f77-1a7c71968d53",
			dataID: "wis2/int-eumetsat/data/core/weather/space-based-observations/satellite4nowcasting/Meteosat-10/ImageL1-5/EO:EUM:DAT:MSG:HRSEVIRI-MSG3-SEVI-MSG15-0100-NA-20240122075742.471000000Z-NA",
			action: ActionNew, href: "https://eumetsatspace.atlassian.net/wiki/", linkType: "text/html", method: "sha512",
			pubtime: "2024-01-18T12:05:02Z", datetime: "2024-01-22T07:45:00Z",
			metadataID: "urn:wmo:md:int:eumetsat:EO:EUM:DAT:MSG:HRSEVIRI3", integrityOK: "hex"},
		{file: nm + "schemas/wis2-notification-message-bundled.json", extract: schemaExample,
			id: "31e9d66a-cd83-4174-9429-b932f1abe1be", dataID: "dataset/123/data-granule/UANT01_CWAO_200445___15103.bufr4",
			action: ActionNew, href: "https://example.org/data/4Pubsub/", linkType: "application/bufr", method: "sha512",
			contentErr: true, pubtime: "2022-03-20T04:50:18.314854383Z", datetime: "2022-03-20T04:45:00Z",
			geometry: true, metadataID: "urn:wmo:md:ca-eccc-msc:observations.swob", integrityOK: "garbage"}, // legacy "version":"v04"
		{file: pp + "tests/test_valid.json", id: "31e9d66a-cd83-4174-9429-b932f1abe1be",
			dataID: "wis2/CAN/eccc-msc/data/core/weather/surface-based-obs/landFixed/UANT01_CWAO_200445___15103.bufr4",
			action: ActionNew, href: "https://example.org/data/4Pubsub/", linkType: "application/bufr", method: "sha512",
			contentErr: true, pubtime: "2022-03-20T04:50:18.314854383Z", datetime: "2022-03-20T04:45:00Z", geometry: true, integrityOK: "garbage"},
		{file: pp + "tests/test_invalid.json", id: "31e9d66a-cd83-4174-9429-b932f1abe1be",
			dataID: "wis2/CAN/eccc-msc/data/core/weather/surface-based-obs/landFixed/UANT01_CWAO_200445___15103.bufr4",
			action: ActionNew, href: "https://example.org/data/4Pubsub/", linkType: "application/bufr", method: "sha512",
			content: true, // no size: not checked, the utf-8 value is usable
			pubtime: "2022-03-20T04:50:18.314854383Z", datetime: "2022-03-20T04:45:00Z", geometry: true, integrityOK: "garbage"},
		{file: pp + "tests/test_invalid_datetime.json", id: "31e9d66a-cd83-4174-9429-b932f1abe1be",
			dataID: "wis2/CAN/eccc-msc/data/core/weather/surface-based-obs/landFixed/UANT01_CWAO_200445___15103.bufr4",
			action: ActionNew, href: "https://example.org/data/4Pubsub/", linkType: "application/bufr", method: "sha512",
			contentErr: true, pubtime: "", datetime: "2022-03-20T03:45:00Z", // +01:00 read and turned to UTC; no pubtime tolerated
			geometry: true, integrityOK: "garbage"},
		{file: pp + "tests/test_malformed.json", reason: ReasonNotJSON},
		{file: pp + "tests/test_valid_checksum.json", id: "a23ef8c3-f21f-4230-bdae-5672d0e2a203",
			dataID: "wis2/xxg/gts_to_wis2_dwd/data/core/SZIO01/AMMC/A_SZIO01AMMC110648_C_EDZW_20230811064904_50549867",
			action: ActionNew, href: "https://wisdev.kishou.go.jp/data/wis2/xxg/", length: 465, linkType: "application/octet-stream",
			method: "sha512", pubtime: "2023-08-11T06:52:01.395372Z", allKey: "gts",
			metadataID: "urn:x-wmo:md:int-wmo-wis::SZIO01AMMC", integrityOK: "base64"},
		{file: pp + ".github/workflows/test-data/example-message.json", id: "WIGOS_0-454-2-AWSCHIKANGAWA_20221109T135500",
			dataID: "origin/a/wis2/mwi/malawi_wmo_demo/data/core/weather/surface-based-observations/synop/WIGOS_0-454-2-AWSCHIKANGAWA_20221109T135500.bufr4",
			action: ActionNew, href: "https://pywis-pubsub-test.s3.eu-central-1.amazonaws.com/", length: 247, linkType: "application/bufr",
			method: "sha512", pubtime: "2023-02-17T12:35:27Z", geometry: true, allKey: "wigos_station_identifier", integrityOK: "base64"},
		{file: "wmo-im_wis2box-training/wnm-wis2box-1.3.0-br-inmet-synop.json", id: "3c14d7bf-e6b9-4f59-b4ea-f2fc52a33cd3",
			dataID: "br-inmet:data:core:weather:surface-based-observations:synop/WIGOS_0-20000-0-76679_20250206T231600",
			action: ActionNew, href: "http://localhost/data/2025-02-06/", length: 125117, linkType: "application/bufr",
			method: "sha512", pubtime: "2026-01-20T13:14:52Z", datetime: "2025-02-06T23:16:00Z", geometry: true,
			allKey: "wigos_station_identifier", metadataID: "urn:wmo:md:br-inmet:data:core:weather:surface-based-observations:synop", integrityOK: "base64"},
		{file: "wmo-im_wis2-monitoring-events/examples/wmem-gb-wnm-report.json", extract: embeddedWNM,
			id: "885f789e-b724-11ef-bede-e43d1a214826", dataID: "wis2/de-dwd-gts-to-wis2/data/recommended/U/A/N/T/99/KDDL/UANT99KDDL101828",
			action: ActionNew, href: "https://wis2.dwd.de/recommended/gts/KDDL/", length: 122, linkType: "application/octet-stream",
			method: "sha512", pubtime: "2024-12-10T18:28:20.643304Z", allKey: "gts", integrityOK: "base64"},
		// The monitoring event itself is not a notification message.
		{file: "wmo-im_wis2-monitoring-events/examples/wmem-gb-wnm-report.json", reason: ReasonInvalidType},
	}
}

func TestParseSamples(t *testing.T) {
	for _, tc := range sampleCases() {
		name := tc.file
		if tc.extract != nil {
			name += "#embedded"
		}
		t.Run(name, func(t *testing.T) {
			b := readSample(t, tc.file)
			if tc.extract != nil {
				b = tc.extract(t, b)
			}
			n, err := Parse(b)
			if tc.reason != "" {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Reason != tc.reason {
					t.Fatalf("Parse error = %v, want reason %s", err, tc.reason)
				}
				if _, perr := Peek(b); tc.reason == ReasonNotJSON && perr == nil {
					t.Errorf("Peek accepted a message Parse rejects as not JSON")
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if id, err := Peek(b); err != nil || id != tc.id {
				t.Errorf("Peek = %q, %v; want %q", id, err, tc.id)
			}
			if n.ID != tc.id || n.Properties.DataID != tc.dataID || n.Properties.MetadataID != tc.metadataID {
				t.Errorf("id/data_id/metadata_id = %q %q %q", n.ID, n.Properties.DataID, n.Properties.MetadataID)
			}
			l, action, ok := n.DataLink()
			if !ok || action != tc.action || !strings.HasPrefix(l.Href, tc.href) || l.Length != tc.length || l.Type != tc.linkType {
				t.Errorf("DataLink = %+v %s %v", l, action, ok)
			}
			if string(action) != l.Rel {
				t.Errorf("link rel %q, action %q", l.Rel, action)
			}
			if tc.method == "" {
				if n.Properties.Integrity != nil {
					t.Errorf("integrity = %+v, want none", n.Properties.Integrity)
				}
			} else if n.Properties.Integrity == nil || n.Properties.Integrity.Method != tc.method {
				t.Errorf("integrity = %+v", n.Properties.Integrity)
			} else if _, err := n.Properties.Integrity.NewHash(); err != nil {
				t.Errorf("NewHash: %v", err)
			}
			if got := n.Properties.Content != nil; got != tc.content {
				t.Errorf("content kept = %v, want %v", got, tc.content)
			}
			if got := n.Properties.ContentError != nil; got != tc.contentErr {
				t.Errorf("content error = %v, want error %v", n.Properties.ContentError, tc.contentErr)
			}
			wantPub := time.Time{}
			if tc.pubtime != "" {
				wantPub, _ = time.Parse(time.RFC3339Nano, tc.pubtime)
			}
			if !n.Properties.Pubtime.Equal(wantPub) {
				t.Errorf("pubtime = %v, want %v", n.Properties.Pubtime, wantPub)
			}
			switch {
			case tc.datetime == "" && n.Properties.Datetime != nil:
				t.Errorf("datetime = %v, want nil", n.Properties.Datetime)
			case tc.datetime != "":
				want, _ := time.Parse(time.RFC3339, tc.datetime)
				if n.Properties.Datetime == nil || !n.Properties.Datetime.Equal(want) {
					t.Errorf("datetime = %v, want %v", n.Properties.Datetime, want)
				}
			}
			if got := n.Properties.StartDatetime != nil && n.Properties.EndDatetime != nil; got != tc.startEnd {
				t.Errorf("start/end datetime set = %v", got)
			}
			if got := n.Geometry != nil; got != tc.geometry {
				t.Errorf("geometry = %s", n.Geometry)
			}
			if (tc.cache == nil) != (n.Properties.Cache == nil) || (tc.cache != nil && *tc.cache != *n.Properties.Cache) {
				t.Errorf("cache = %v", n.Properties.Cache)
			}
			if n.Properties.All["data_id"] != tc.dataID {
				t.Errorf("All lacks data_id: %v", n.Properties.All)
			}
			if tc.allKey != "" {
				if _, ok := n.Properties.All[tc.allKey]; !ok {
					t.Errorf("All lacks %q", tc.allKey)
				}
			}
			if in := n.Properties.Integrity; in != nil {
				form := "garbage"
				if isHexString(in.Value) {
					form = "hex"
				} else if _, err := decodeBase64(in.Value); err == nil {
					form = "base64"
				}
				if form != tc.integrityOK {
					t.Errorf("integrity value form = %s, want %s", form, tc.integrityOK)
				}
			}
		})
	}
}

func isHexString(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return s != ""
}

// TestSamplesCovered fails when shared/wis2-samples gains a notification
// message (a JSON object whose properties carry data_id or pubtime, or a
// file in a WNM folder) that sampleCases does not list.
func TestSamplesCovered(t *testing.T) {
	readSample(t, "SOURCES.md")
	listed := map[string]bool{}
	for _, tc := range sampleCases() {
		listed[tc.file] = true
	}
	err := filepath.WalkDir(samplesDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		rel, _ := filepath.Rel(samplesDir, path)
		rel = filepath.ToSlash(rel)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		isWNM := strings.HasPrefix(rel, "wmo-im_pywis-pubsub/") || strings.HasPrefix(rel, "wmo-im_wis2-notification-message/examples/")
		var v any
		if json.Unmarshal(b, &v) == nil && containsWNM(v) {
			isWNM = true
		}
		if isWNM && !listed[rel] {
			t.Errorf("sample %s is a notification message without an expected outcome in sampleCases", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func containsWNM(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		if p, ok := v["properties"].(map[string]any); ok {
			if _, ok := p["data_id"]; ok {
				return true
			}
			if _, ok := p["pubtime"]; ok {
				return true
			}
		}
		for _, x := range v {
			if containsWNM(x) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if containsWNM(x) {
				return true
			}
		}
	}
	return false
}

// TestRealBulletinChecksum verifies the real CREX bulletin against the
// sha512 of its notification.
func TestRealBulletinChecksum(t *testing.T) {
	n, err := Parse(readSample(t, "wmo-im_pywis-pubsub/tests/test_valid_checksum.json"))
	if err != nil {
		t.Fatal(err)
	}
	data := readSample(t, "wmo-im_pywis-pubsub/tests/A_SZIO01AMMC110648_C_EDZW_20230811064904_50549867")
	l, _, _ := n.DataLink()
	if int64(len(data)) != l.Length {
		t.Fatalf("bulletin is %d bytes, link length %d", len(data), l.Length)
	}
	h, err := n.Properties.Integrity.NewHash()
	if err != nil {
		t.Fatal(err)
	}
	h.Write(data)
	sum := h.Sum(nil)
	if !n.Properties.Integrity.Matches(sum) {
		t.Fatal("sha512 of the real bulletin does not match the notification")
	}
	sum[0] ^= 1
	if n.Properties.Integrity.Matches(sum) {
		t.Fatal("a corrupted digest matches")
	}
}
