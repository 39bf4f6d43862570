// Command mailctl manages a Yubin mail server. See `mailctl --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"yubin/admin/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cli.NewRootCommand(os.Stdout, os.Stderr).ExecuteContext(ctx); err != nil {
		os.Exit(1)
	}
}
