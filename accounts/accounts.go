// Package accounts serves what IAM keeps about the account itself: its
// alias (CreateAccountAlias, ListAccountAliases, DeleteAccountAlias), the
// name people may sign in with instead of the account ID. It is where
// several accounts in one deployment will live; today a deployment holds
// one account.
package accounts

import (
	"context"
	"regexp"

	"iamd"
)

// Accounts serves the account's alias.
type Accounts struct {
	svc   *iamd.Service
	store iamd.Store
}

// New returns the accounts of svc, kept in store.
func New(svc *iamd.Service, store iamd.Store) *Accounts { return &Accounts{svc: svc, store: store} }

// reAlias is AWS's rule for an alias: lower-case letters, digits and single
// hyphens, starting and ending with a letter or digit, 3–63 characters.
var reAlias = regexp.MustCompile(`^[a-z0-9]([a-z0-9]|-[a-z0-9]){1,61}[a-z0-9]?$`)

// CreateAlias sets the account's alias, replacing the one it had.
func (a *Accounts) CreateAlias(ctx context.Context, c *iamd.Caller, alias string) error {
	if err := a.svc.Authorize(ctx, c, "iam:CreateAccountAlias", "*"); err != nil {
		return err
	}
	if !reAlias.MatchString(alias) || len(alias) < 3 || len(alias) > 63 {
		return iamd.Errorf(iamd.Invalid, "Value '%s' at 'accountAlias' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$", alias)
	}
	if iamd.IsAccountID(alias) {
		return iamd.Errorf(iamd.InvalidInput, "An account alias cannot be an account ID.")
	}
	return a.store.SetAccountAlias(ctx, alias)
}

// Aliases lists the account's alias (none or one).
func (a *Accounts) Aliases(ctx context.Context, c *iamd.Caller) ([]string, error) {
	if err := a.svc.Authorize(ctx, c, "iam:ListAccountAliases", "*"); err != nil {
		return nil, err
	}
	alias, err := a.store.AccountAlias(ctx)
	if err != nil || alias == "" {
		return nil, err
	}
	return []string{alias}, nil
}

// DeleteAlias removes the account's alias, which must be alias.
func (a *Accounts) DeleteAlias(ctx context.Context, c *iamd.Caller, alias string) error {
	if err := a.svc.Authorize(ctx, c, "iam:DeleteAccountAlias", "*"); err != nil {
		return err
	}
	have, err := a.store.AccountAlias(ctx)
	if err != nil {
		return err
	}
	if have == "" || have != alias {
		return iamd.Errorf(iamd.NotFound, "The account alias %s cannot be found.", alias)
	}
	return a.store.SetAccountAlias(ctx, "")
}

// Names reports whether name is the account's ID or its alias: what a
// person may type in the console's sign-in.
func (a *Accounts) Names(ctx context.Context, name string) bool {
	if name == a.svc.Account().ID {
		return true
	}
	alias, err := a.store.AccountAlias(ctx)
	return err == nil && alias != "" && name == alias
}
