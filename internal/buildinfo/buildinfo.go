// Package buildinfo carries the version injected at build time.
package buildinfo

import "runtime/debug"

// version is set with -ldflags "-X github.com/wmo-im/wis2downloader/internal/buildinfo.version=v1.2.3".
var version = ""

// Version returns the build version: the injected one, else the module
// version or VCS revision recorded by the Go toolchain, else "dev".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

// UserAgent is the User-Agent of every outgoing HTTP request.
func UserAgent() string {
	return "wis2downloader/" + Version() + " (+https://github.com/wmo-im/wis2downloader)"
}
