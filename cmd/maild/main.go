// Command maild is the Yubin mail server daemon: every listener, the queue
// and the local delivery agent in one process.
//
//	maild --config /etc/yubin/maild.toml
//	maild --dev [--data DIR] [--config FILE]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	systemd "github.com/coreos/go-systemd/v22/daemon"

	"yubin/admin/config"
	"yubin/admin/metrics"
)

// version is stamped at build time:
//
//	go build -ldflags "-X main.version=1.2.3" ./cmd/maild
var version = "devel"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("maild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "config file (TOML); with --dev it overrides the dev defaults key by key")
	dev := fs.Bool("dev", false, "run the embedded development setup: loopback, unprivileged ports, demo domain, self-signed TLS")
	dataDir := fs.String("data", "", "data directory (default: config data_dir; ./var with --dev)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: maild --config FILE\n       maild --dev [--data DIR] [--config FILE]\n       maild --version\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "maild", version)
		return 0
	}
	if fs.NArg() > 0 || (!*dev && *configPath == "") {
		fs.Usage()
		return 2
	}
	cfg, err := loadConfig(*configPath, *dev, *dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "maild:", err)
		return 1
	}
	h, err := cfg.Log.Handler(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "maild:", err)
		return 1
	}
	logger := slog.New(metrics.New(metrics.Options{Version: version}).LogHandler(h))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	d, err := start(ctx, cfg, logger, stdout)
	if err != nil {
		logger.Error("start failed", "err", err)
		return 1
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// Type=notify in maild.service: ready once every listener is bound.
	// Without NOTIFY_SOCKET (not under systemd) these do nothing.
	systemd.SdNotify(false, systemd.SdNotifyReady)
	for {
		select {
		case <-hup:
			d.reload()
		case err := <-d.failed:
			logger.Error("listener failed", "err", err)
			d.shutdown()
			return 1
		case <-ctx.Done():
			systemd.SdNotify(false, systemd.SdNotifyStopping)
			logger.Info("shutting down", "timeout", cfg.SMTP.ShutdownTimeout)
			if err := d.shutdown(); err != nil {
				logger.Error("shutdown", "err", err)
				return 1
			}
			logger.Info("stopped")
			return 0
		}
	}
}

// loadConfig builds the effective configuration: production defaults or
// the dev defaults, then the file over them, then --data.
func loadConfig(path string, dev bool, dataDir string) (config.Config, error) {
	cfg := config.Default()
	if dev {
		cfg = config.Dev(dataDir)
	}
	if path != "" {
		var err error
		if cfg, err = config.Load(path, cfg); err != nil {
			return cfg, err
		}
	}
	if dataDir != "" {
		cfg.DataDir = dataDir
	}
	return cfg, cfg.Validate()
}
