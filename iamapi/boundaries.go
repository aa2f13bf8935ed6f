package iamapi

import (
	"context"

	"iamd"
	"iamd/awsquery"
)

// boundary reads PermissionsBoundary: a policy's ARN (the model's
// arnType, 20–2048 characters).
func (v *validator) boundary(required bool) string {
	return v.Str("PermissionsBoundary", required, 20, 2048, nil, "")
}

// putBoundary is Put{User,Role}PermissionsBoundary.
func (a *API) putBoundary(kind iamd.EntityKind) action {
	return func(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
		v := newValidator(p)
		e := iamd.Entity{Kind: kind}
		if kind == iamd.EntityRole {
			e.Name = v.roleName()
		} else {
			e.Name = v.userName(true, 128)
		}
		arn := v.boundary(true)
		if v.Err != nil {
			return nil, v.Err
		}
		return nil, a.svc.PutPermissionsBoundary(ctx, c, e, arn)
	}
}

// deleteBoundary is Delete{User,Role}PermissionsBoundary.
func (a *API) deleteBoundary(kind iamd.EntityKind) action {
	return func(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
		v := newValidator(p)
		e := iamd.Entity{Kind: kind}
		if kind == iamd.EntityRole {
			e.Name = v.roleName()
		} else {
			e.Name = v.userName(true, 128)
		}
		if v.Err != nil {
			return nil, v.Err
		}
		return nil, a.svc.DeletePermissionsBoundary(ctx, c, e)
	}
}
