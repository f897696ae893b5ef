package testsvc

import (
	"crypto/rand"
	"encoding/hex"
)

// randomSecret returns 32 hex characters from crypto/rand.
func randomSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}
