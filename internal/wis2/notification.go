// Package wis2 parses WIS2 Notification Messages (WNM) and WIS2 topics.
//
// CONTRACT (fixed by the lead; implementers may add, not change):
// Parse, Peek, Notification, Properties, Link, Integrity, Content, Topic,
// ParseTopic, ParseError and the Reason constants below.
package wis2

import (
	"encoding/json"
	"time"
)

// MaxMessageBytes is the largest notification accepted (WNM REQ_message_size).
const MaxMessageBytes = 8192

// Reason is a bounded rejection reason, used as a metric label value.
type Reason string

// Rejection reasons of Parse.
const (
	ReasonNotJSON     Reason = "not_json"
	ReasonTooLarge    Reason = "too_large"
	ReasonNoID        Reason = "missing_id"
	ReasonNoDataID    Reason = "missing_data_id"
	ReasonNoLink      Reason = "no_usable_link"
	ReasonBadContent  Reason = "bad_inline_content"
	ReasonBadPubtime  Reason = "bad_pubtime"
	ReasonInvalidType Reason = "invalid_message"
)

// ParseError is returned by Parse and Peek; Reason is a bounded label.
type ParseError struct {
	Reason Reason
	Detail string
}

func (e *ParseError) Error() string { return string(e.Reason) + ": " + e.Detail }

// Link is one entry of "links".
type Link struct {
	Href   string `json:"href"`
	Rel    string `json:"rel"`
	Type   string `json:"type,omitempty"`
	Length int64  `json:"length,omitempty"` // 0 = not given
	Title  string `json:"title,omitempty"`
}

// Integrity is properties.integrity.
type Integrity struct {
	Method string `json:"method"` // as sent: sha256, sha3-256, ...
	Value  string `json:"value"`  // base64 (hex tolerated)
}

// Content is properties.content (inline data).
type Content struct {
	Encoding string `json:"encoding"` // utf-8, base64, gzip
	Value    string `json:"value"`
	Size     int64  `json:"size"`
}

// Properties are the notification's properties that the product uses; All
// keeps every property (also unknown ones) for filter "property" rules.
type Properties struct {
	DataID        string
	MetadataID    string
	Pubtime       time.Time // zero if absent
	Datetime      *time.Time
	StartDatetime *time.Time
	EndDatetime   *time.Time
	Integrity     *Integrity
	Content       *Content
	Cache         *bool
	GlobalCache   string
	All           map[string]any

	// ContentError says why inline content was dropped by Parse (it could
	// not be decoded but a usable link exists); nil otherwise.
	ContentError error
}

// Notification is a parsed WIS2 notification message.
type Notification struct {
	ID         string
	Geometry   json.RawMessage // GeoJSON geometry or nil/"null"
	Properties Properties
	Links      []Link
}

// Action is what a notification asks for.
type Action string

// Actions of a notification, from its data link's rel.
const (
	ActionNew    Action = "canonical"
	ActionUpdate Action = "update"
	ActionDelete Action = "deletion"
)

// Topic is a WIS2 topic split into its levels. Fields are empty when the
// topic does not follow the hierarchy (e.g. GTS-style gateways below level 6).
type Topic struct {
	Levels           []string
	Channel          string // origin, cache
	CentreID         string // level 4 when level 3 is "wis2"
	NotificationType string // data, metadata
	DataPolicy       string // core, recommended
}
