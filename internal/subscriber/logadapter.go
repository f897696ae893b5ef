package subscriber

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// pahoLogger adapts slog to paho's Println/Printf logger interface.
type pahoLogger struct {
	log   *slog.Logger
	level slog.Level
}

func (l pahoLogger) Println(v ...any) {
	if l.log.Enabled(context.Background(), l.level) {
		l.log.Log(context.Background(), l.level, strings.TrimSpace(fmt.Sprintln(v...)))
	}
}

func (l pahoLogger) Printf(format string, v ...any) {
	if l.log.Enabled(context.Background(), l.level) {
		l.log.Log(context.Background(), l.level, strings.TrimSpace(fmt.Sprintf(format, v...)))
	}
}
