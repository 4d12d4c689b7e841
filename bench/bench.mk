# make bench: lbd against HAProxy, side by side in one run (bench/README.md).
# LBD_BENCH_BIN is the binary that runs the proxy from a config file; it
# defaults to bench/cmd/lbd-bench (the engine alone). BENCH_FLAGS passes
# options to the runner, e.g. BENCH_FLAGS="-duration 5s -idle 0".
LBD_BENCH_BIN ?= $(BIN)/lbd-bench
BENCH_FLAGS   ?=

bench:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/lbd-bench ./bench/cmd/lbd-bench
	$(GO) build -o $(BIN)/benchrun ./bench/cmd/benchrun
	taskset -c 1 $(BIN)/benchrun -lbd $(LBD_BENCH_BIN) $(BENCH_FLAGS)
