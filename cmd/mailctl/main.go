// Command mailctl manages a Yubin mail server. See `mailctl --help`.
//
// Invoked under the name "sendmail" (packages link /usr/sbin/sendmail to
// it), it runs `mailctl sendmail` with the original arguments.
package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"yubin/admin/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := cli.NewRootCommand(os.Stdout, os.Stderr)
	if filepath.Base(os.Args[0]) == "sendmail" {
		root.SetArgs(append([]string{"sendmail"}, os.Args[1:]...))
	}
	if err := root.ExecuteContext(ctx); err != nil {
		stop()
		var ee *cli.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.Code)
		}
		os.Exit(1)
	}
}
