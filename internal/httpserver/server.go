// Package httpserver runs HTTP servers with sane timeouts and a graceful
// shutdown, and serves the /healthz and /metrics endpoints of the services
// that have no other HTTP surface.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// New returns a server with timeouts suitable for a JSON API or a UI.
func New(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// ShutdownTimeout bounds the graceful drain of in-flight requests.
const ShutdownTimeout = 10 * time.Second

// Run listens on srv.Addr and serves until ctx ends, then shuts down
// gracefully. It returns once the server has stopped.
func Run(ctx context.Context, srv *http.Server, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", srv.Addr, err)
	}
	return Serve(ctx, srv, ln, logger)
}

// Serve is Run on an existing listener.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, logger *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("HTTP server listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("shutdown %s: %w", ln.Addr(), err)
	}
	logger.Info("HTTP server stopped", "addr", ln.Addr().String())
	return nil
}
