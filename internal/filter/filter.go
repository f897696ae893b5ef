// Package filter compiles and evaluates subscription filters: the rule
// language of the original downloader (spec §3.2), validated up front.
//
// CONTRACT (fixed by the lead; implementers may add, not change):
// Compile, Filter.Evaluate, Input, Decision, Stage, *Error.
package filter

import "encoding/json"

// Stage says whether the filter runs before or after the download.
type Stage int

// Stages.
const (
	PreDownload Stage = iota
	PostDownload
)

// Input is what a filter sees about one notification.
type Input struct {
	Stage      Stage
	Topic      string
	CentreID   string // "" when unknown
	DataID     string
	MetadataID string
	Href       string
	MediaType  string // "" when unknown (pre-download without a declared type)
	Size       int64  // -1 when unknown
	Geometry   json.RawMessage
	Properties map[string]any
}

// Decision is the outcome of Evaluate.
type Decision struct {
	Accept bool
	RuleID string // rule that decided, "" when no rule decided
	Reason string // rule reason (defaults to the rule id)
}

// Error is a structural error found by Compile; Path points at the offending
// rule (e.g. "rules[2].match.all[0].size").
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}
