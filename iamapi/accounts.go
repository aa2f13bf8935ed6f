package iamapi

import (
	"context"

	"iamd"
	"iamd/awsquery"
)

type listAliasesResult struct {
	AccountAliases []string `xml:"AccountAliases>member"`
	IsTruncated    bool
}

func (a *API) createAccountAlias(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	alias := v.Str("AccountAlias", true, 3, 63, nil, "")
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.accounts.CreateAlias(ctx, c, alias)
}

func (a *API) listAccountAliases(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	aliases, err := a.accounts.Aliases(ctx, c)
	if err != nil {
		return nil, err
	}
	return listAliasesResult{AccountAliases: append([]string{}, aliases...)}, nil
}

func (a *API) deleteAccountAlias(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	alias := v.Str("AccountAlias", true, 3, 63, nil, "")
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.accounts.DeleteAlias(ctx, c, alias)
}
