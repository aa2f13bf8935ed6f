package iamapi

import (
	"context"
	"regexp"

	"iamd"
	"iamd/awsquery"
)

var reTagKey = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)

func (v *validator) providerARN() string {
	return v.Str("OpenIDConnectProviderArn", true, 20, 2048, nil, "")
}

type createProviderResult struct {
	OpenIDConnectProviderArn string
	Tags                     *tags `xml:",omitempty"`
}

type getProviderResult struct {
	Url            string
	ClientIDList   []string `xml:"ClientIDList>member"`
	ThumbprintList []string `xml:"ThumbprintList>member"`
	CreateDate     string
	Tags           *tags `xml:",omitempty"`
}

type providerEntry struct{ Arn string }

type listProvidersResult struct {
	OpenIDConnectProviderList []providerEntry `xml:"OpenIDConnectProviderList>member"`
}

func wireTags(ts []iamd.Tag) *tags {
	if len(ts) == 0 {
		return nil
	}
	out := &tags{}
	for _, t := range ts {
		out.Member = append(out.Member, tag(t))
	}
	return out
}

func (a *API) createOpenIDConnectProvider(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	url := v.Str("Url", true, 1, 255, nil, "")
	clients := v.members("ClientIDList", 1, 255)
	thumbs := v.members("ThumbprintList", 40, 40)
	ts := v.tags()
	if v.Err != nil {
		return nil, v.Err
	}
	pr, err := a.fed.CreateProvider(ctx, c, url, clients, thumbs, ts)
	if err != nil {
		return nil, err
	}
	return createProviderResult{OpenIDConnectProviderArn: pr.ARN(a.svc.Account().ID), Tags: wireTags(pr.Tags)}, nil
}

func (a *API) getOpenIDConnectProvider(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.providerARN()
	if v.Err != nil {
		return nil, v.Err
	}
	pr, err := a.fed.GetProvider(ctx, c, arn)
	if err != nil {
		return nil, err
	}
	return getProviderResult{Url: pr.URL, ClientIDList: pr.ClientIDs, ThumbprintList: pr.Thumbprints,
		CreateDate: awsquery.Timestamp(pr.CreatedAt), Tags: wireTags(pr.Tags)}, nil
}

func (a *API) listOpenIDConnectProviders(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	ps, err := a.fed.ListProviders(ctx, c)
	if err != nil {
		return nil, err
	}
	out := listProvidersResult{OpenIDConnectProviderList: []providerEntry{}}
	for _, pr := range ps {
		out.OpenIDConnectProviderList = append(out.OpenIDConnectProviderList, providerEntry{pr.ARN(a.svc.Account().ID)})
	}
	return out, nil
}

func (a *API) deleteOpenIDConnectProvider(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.providerARN()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.fed.DeleteProvider(ctx, c, arn)
}

func (a *API) clientID(add bool) action {
	return func(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
		v := newValidator(p)
		arn := v.providerARN()
		id := v.Str("ClientID", true, 1, 255, nil, "")
		if v.Err != nil {
			return nil, v.Err
		}
		if add {
			return nil, a.fed.AddClientID(ctx, c, arn, id)
		}
		return nil, a.fed.RemoveClientID(ctx, c, arn, id)
	}
}

func (a *API) updateOpenIDConnectProviderThumbprint(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.providerARN()
	thumbs := v.members("ThumbprintList", 40, 40)
	if _, ok := p["ThumbprintList"]; !ok && thumbs == nil {
		v.Fail("Value null at 'thumbprintList' failed to satisfy constraint: Member must not be null")
	}
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.fed.UpdateThumbprints(ctx, c, arn, thumbs)
}

func (a *API) tagOpenIDConnectProvider(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.providerARN()
	ts := v.tags()
	if len(ts) == 0 {
		v.Fail("Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.fed.TagProvider(ctx, c, arn, ts)
}

func (a *API) untagOpenIDConnectProvider(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.providerARN()
	keys := v.tagKeys()
	for i, k := range keys {
		if !reTagKey.MatchString(k) {
			v.Fail("Value '%s' at 'tagKeys.%d.member' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+", clip(k), i+1)
		}
	}
	if len(keys) == 0 {
		v.Fail("Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
	}
	if len(keys) > 50 {
		v.Fail("Value at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to 50")
	}
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.fed.UntagProvider(ctx, c, arn, keys)
}

func (a *API) listOpenIDConnectProviderTags(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.providerARN()
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	ts, err := a.fed.ListProviderTags(ctx, c, arn)
	if err != nil {
		return nil, err
	}
	return pagedTags(ts, page)
}
