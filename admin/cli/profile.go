package cli

import (
	"context"
	"errors"
	"os"

	"github.com/spf13/cobra"

	"yubin/admin/control"
	"yubin/admin/web"
	"yubin/storage"
)

// withProfile adds `user profile` to the user command.
func withProfile(g *globals, user *cobra.Command) *cobra.Command {
	user.AddCommand(userProfileCommand(g))
	return user
}

func userProfileCommand(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "profile ADDRESS",
		Short: "Print an Apple configuration profile (.mobileconfig) for a user",
		Long: `profile prints an Apple configuration profile for iPhone, iPad and macOS
Mail with the user's IMAP and SMTP settings (implicit TLS preferred). Send it
to the user or open it on the device; the password is asked for on
installation and is not in the file.

When maild is running, the profile names the ports it listens on; otherwise
those of the config. Users can also download their own profile over HTTPS
from https://HOSTNAME/profile.mobileconfig, logging in with their address
and password.`,
		Example: "  mailctl user profile alice@example.com > alice.mobileconfig",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(func(st *storage.Store) error {
				u, err := st.User(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				svc, err := g.clientServices(cmd.Context())
				if err != nil {
					return err
				}
				body, err := svc.MobileConfig(u.Address)
				if err != nil {
					return err
				}
				if output != "" {
					return os.WriteFile(output, body, 0o644)
				}
				_, err = g.out.Write(body)
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the profile to this file instead of stdout")
	return cmd
}

// served is what clients and other servers are told about.
type served struct {
	web.Services
	// HTTPS is the port of the HTTPS listener, 0 if none.
	HTTPS int
	// MTASTSPolicyID is the id of the MTA-STS policy, "" when off.
	MTASTSPolicyID string
}

// clientServices returns what the running maild serves when it answers
// on the control socket, else what the config says.
func (g *globals) clientServices(ctx context.Context) (served, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return served{}, err
	}
	out := served{Services: web.ServicesFromConfig(cfg), HTTPS: web.PortOf(cfg.HTTP.ListenTLS)}
	if p := web.MTASTSFromConfig(cfg); p != nil {
		out.MTASTSPolicyID = p.ID()
	}
	path, err := g.socketPath()
	if err != nil {
		return out, nil
	}
	st, err := control.Dial(path).Status(ctx)
	if errors.Is(err, control.ErrNotRunning) {
		return out, nil
	}
	if err != nil {
		return served{}, err
	}
	if len(st.Listeners) == 0 { // an older maild
		return out, nil
	}
	return served{Services: servicesFromStatus(st), HTTPS: portOfProto(st.Listeners, "https"), MTASTSPolicyID: st.MTASTSPolicyID}, nil
}

// servicesFromStatus maps a running maild's listeners to services.
func servicesFromStatus(st control.Status) web.Services {
	return web.Services{
		Hostname:    st.Hostname,
		IMAP:        portOfProto(st.Listeners, "imap"),
		IMAPS:       portOfProto(st.Listeners, "imaps"),
		POP3:        portOfProto(st.Listeners, "pop3"),
		POP3S:       portOfProto(st.Listeners, "pop3s"),
		Submission:  portOfProto(st.Listeners, "submission"),
		Submissions: portOfProto(st.Listeners, "submissions"),
	}
}

func portOfProto(ls []control.Listener, proto string) int {
	for _, l := range ls {
		if l.Proto == proto {
			return web.PortOf([]string{l.Addr})
		}
	}
	return 0
}
