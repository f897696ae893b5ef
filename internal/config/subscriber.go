package config

import "time"

// SubscriberConfig is the configuration of the subscriber service.
type SubscriberConfig struct {
	Common
	Queue          string
	BrokerHost     string
	BrokerPort     int
	Username       string
	Password       string
	Protocol       string // "websockets" or "tcp"
	SessionID      string // empty: derive from host name and broker
	TLS            string // "auto", "true" or "false"
	CAFile         string
	WSPath         string
	SessionExpiry  time.Duration
	KeepAlive      time.Duration
	ShareGroup     string
	Reconcile      time.Duration
	UnhealthyAfter time.Duration
	MetricsPort    int
	Enqueuers      int
}

// UseTLS tells whether the broker connection uses TLS.
func (c SubscriberConfig) UseTLS() bool {
	switch c.TLS {
	case "true":
		return true
	case "false":
		return false
	}
	return c.BrokerPort == 443 || c.BrokerPort == 8883
}

// LoadSubscriber reads the subscriber's configuration.
func LoadSubscriber(src *Source) (SubscriberConfig, error) {
	l := newLoader(src)
	c := SubscriberConfig{Common: l.common()}
	c.Queue = l.queue(&c.Common)
	c.BrokerHost = l.str(BrokerHost)
	c.BrokerPort = l.port(BrokerPort)
	c.Username = l.str(BrokerUsername)
	c.Password = l.raw(BrokerPassword)
	c.Protocol = l.oneOf(MQTTProtocol, "websockets", "tcp")
	c.SessionID = l.str(MQTTSessionID)
	c.TLS = l.oneOf(MQTTTLS, "auto", "true", "false")
	c.CAFile = l.str(MQTTCAFile)
	c.WSPath = l.str(MQTTWSPath)
	c.SessionExpiry = l.seconds(MQTTExpiry)
	c.KeepAlive = l.seconds(MQTTKeepAlive)
	c.ShareGroup = l.str(MQTTShareGroup)
	c.Reconcile = l.seconds(Reconcile)
	c.UnhealthyAfter = l.seconds(UnhealthyAfter)
	c.MetricsPort = l.port(SubscriberPort)
	c.Enqueuers = l.int(SubscriberFlows)
	return c, l.finish(&c.Common)
}
