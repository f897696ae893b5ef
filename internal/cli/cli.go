// Package cli gives every binary the same command line:
//
//	<service>               run the service
//	<service> -version      print the version and exit
//	<service> healthcheck   probe the running service, exit 0 (healthy) or 1
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/wmo-im/wis2downloader/internal/buildinfo"
)

// Mode is what the command line asks for.
type Mode int

// Modes.
const (
	Serve Mode = iota
	Version
	Healthcheck
)

// Parse reads args (without the program name). With -version it prints the
// version to stdout and returns Version.
func Parse(service string, args []string, stdout io.Writer) (Mode, error) {
	fs := flag.NewFlagSet(service, flag.ContinueOnError)
	fs.SetOutput(stdout)
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stdout, "usage: %s [-version] [healthcheck]\n", service)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Serve, err
	}
	if *showVersion {
		fmt.Fprintf(stdout, "%s %s\n", service, buildinfo.Version())
		return Version, nil
	}
	switch rest := fs.Args(); {
	case len(rest) == 0:
		return Serve, nil
	case len(rest) == 1 && rest[0] == "healthcheck":
		return Healthcheck, nil
	default:
		return Serve, fmt.Errorf("unknown arguments %q (usage: %s [-version] [healthcheck])", rest, service)
	}
}

// ErrUnhealthy is returned by CheckHTTP when the service answers but is not healthy.
var ErrUnhealthy = errors.New("unhealthy")

// CheckHTTP is the healthcheck subcommand of an HTTP-serving service: GET url
// must answer 2xx within 5 s.
func CheckHTTP(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("healthcheck %s: HTTP %d %s: %w", url, resp.StatusCode, body, ErrUnhealthy)
	}
	return nil
}
