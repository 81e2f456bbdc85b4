package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

var authCommands = []*command{
	{
		name:     "login",
		synopsis: "--email E [--password-file F|-]",
		summary:  "sign in and cache the session in the config directory",
		help: `The password is prompted for on the terminal. With --password-file F it is
the first line of F; with --password-file - (or when standard input is not a
terminal) it is the first line of standard input. It is never a flag value.
The token pair is saved in <config-dir>/credentials.json with mode 0600.`,
		define: func(fs *flag.FlagSet) runner {
			email := fs.String("email", "", "the account's email (required)")
			pwFile := fs.String("password-file", "", `file whose first line is the password, or "-" for standard input`)
			return func(ctx context.Context, a *app, _ []string) error {
				if *email == "" {
					return usageErrorf("login: --email is required")
				}
				return a.login(ctx, strings.ToLower(strings.TrimSpace(*email)), *pwFile)
			}
		},
	},
	{
		name:    "logout",
		summary: "sign out: revoke the session on the server and delete the cached tokens",
		define: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, a *app, _ []string) error { return a.logout(ctx) }
		},
	},
	{
		name:    "whoami",
		summary: "show who the cached session signs in as",
		define: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, a *app, _ []string) error { return a.whoami(ctx) }
		},
	},
}

func (a *app) login(ctx context.Context, email, pwFile string) error {
	pw, err := a.readPassword(pwFile, "Password for "+email, false)
	if err != nil {
		return err
	}
	conn, err := a.dial()
	if err != nil {
		return err
	}
	resp, err := hepv1.NewAuthServiceClient(conn).SignIn(ctx, &hepv1.SignInRequest{Email: email, Password: pw})
	if err != nil {
		return err
	}
	p := resp.GetPrincipal()
	c := &credentials{Server: a.opts.server, Email: email, AccountID: p.GetAccountId(), Role: p.GetRole().String()}
	c.setTokens(resp.GetTokens())
	if err := a.saveCredentials(c); err != nil {
		return err
	}
	if a.json() {
		return a.printJSON(&hepv1.WhoAmIResponse{Principal: p})
	}
	_, err = fmt.Fprintf(a.stdout, "signed in as %s (%s)\n", email, roleName(p.GetRole()))
	return err
}

func (a *app) logout(ctx context.Context) error {
	conn, err := a.authed()
	if errors.Is(err, errNotSignedIn) {
		fmt.Fprintln(a.stderr, "hepctl: not signed in")
		return nil
	}
	if err != nil {
		return err
	}
	resp, err := hepv1.NewAuthServiceClient(conn).SignOut(ctx, &hepv1.SignOutRequest{})
	// The session is gone for the server if it says UNAUTHENTICATED (or the
	// refresh found it expired); either way the local copy goes.
	if err != nil && !errors.Is(err, errSessionExpired) && status.Code(err) != codes.Unauthenticated {
		if derr := a.deleteCredentials(); derr != nil {
			return derr
		}
		return fmt.Errorf("%w\n(the local credentials were deleted, but the server may still accept the session until it expires)", err)
	}
	if err := a.deleteCredentials(); err != nil {
		return err
	}
	if a.json() {
		if resp == nil {
			resp = &hepv1.SignOutResponse{}
		}
		return a.printJSON(resp)
	}
	_, err = fmt.Fprintln(a.stdout, "signed out")
	return err
}

func (a *app) whoami(ctx context.Context) error {
	conn, err := a.authed()
	if err != nil {
		return err
	}
	resp, err := hepv1.NewAuthServiceClient(conn).WhoAmI(ctx, &hepv1.WhoAmIRequest{})
	if err != nil {
		return err
	}
	if a.json() {
		return a.printJSON(resp)
	}
	p := resp.GetPrincipal()
	a.mu.Lock()
	c := *a.creds
	a.mu.Unlock()
	fields := [][2]string{{"server", c.Server}}
	if p.GetAccountId() != "" {
		fields = append(fields, [2]string{"email", c.Email}, [2]string{"account id", p.GetAccountId()})
	}
	if p.GetDeviceId() != "" {
		fields = append(fields, [2]string{"device id", p.GetDeviceId()}, [2]string{"patient id", p.GetPatientId()})
	}
	fields = append(fields,
		[2]string{"role", roleName(p.GetRole())},
		[2]string{"session id", p.GetSessionId()},
	)
	if !c.RefreshExpireTime.IsZero() {
		fields = append(fields, [2]string{"session expires", fmtTime(timestamppb.New(c.RefreshExpireTime.Truncate(time.Second)))})
	}
	return a.printFields(fields)
}
