package wis2

import "strings"

// ParseTopic splits a WIS2 topic into its levels. When level 3 is "wis2"
// (channel/version/wis2/centre-id/notification-type/data-policy/...),
// Channel is level 1 (origin, cache; also replay or monitor as sent),
// CentreID level 4, NotificationType level 5 and DataPolicy level 6 when it
// is "core" or "recommended". Levels below 6 are not interpreted, so GTS-style
// gateway topics (".../data/core/I/S/A/I/01/sbbr") parse as well. Other
// topics only fill Levels.
func ParseTopic(t string) Topic {
	tp := Topic{Levels: strings.Split(t, "/")}
	l := tp.Levels
	if len(l) < 4 || l[2] != "wis2" {
		return tp
	}
	tp.Channel = l[0]
	tp.CentreID = l[3]
	if len(l) > 4 {
		tp.NotificationType = l[4]
	}
	if len(l) > 5 && (l[5] == "core" || l[5] == "recommended") {
		tp.DataPolicy = l[5]
	}
	return tp
}
