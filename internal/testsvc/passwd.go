package testsvc

import (
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
)

// writePasswordFile writes a mosquitto password file holding user/password.
// It uses mosquitto_passwd (shipped by Debian's mosquitto package) when
// present, and otherwise writes the "$6$" form mosquitto 2 also accepts:
// base64(salt) and base64(SHA-512(password || salt)).
func writePasswordFile(path, user, password string, useTool bool) error {
	if tool := lookBinary("mosquitto_passwd"); useTool && tool != "" {
		out, err := exec.Command(tool, "-c", "-b", path, user, password).CombinedOutput()
		if err != nil {
			return fmt.Errorf("mosquitto_passwd: %w: %s", err, out)
		}
		return nil
	}
	return os.WriteFile(path, []byte(sha512PasswordLine(user, password)), 0o600)
}

// sha512PasswordLine returns one password-file line in mosquitto's $6$ form.
func sha512PasswordLine(user, password string) string {
	salt := make([]byte, 12)
	_, _ = rand.Read(salt)
	h := sha512.New()
	h.Write([]byte(password))
	h.Write(salt)
	enc := base64.StdEncoding
	return fmt.Sprintf("%s:$6$%s$%s\n", user, enc.EncodeToString(salt), enc.EncodeToString(h.Sum(nil)))
}
