package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/wmo-im/wis2downloader/internal/buildinfo"
	"github.com/wmo-im/wis2downloader/internal/subscription"
)

// maxAPIBody bounds the subscription list the UI reads from the API.
const maxAPIBody = 8 << 20

// errUnauthorized is returned when the API refuses the UI's token.
var errUnauthorized = errors.New("the API refused the token (check API_TOKEN)")

// apiClient talks to the subscription API on its internal URL.
type apiClient struct {
	baseURL string // e.g. http://api:5001, without a trailing slash
	token   string
	http    *http.Client
}

// subscriptions fetches GET /subscriptions, whose body maps topic → id →
// {save_path, filter}, and returns the entries sorted by topic then id.
func (c *apiClient) subscriptions(ctx context.Context) ([]subscription.Subscription, error) {
	url := c.baseURL + "/subscriptions"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", buildinfo.UserAgent())
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err // a *url.Error: names the method, the URL and the cause
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: read body: %w", url, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("GET %s: HTTP %d: %w", url, resp.StatusCode, errUnauthorized)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: HTTP %d: %s", url, resp.StatusCode, snippet(body))
	case len(body) > maxAPIBody:
		return nil, fmt.Errorf("GET %s: body larger than %d bytes", url, maxAPIBody)
	}
	var byTopic map[string]map[string]subscription.Entry
	if err := json.Unmarshal(body, &byTopic); err != nil {
		return nil, fmt.Errorf("GET %s: decode: %w", url, err)
	}
	var subs []subscription.Subscription
	for topic, entries := range byTopic {
		for id, e := range entries {
			subs = append(subs, subscription.Subscription{ID: id, Topic: topic, SavePath: e.SavePath, Filter: e.Filter})
		}
	}
	sort.Slice(subs, func(i, j int) bool {
		if subs[i].Topic != subs[j].Topic {
			return subs[i].Topic < subs[j].Topic
		}
		return subs[i].ID < subs[j].ID
	})
	return subs, nil
}

// snippet returns the start of an error body for a message.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// filterText renders a subscription filter as compact JSON ("" when absent).
func filterText(f json.RawMessage) string {
	if len(f) == 0 || string(f) == "null" {
		return ""
	}
	var b bytes.Buffer
	if err := json.Compact(&b, f); err != nil {
		return string(f)
	}
	return b.String()
}
