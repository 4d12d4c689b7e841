package config

import "github.com/hashicorp/hcl/v2"

// H2 is HTTP/2's tuning: the global h2 block, with the meanings of
// HAProxy's tune.h2.* settings (fe_ for client connections, be_ for
// connections to servers with proto = "h2"). Every limit is also a
// defence: see the README's HTTP/2 section for the attacks each holds off.
type H2 struct {
	// HeaderTableSize is the HPACK table a peer may fill in lbd's decoder
	// (tune.h2.header-table-size). Default 4096.
	HeaderTableSize int
	// MaxFrameSize is the largest frame payload lbd accepts
	// (tune.h2.max-frame-size). Default 16384.
	MaxFrameSize int
	// MaxHeaderListSize bounds a decoded header section (name + value +
	// 32 bytes per field, RFC 9113 §6.5.2); a request over it gets 431,
	// and a header block that takes more than twice as many bytes or 64
	// frames to say it closes the connection (CONTINUATION flood).
	// Default 16384, as HAProxy's tune.bufsize bounds a header section.
	MaxHeaderListSize int
	// FEInitialWindowSize is each client stream's receive window
	// (tune.h2.fe.initial-window-size). Default 65535.
	FEInitialWindowSize int
	// BEInitialWindowSize is each server stream's receive window
	// (tune.h2.be.initial-window-size). Default 65535.
	BEInitialWindowSize int
	// FEMaxConcurrentStreams is how many streams a client may have in
	// progress at once; a stream it resets counts until lbd has stopped
	// working on it (tune.h2.fe.max-concurrent-streams). Default 100.
	FEMaxConcurrentStreams int
	// BEMaxConcurrentStreams caps the streams lbd opens at once on one
	// server connection; the server's own SETTINGS may lower it
	// (tune.h2.be.max-concurrent-streams). Default 100.
	BEMaxConcurrentStreams int
	// FEMaxTotalStreams is how many streams a client connection may carry
	// before lbd sends GOAWAY (tune.h2.fe.max-total-streams). Default 0:
	// unlimited.
	FEMaxTotalStreams int
	// FEGlitchesThreshold is how many glitches (rapid resets, empty
	// frames, control-frame floods, refused streams) close a client
	// connection (tune.h2.fe.glitches-threshold). Default 1000; 0
	// disables the limit.
	FEGlitchesThreshold int
	// BEGlitchesThreshold is the same for server connections
	// (tune.h2.be.glitches-threshold). Default 1000; 0 disables it.
	BEGlitchesThreshold int

	rng blockRanges
}

func defaultH2() H2 {
	return H2{
		HeaderTableSize: 4096, MaxFrameSize: 16384, MaxHeaderListSize: 16384,
		FEInitialWindowSize: 65535, BEInitialWindowSize: 65535,
		FEMaxConcurrentStreams: 100, BEMaxConcurrentStreams: 100,
		FEGlitchesThreshold: 1000, BEGlitchesThreshold: 1000,
	}
}

var h2Schema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "header_table_size"}, {Name: "max_frame_size"}, {Name: "max_header_list_size"},
		{Name: "fe_initial_window_size"}, {Name: "be_initial_window_size"},
		{Name: "fe_max_concurrent_streams"}, {Name: "be_max_concurrent_streams"},
		{Name: "fe_max_total_streams"}, {Name: "fe_glitches_threshold"}, {Name: "be_glitches_threshold"},
	},
}

func (d *decoder) decodeH2(blk *hcl.Block, h *H2) {
	b := d.body(d.content(blk, h2Schema), blk.DefRange, &h.rng)
	const maxWindow = 1<<31 - 1
	b.integer("header_table_size", &h.HeaderTableSize, 0, 1<<20)
	b.integer("max_frame_size", &h.MaxFrameSize, 16384, 1<<24-1)
	b.integer("max_header_list_size", &h.MaxHeaderListSize, 1024, 1<<20)
	b.integer("fe_initial_window_size", &h.FEInitialWindowSize, 1, maxWindow)
	b.integer("be_initial_window_size", &h.BEInitialWindowSize, 1, maxWindow)
	b.integer("fe_max_concurrent_streams", &h.FEMaxConcurrentStreams, 1, 1<<16)
	b.integer("be_max_concurrent_streams", &h.BEMaxConcurrentStreams, 1, 1<<16)
	b.integer("fe_max_total_streams", &h.FEMaxTotalStreams, 0, maxWindow)
	b.integer("fe_glitches_threshold", &h.FEGlitchesThreshold, 0, 1<<30)
	b.integer("be_glitches_threshold", &h.BEGlitchesThreshold, 0, 1<<30)
}
