# make bench: lbd against HAProxy, side by side in one run (bench/README.md).
# LBD_BENCH_BIN is the lbd binary measured (default: bin/lbd, the daemon as
# users run it). BENCH_FLAGS passes options to the runner, e.g.
# BENCH_FLAGS="-duration 5s -idle 0".
LBD_BENCH_BIN ?= $(BIN)/lbd
BENCH_FLAGS   ?=

bench: build
	$(GO) build -o $(BIN)/benchrun ./bench/cmd/benchrun
	taskset -c 1 $(BIN)/benchrun -lbd $(LBD_BENCH_BIN) $(BENCH_FLAGS)
