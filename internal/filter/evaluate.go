package filter

import (
	"encoding/json"
	"fmt"
	"sync"
)

// EvalError is returned by Evaluate when a rule cannot be evaluated on an
// input (a property that does not convert to the rule's type, malformed
// geometry under a bbox rule). The caller rejects the notification (fail
// closed) with its own reason.
type EvalError struct {
	RuleID string
	Err    error
}

func (e *EvalError) Error() string { return fmt.Sprintf("filter rule %q: %v", e.RuleID, e.Err) }

func (e *EvalError) Unwrap() error { return e.Err }

// Evaluate runs the rules in order (ascending "order", ties in the order
// written): the first matching rule whose action is accept or reject
// decides; continue rules do not change the outcome and are skipped. When
// no rule decides, the notification is accepted.
//
// Values unknown at this stage (MediaType "" and Size -1 before the
// download, any empty field, a missing property) make every operator false
// except {"exists": false}, as in the original; so a final catch-all reject
// must be guarded, e.g. {"media_type": {"exists": true}}, or it rejects
// everything before the download.
func (f *Filter) Evaluate(in Input) (Decision, error) {
	c := evalCtx{in: in}
	for i := range f.rules {
		r := &f.rules[i]
		if r.action == actContinue {
			continue
		}
		ok, err := r.match.eval(&c)
		if err != nil {
			return Decision{}, &EvalError{RuleID: r.id, Err: err}
		}
		if ok {
			return Decision{Accept: r.action == actAccept, RuleID: r.id, Reason: r.reason}, nil
		}
	}
	return Decision{Accept: true}, nil
}

// DefaultMediaTypes returns the media types the default filter accepts
// (spec §3.3, the original worker's list; x-bufr and x-grib spellings are
// normalised to bufr and grib before comparison).
func DefaultMediaTypes() []string {
	return []string{
		"image/gif", "image/jpeg", "image/png", "image/tiff",
		"application/pdf", "application/postscript", "application/bufr", "application/grib",
		"application/x-hdf", "application/x-hdf5", "application/x-netcdf", "application/x-netcdf4",
		"text/plain", "text/html", "text/xml", "text/csv", "text/tab-separated-values",
		"application/octet-stream",
	}
}

// DefaultRuleID is the id of the default filter's rule.
const DefaultRuleID = "default-media-types"

var defaultFilter = sync.OnceValue(func() *Filter {
	types, _ := json.Marshal(DefaultMediaTypes())
	raw := `{"name":"default","rules":[{"id":"` + DefaultRuleID + `","order":1,"action":"reject",` +
		`"reason":"media type not in the default list",` +
		`"match":{"all":[{"media_type":{"exists":true}},{"not":{"media_type":{"in":` + string(types) + `}}}]}}]}`
	f, err := compileRaw(json.RawMessage(raw))
	if err != nil || f == nil {
		panic(fmt.Sprintf("filter: default filter does not compile: %v", err))
	}
	f.isDefault = true
	return f
})

// Default returns the filter used for subscriptions without one: reject
// when the media type is known and not in DefaultMediaTypes. It is shared
// and immutable.
func Default() *Filter { return defaultFilter() }
