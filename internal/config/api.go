package config

// APIConfig is the configuration of the subscription API.
type APIConfig struct {
	Common
	Queue     string
	DataPath  string
	Host      string
	Port      int
	SecretKey string
	Debug     bool
	Token     string
	BodyLimit int64
}

// LoadAPI reads the API's configuration.
func LoadAPI(src *Source) (APIConfig, error) {
	l := newLoader(src)
	c := APIConfig{Common: l.common()}
	c.Queue = l.queue(&c.Common)
	c.DataPath = l.str(DataPath)
	c.Host = l.str(APIHost)
	c.Port = l.port(APIPort)
	c.SecretKey = l.raw(APISecretKey)
	c.Debug = l.bool(APIDebug)
	c.Token = l.raw(APIToken)
	c.BodyLimit = l.int64(APIBodyLimit)
	return c, l.finish(&c.Common)
}
