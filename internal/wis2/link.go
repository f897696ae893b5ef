package wis2

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrNoDataLink is wrapped by SelectLink when no link has rel update,
// canonical or deletion.
var ErrNoDataLink = errors.New("no link with rel update, canonical or deletion")

// linkRank orders the data rels: a sloppy message with several of them is
// read as an update first, then new data, then a deletion.
var linkRank = [...]Action{ActionUpdate, ActionNew, ActionDelete}

// DataLink returns the link that carries the data and the action it asks
// for: the first usable link with rel "update", else "canonical", else
// "deletion" (rel compared case-insensitively). Links whose href is not an
// absolute http or https URL are skipped. ok is false when none is usable;
// SelectLink tells why.
func (n *Notification) DataLink() (Link, Action, bool) {
	l, a, err := n.SelectLink()
	return l, a, err == nil
}

// SelectLink is DataLink with the reason when no link is usable: it wraps
// ErrNoDataLink, or names the skipped links and why each was refused.
func (n *Notification) SelectLink() (Link, Action, error) {
	var skipped []string
	for _, want := range linkRank {
		for _, l := range n.Links {
			if !strings.EqualFold(strings.TrimSpace(l.Rel), string(want)) {
				continue
			}
			if err := checkHref(l.Href); err != nil {
				skipped = append(skipped, fmt.Sprintf("rel=%s: %v", want, err))
				continue
			}
			l.Rel = string(want)
			return l, want, nil
		}
	}
	if len(skipped) > 0 {
		return Link{}, "", fmt.Errorf("%w usable (%s)", ErrNoDataLink, strings.Join(skipped, "; "))
	}
	return Link{}, "", ErrNoDataLink
}

// checkHref accepts absolute http/https URLs with a host.
func checkHref(href string) error {
	if strings.TrimSpace(href) == "" {
		return errors.New("empty href")
	}
	u, err := url.Parse(href)
	if err != nil {
		return fmt.Errorf("href does not parse: %w", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return fmt.Errorf("href scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("href has no host")
	}
	return nil
}
