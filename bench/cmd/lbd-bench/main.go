// Command lbd-bench runs the proxy engine from a configuration file, for
// bench/ while the lbd daemon is not available: config.Load, the health
// pool, proxy.Engine. SIGHUP reloads, SIGTERM/SIGINT stop gracefully.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/rs/zerolog"

	"lbd/config"
	"lbd/health"
	"lbd/proxy"
)

func main() {
	file := flag.String("f", "", "configuration file")
	cpuprof := flag.String("cpuprofile", "", "write a CPU profile here until exit")
	flag.Parse()
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	cfg, err := config.Load(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lvl, _ := zerolog.ParseLevel(cfg.Global.LogLevel)
	log := zerolog.New(os.Stderr).Level(lvl).With().Timestamp().Logger()
	pool := health.NewPool(log)
	if err := pool.Apply(cfg); err != nil {
		log.Fatal().Err(err).Msg("pool")
	}
	e := proxy.New(log, pool)
	if err := e.Apply(cfg); err != nil {
		log.Error().Err(err).Msg("apply")
		os.Exit(2)
	}
	log.Info().Int("gomaxprocs", runtime.GOMAXPROCS(0)).Msg("running")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	for s := range sig {
		if s == syscall.SIGHUP {
			nc, err := config.Load(*file)
			if err == nil {
				if err = pool.Apply(nc); err == nil {
					err = e.Apply(nc)
				}
			}
			if err != nil {
				log.Error().Err(err).Msg("reload failed; keeping the running configuration")
			} else {
				cfg = nc
				log.Info().Msg("reloaded")
			}
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), cfg.Global.Grace)
		e.Shutdown(ctx)
		cancel()
		return
	}
}
