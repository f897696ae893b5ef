package subscription

// HeartbeatKeyPrefix starts the key each subscriber refreshes (with an
// expiry) with its Heartbeat: subscriber:health:<client id>. The API reads
// subscriber:health:* to report each subscriber's state.
const HeartbeatKeyPrefix = "subscriber:health:"

// Heartbeat is the JSON value of subscriber:health:<client id>.
type Heartbeat struct {
	Broker        string `json:"broker"`
	ClientID      string `json:"client_id"`
	Connected     bool   `json:"connected"`
	Since         string `json:"since"`   // RFC 3339, last change of Connected
	Updated       string `json:"updated"` // RFC 3339, time of this write
	Subscriptions int    `json:"subscriptions"`
	Received      int64  `json:"received"` // messages received since start
}
