package config

import "time"

// UIConfig is the configuration of the web UI.
type UIConfig struct {
	Common
	Host       string
	Port       int
	APIURL     string
	APIToken   string
	GrafanaURL string
	SecretKey  string
	GDCTTL     time.Duration
}

// LoadUI reads the UI's configuration.
func LoadUI(src *Source) (UIConfig, error) {
	l := newLoader(src)
	c := UIConfig{Common: l.common()}
	c.Host = l.str(UIHost)
	c.Port = l.port(UIPort)
	c.APIURL = l.str(UIAPIURL)
	c.APIToken = l.raw(APIToken)
	c.GrafanaURL = l.str(GrafanaURL)
	c.SecretKey = l.raw(UISecret)
	c.GDCTTL = l.seconds(GDCTTL)
	return c, l.finish(&c.Common)
}
