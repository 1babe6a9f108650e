package app

import (
	"context"
	"log/slog"
)

// Quiet passes on only warnings and errors unless debug logging is on: the
// embedded TSDB reports routine compactions at info level.
func Quiet(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	if l.Enabled(context.Background(), slog.LevelDebug) {
		return l
	}
	return slog.New(minLevelHandler{Handler: l.Handler(), min: slog.LevelWarn})
}

type minLevelHandler struct {
	slog.Handler
	min slog.Level
}

func (h minLevelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevelHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithAttrs(a), min: h.min}
}

func (h minLevelHandler) WithGroup(n string) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithGroup(n), min: h.min}
}
