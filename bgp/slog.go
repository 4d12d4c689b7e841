package bgp

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/rs/zerolog"
)

// zlHandler is a slog.Handler writing to zerolog, for GoBGP's logger.
// GoBGP's own info messages go to debug: lbd logs the session changes
// that matter itself, with stable field names.
type zlHandler struct {
	log    zerolog.Logger
	prefix string // group prefix, "a.b."
	attrs  []slog.Attr
}

func newSlog(log zerolog.Logger) *slog.Logger {
	return slog.New(&zlHandler{log: log})
}

func (h *zlHandler) level(l slog.Level) zerolog.Level {
	switch {
	case l >= slog.LevelError:
		return zerolog.ErrorLevel
	case l >= slog.LevelWarn:
		return zerolog.WarnLevel
	case l >= slog.LevelInfo:
		return zerolog.DebugLevel
	}
	return zerolog.TraceLevel
}

func (h *zlHandler) Enabled(_ context.Context, l slog.Level) bool {
	return h.level(l) >= zerolog.GlobalLevel() && h.level(l) >= h.log.GetLevel()
}

func (h *zlHandler) Handle(_ context.Context, r slog.Record) error {
	ev := h.log.WithLevel(h.level(r.Level))
	add := func(a slog.Attr) bool {
		h.addAttr(ev, h.prefix, a)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	ev.Msg(r.Message)
	return nil
}

func (h *zlHandler) addAttr(ev *zerolog.Event, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, g := range v.Group() {
			h.addAttr(ev, prefix+a.Key+".", g)
		}
		return
	}
	key := "gobgp_" + strings.ToLower(prefix+a.Key)
	switch v.Kind() {
	case slog.KindString:
		ev.Str(key, v.String())
	case slog.KindInt64:
		ev.Int64(key, v.Int64())
	case slog.KindUint64:
		ev.Uint64(key, v.Uint64())
	case slog.KindBool:
		ev.Bool(key, v.Bool())
	case slog.KindDuration:
		ev.Dur(key, v.Duration())
	default:
		ev.Str(key, fmt.Sprint(v.Any()))
	}
}

func (h *zlHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &n
}

func (h *zlHandler) WithGroup(name string) slog.Handler {
	n := *h
	n.prefix = h.prefix + name + "."
	return &n
}
