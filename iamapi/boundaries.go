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

// boundedEntity reads the user (UserName) or role (RoleName) a boundary
// action names.
func (v *validator) boundedEntity(kind iamd.EntityKind) iamd.Entity {
	if kind == iamd.EntityRole {
		return iamd.Entity{Kind: kind, Name: v.roleName()}
	}
	return iamd.Entity{Kind: kind, Name: v.userName(true, 128)}
}

// putBoundary is Put{User,Role}PermissionsBoundary.
func (a *API) putBoundary(kind iamd.EntityKind) action {
	return func(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
		v := newValidator(p)
		e := v.boundedEntity(kind)
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
		e := v.boundedEntity(kind)
		if v.Err != nil {
			return nil, v.Err
		}
		return nil, a.svc.DeletePermissionsBoundary(ctx, c, e)
	}
}
