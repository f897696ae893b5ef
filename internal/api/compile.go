package api

import (
	"encoding/json"
	"errors"

	"github.com/wmo-im/wis2downloader/internal/filter"
)

// compileFilter compiles a subscription filter with the worker's filter
// package; a structural error is a 400 naming the offending rule.
func compileFilter(raw json.RawMessage) error {
	if _, err := filter.Compile(raw); err != nil {
		var fe *filter.Error
		if errors.As(err, &fe) && fe.Path != "" {
			return badRequest("invalid filter at %s: %s", fe.Path, fe.Msg)
		}
		return badRequest("invalid filter: %v", err)
	}
	return nil
}
