package h2

import (
	"fmt"

	"golang.org/x/net/http2"
)

// Config holds one side's settings and limits. The zero value of a field
// means its default (see Defaults).
type Config struct {
	// HeaderTableSize is the HPACK dynamic table the peer may fill in our
	// decoder (SETTINGS_HEADER_TABLE_SIZE; HAProxy's
	// tune.h2.header-table-size). Default 4096.
	HeaderTableSize uint32
	// InitialWindowSize is each stream's receive window
	// (SETTINGS_INITIAL_WINDOW_SIZE; tune.h2.initial-window-size).
	// Default 65535.
	InitialWindowSize uint32
	// MaxConcurrentStreams is how many streams the peer may have open at
	// once (SETTINGS_MAX_CONCURRENT_STREAMS;
	// tune.h2.max-concurrent-streams). A stream counts until lbd is done
	// with it, not until the peer resets it. Default 100.
	MaxConcurrentStreams uint32
	// MaxFrameSize is the largest frame payload accepted
	// (SETTINGS_MAX_FRAME_SIZE; tune.h2.max-frame-size). Default 16384.
	MaxFrameSize uint32
	// MaxHeaderListSize bounds a decoded header section, counted as RFC
	// 9113 §6.5.2 does (name, value and 32 bytes per field); past it a
	// request gets 431 (SETTINGS_MAX_HEADER_LIST_SIZE). Default 16384,
	// HAProxy's tune.bufsize.
	MaxHeaderListSize uint32
	// MaxTotalStreams is how many streams one connection may carry in its
	// life; the last one is followed by GOAWAY
	// (tune.h2.fe.max-total-streams). 0: unlimited (default).
	MaxTotalStreams uint32
	// GlitchesThreshold is how many glitches (see the package
	// documentation) close a connection (tune.h2.fe.glitches-threshold).
	// Default 1000; 0 keeps the default, use NoLimit for none.
	GlitchesThreshold uint32
}

// NoLimit disables a limit whose zero value means its default.
const NoLimit = ^uint32(0)

// Defaults of Config.
const (
	DefaultHeaderTableSize      = 4096
	DefaultInitialWindowSize    = 65535
	DefaultMaxConcurrentStreams = 100
	DefaultMaxFrameSize         = 16384
	DefaultMaxHeaderListSize    = 16384
	DefaultGlitchesThreshold    = 1000
)

// Protocol limits (RFC 9113 §6.5.2, §6.9.1).
const (
	minFrameSize = 1 << 14
	maxFrameSize = 1<<24 - 1
	maxWindow    = 1<<31 - 1
)

// withDefaults returns c with its zero fields set.
func (c Config) withDefaults() Config {
	if c.HeaderTableSize == 0 {
		c.HeaderTableSize = DefaultHeaderTableSize
	}
	if c.InitialWindowSize == 0 {
		c.InitialWindowSize = DefaultInitialWindowSize
	}
	if c.MaxConcurrentStreams == 0 {
		c.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	if c.MaxFrameSize == 0 {
		c.MaxFrameSize = DefaultMaxFrameSize
	}
	if c.MaxHeaderListSize == 0 {
		c.MaxHeaderListSize = DefaultMaxHeaderListSize
	}
	if c.GlitchesThreshold == 0 {
		c.GlitchesThreshold = DefaultGlitchesThreshold
	}
	return c
}

// Validate reports a setting out of its protocol range.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.InitialWindowSize > maxWindow:
		return fmt.Errorf("initial_window_size %d is over %d", c.InitialWindowSize, maxWindow)
	case c.MaxFrameSize < minFrameSize || c.MaxFrameSize > maxFrameSize:
		return fmt.Errorf("max_frame_size %d is not in %d..%d", c.MaxFrameSize, minFrameSize, maxFrameSize)
	case c.MaxHeaderListSize < 1024:
		return fmt.Errorf("max_header_list_size %d is under 1024", c.MaxHeaderListSize)
	}
	return nil
}

// connWindow is the connection's receive window: room for every stream's
// window, so that one stream's unread bytes never stall the others.
func (c Config) connWindow() uint32 {
	w := uint64(c.InitialWindowSize) * uint64(c.MaxConcurrentStreams)
	if w > maxWindow {
		w = maxWindow
	}
	if w < DefaultInitialWindowSize {
		w = DefaultInitialWindowSize
	}
	return uint32(w)
}

// ErrCode is an HTTP/2 error code (RFC 9113 §7).
type ErrCode = http2.ErrCode

// Error codes used by callers.
const (
	ErrCodeNo                 = http2.ErrCodeNo
	ErrCodeProtocol           = http2.ErrCodeProtocol
	ErrCodeInternal           = http2.ErrCodeInternal
	ErrCodeFlowControl        = http2.ErrCodeFlowControl
	ErrCodeStreamClosed       = http2.ErrCodeStreamClosed
	ErrCodeRefusedStream      = http2.ErrCodeRefusedStream
	ErrCodeCancel             = http2.ErrCodeCancel
	ErrCodeEnhanceYourCalm    = http2.ErrCodeEnhanceYourCalm
	ErrCodeFrameSize          = http2.ErrCodeFrameSize
	ErrCodeCompression        = http2.ErrCodeCompression
	ErrCodeSettingsTimeout    = http2.ErrCodeSettingsTimeout
	ErrCodeInadequateSecurity = http2.ErrCodeInadequateSecurity
)

// Error is why a connection ended: the code sent or received in GOAWAY,
// and what happened.
type Error struct {
	Code   ErrCode
	Reason string
	// Limit names the Config limit that was reached ("glitches_threshold",
	// "max_header_list_size"...) when the connection was closed to hold
	// off an abuse; "" for a protocol error.
	Limit string
	// Remote is set when the peer ended the connection (its GOAWAY).
	Remote bool
}

func (e *Error) Error() string {
	who := ""
	if e.Remote {
		who = "peer: "
	}
	if e.Limit != "" {
		return fmt.Sprintf("h2: %s%s (%s; limit %s)", who, e.Reason, e.Code, e.Limit)
	}
	return fmt.Sprintf("h2: %s%s (%s)", who, e.Reason, e.Code)
}
