package subscriber

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"strconv"
)

// ClientID returns the MQTT client id: sessionID when set, otherwise
// "wis2dl-" and 16 hex digits derived from the host name and the broker
// address. The derived id is the same on every start of the same container
// (so the broker's persistent session is found again) and differs between
// replicas (whose host names differ) and between brokers.
func ClientID(sessionID, hostname, brokerHost string, brokerPort int) string {
	if sessionID != "" {
		return sessionID
	}
	sum := sha256.Sum256([]byte(hostname + "|" + net.JoinHostPort(brokerHost, strconv.Itoa(brokerPort))))
	return "wis2dl-" + hex.EncodeToString(sum[:])[:16]
}
