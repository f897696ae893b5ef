package ui

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wmo-im/wis2downloader/internal/api"
	"github.com/wmo-im/wis2downloader/internal/telemetry"
	"github.com/wmo-im/wis2downloader/internal/testsvc"
)

// TestFragmentAgainstRealAPI checks the contract with the real subscription
// API over a real redis-server: a subscription created through the API shows
// up in the UI's fragment.
func TestFragmentAgainstRealAPI(t *testing.T) {
	r := testsvc.StartRedis(t)
	h, err := api.New(api.Options{
		Redis:    r.Client(t),
		Queue:    "downloads",
		Gatherer: telemetry.NewRegistry(),
		Token:    testToken,
		Logger:   testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	apiSrv := httptest.NewServer(h)
	t.Cleanup(apiSrv.Close)

	body := `{"topic": "cache/a/wis2/+/data/core/weather/surface-based-observations/synop", "target": "synop"}`
	req, err := http.NewRequest(http.MethodPost, apiSrv.URL+"/subscriptions", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	created, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST /subscriptions = %d %s", resp.StatusCode, created)
	}

	ui := startUI(t, apiSrv.URL, testToken)
	_, frag := get(t, ui.URL+"/fragments/subscriptions", "")
	mustContain(t, frag, `id="subscription-table"`,
		"<code>cache/a/wis2/+/data/core/weather/surface-based-observations/synop</code>",
		"<code>synop</code>")
	if strings.Contains(frag, `id="api-error"`) {
		t.Fatalf("error box against the real API:\n%s", frag)
	}

	// The same UI with a wrong token gets the API's 401 and shows the box.
	bad := startUI(t, apiSrv.URL, "not-the-token")
	_, frag = get(t, bad.URL+"/fragments/subscriptions", "")
	mustContain(t, frag, `id="api-error"`, "API_TOKEN")
}
