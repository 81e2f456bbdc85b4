package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

var accountCommands = []*command{
	{
		name:     "accounts create",
		synopsis: "--email E --name N --role clinician|admin [--password-file F|-]",
		summary:  "create a clinician or admin account (admins only)",
		help: `The initial password (12-256 characters) is prompted for twice on the
terminal, or read from the first line of --password-file F, or of standard
input with --password-file - or when standard input is not a terminal. Hand
it to the new user out of band.`,
		define: func(fs *flag.FlagSet) runner {
			email := fs.String("email", "", "the new account's sign-in email (required)")
			name := fs.String("name", "", "the new account's display name (required)")
			role := fs.String("role", "clinician", "clinician or admin")
			pwFile := fs.String("password-file", "", `file whose first line is the initial password, or "-" for standard input`)
			return func(ctx context.Context, a *app, _ []string) error {
				if *email == "" || *name == "" {
					return usageErrorf("accounts create: --email and --name are required")
				}
				r, ok := parseRole(*role)
				if !ok {
					return usageErrorf("accounts create: --role must be clinician or admin, not %q", *role)
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				pw, err := a.readPassword(*pwFile, "Initial password", true)
				if err != nil {
					return err
				}
				resp, err := hepv1.NewAccountServiceClient(conn).CreateAccount(ctx, &hepv1.CreateAccountRequest{
					Email: strings.TrimSpace(*email), DisplayName: *name, Role: r, Password: pw,
				})
				if err != nil {
					return err
				}
				return a.printAccount(resp, resp.GetAccount())
			}
		},
	},
	{
		name:     "accounts list",
		synopsis: "[--role clinician|admin] [--page-size N] [--page-token T] [--all]",
		summary:  "list accounts in creation order (admins only)",
		define: func(fs *flag.FlagSet) runner {
			role := fs.String("role", "", "list only this role: clinician or admin")
			pg := pageFlags(fs)
			return func(ctx context.Context, a *app, _ []string) error {
				req := &hepv1.ListAccountsRequest{PageSize: int32(pg.size), PageToken: pg.token}
				if *role != "" {
					r, ok := parseRole(*role)
					if !ok {
						return usageErrorf("accounts list: --role must be clinician or admin, not %q", *role)
					}
					req.Role = r
				}
				if err := pg.check(); err != nil {
					return err
				}
				conn, err := a.authed()
				if err != nil {
					return err
				}
				client := hepv1.NewAccountServiceClient(conn)
				all := &hepv1.ListAccountsResponse{}
				next, err := pg.fetch(func(token string) (string, error) {
					req.PageToken = token
					resp, err := client.ListAccounts(ctx, req)
					if err != nil {
						return "", err
					}
					all.Accounts = append(all.Accounts, resp.GetAccounts()...)
					return resp.GetNextPageToken(), nil
				})
				if err != nil {
					return err
				}
				all.NextPageToken = next
				if a.json() {
					return a.printJSON(all)
				}
				rows := make([][]string, 0, len(all.Accounts))
				for _, ac := range all.Accounts {
					rows = append(rows, []string{ac.GetId(), ac.GetEmail(), ac.GetDisplayName(), roleName(ac.GetRole()),
						accountStatus(ac), fmtTime(ac.GetCreateTime())})
				}
				if err := a.printTable([]string{"ID", "EMAIL", "NAME", "ROLE", "STATUS", "CREATED"}, rows); err != nil {
					return err
				}
				extra := ""
				if *role != "" {
					extra = " --role " + roleName(req.Role)
				}
				a.nextPageHint("accounts list"+extra, all.NextPageToken)
				return nil
			}
		},
	},
	{
		name:    "accounts get",
		args:    []string{"ACCOUNT_ID"},
		summary: "show one account (admins only)",
		define: func(fs *flag.FlagSet) runner {
			return func(ctx context.Context, a *app, args []string) error {
				conn, err := a.authed()
				if err != nil {
					return err
				}
				resp, err := hepv1.NewAccountServiceClient(conn).GetAccount(ctx, &hepv1.GetAccountRequest{AccountId: args[0]})
				if err != nil {
					return err
				}
				return a.printAccount(resp, resp.GetAccount())
			}
		},
	},
	{
		name:    "accounts disable",
		args:    []string{"ACCOUNT_ID"},
		summary: "disable an account and revoke all its sessions (admins only)",
		define:  setDisabled(true),
	},
	{
		name:    "accounts enable",
		args:    []string{"ACCOUNT_ID"},
		summary: "re-enable a disabled account (admins only)",
		define:  setDisabled(false),
	},
}

func setDisabled(disabled bool) func(fs *flag.FlagSet) runner {
	return func(fs *flag.FlagSet) runner {
		return func(ctx context.Context, a *app, args []string) error {
			conn, err := a.authed()
			if err != nil {
				return err
			}
			resp, err := hepv1.NewAccountServiceClient(conn).UpdateAccount(ctx, &hepv1.UpdateAccountRequest{
				AccountId: args[0], Disabled: proto.Bool(disabled),
			})
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(resp)
			}
			verb := "enabled"
			if disabled {
				verb = "disabled"
			}
			_, err = fmt.Fprintf(a.stdout, "%s account %s (%s)\n", verb, resp.GetAccount().GetEmail(), resp.GetAccount().GetId())
			return err
		}
	}
}

func accountStatus(ac *hepv1.Account) string {
	if ac.GetDisabled() {
		return "disabled"
	}
	return "active"
}

// printAccount prints resp as JSON, or ac as fields.
func (a *app) printAccount(resp proto.Message, ac *hepv1.Account) error {
	if a.json() {
		return a.printJSON(resp)
	}
	return a.printFields([][2]string{
		{"id", ac.GetId()},
		{"email", ac.GetEmail()},
		{"name", ac.GetDisplayName()},
		{"role", roleName(ac.GetRole())},
		{"status", accountStatus(ac)},
		{"created", fmtTime(ac.GetCreateTime())},
		{"updated", fmtTime(ac.GetUpdateTime())},
	})
}

// pageOptions are the paging flags of the list commands.
type pageOptions struct {
	size  int
	token string
	all   bool
}

func pageFlags(fs *flag.FlagSet) *pageOptions {
	p := &pageOptions{}
	fs.IntVar(&p.size, "page-size", 0, "most items per page (0: the server's default)")
	fs.StringVar(&p.token, "page-token", "", "continue from a previous page")
	fs.BoolVar(&p.all, "all", false, "fetch every page")
	return p
}

func (p *pageOptions) check() error {
	if p.size < 0 || p.size > 1<<20 {
		return usageErrorf("--page-size must be between 0 and 1048576")
	}
	return nil
}

// nextPageHint tells a table reader how to get the next page. It goes to
// standard error so that standard output stays just the table.
func (a *app) nextPageHint(cmd, token string) {
	if token == "" {
		return
	}
	fmt.Fprintf(a.stderr, "next page: hepctl %s --page-token %s\n", cmd, token)
}

// fetch calls page with the starting page token and, with --all, with each
// next token until the last page. It returns the token after the last page
// fetched ("" when there is none).
func (p *pageOptions) fetch(page func(token string) (next string, err error)) (string, error) {
	token := p.token
	for {
		next, err := page(token)
		if err != nil || !p.all || next == "" {
			return next, err
		}
		token = next
	}
}
