// Package subscription holds the subscription model, its Redis store
// (hash global:subscriptions) and the commands published on the
// subscription_commands channel.
package subscription

import "encoding/json"

// Redis names shared with the Python original.
const (
	HashKey        = "global:subscriptions"
	CommandChannel = "subscription_commands"
)

// Subscription is one stored subscription. SavePath is relative to the data
// root; nil means "no target": files go to the root's default layout.
type Subscription struct {
	ID       string          `json:"id"`
	Topic    string          `json:"topic"`
	SavePath *string         `json:"save_path"`
	Filter   json.RawMessage `json:"filter"`
}

// Command actions on the subscription_commands channel (spec §1.4).
const (
	ActionSubscribe          = "subscribe"
	ActionAddSubscription    = "add_subscription"
	ActionUpdateSubscription = "update_subscription"
	ActionRemoveSubscription = "remove_subscription"
	ActionUnsubscribe        = "unsubscribe"
)

// Entry is one subscription inside a command (without its topic).
type Entry struct {
	ID       string          `json:"id"`
	SavePath *string         `json:"save_path"`
	Filter   json.RawMessage `json:"filter"`
}

// Command is a message on the subscription_commands channel.
type Command struct {
	Action        string           `json:"action"`
	Topic         string           `json:"topic"`
	Subscriptions map[string]Entry `json:"subscriptions,omitempty"` // subscribe
	SubID         string           `json:"sub_id,omitempty"`        // add/update/remove
	SavePath      *string          `json:"save_path,omitempty"`     // add/update
	Filter        json.RawMessage  `json:"filter,omitempty"`        // add/update
}
