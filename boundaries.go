package iamd

import (
	"context"
	"errors"

	"iamd/policy"
)

// A CreateOption is something more a user or role is created with.
type CreateOption func(*createOptions)

type createOptions struct{ boundary string }

// WithBoundary creates the user or role with that managed policy as its
// permissions boundary.
func WithBoundary(arn string) CreateOption { return func(o *createOptions) { o.boundary = arn } }

func applyCreate(opts []CreateOption) createOptions {
	var o createOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// boundaryARN is the stored form of a boundary's ARN: the policy's own,
// whatever the spelling asked for. The policy must exist, as AWS requires.
func (s *Service) boundaryARN(ctx context.Context, arn string) (string, error) {
	p, b, err := s.resolvePolicy(ctx, arn)
	switch {
	case err != nil:
		return "", err
	case b != nil:
		return b.ARN(s.account.ID), nil
	}
	return p.ARN(s.account.ID), nil
}

// PutPermissionsBoundary sets a user's or role's permissions boundary:
// from the next request, its identity policies grant only what that
// managed policy allows too, and so do its role's sessions.
func (s *Service) PutPermissionsBoundary(ctx context.Context, c *Caller, e Entity, arn string) error {
	if err := s.authorize(ctx, c, entityAction("Put", e, "PermissionsBoundary"), s.entityARN(ctx, c, e).bounding(arn)); err != nil {
		return err
	}
	stored, err := s.boundaryARN(ctx, arn)
	if err != nil {
		return err
	}
	return s.setBoundary(ctx, e, stored)
}

// DeletePermissionsBoundary removes a user's or role's permissions boundary.
func (s *Service) DeletePermissionsBoundary(ctx context.Context, c *Caller, e Entity) error {
	if err := s.authorize(ctx, c, entityAction("Delete", e, "PermissionsBoundary"), s.entityARN(ctx, c, e)); err != nil {
		return err
	}
	return s.setBoundary(ctx, e, "")
}

func (s *Service) setBoundary(ctx context.Context, e Entity, arn string) error {
	defer s.forgetAll()
	defer s.forgetPolicies()
	if e.Kind == EntityRole {
		return s.store.UpdateRole(ctx, e.Name, func(r *Role) error { r.Boundary = arn; return nil })
	}
	return s.store.UpdateUser(ctx, e.Name, func(u *User) error { u.Boundary = arn; return nil })
}

// compileBoundary returns the compiled permissions boundary of arn. A
// boundary whose policy is gone allows nothing (nil): a missing boundary
// must not widen access.
func (s *Service) compileBoundary(ctx context.Context, arn string) (*policy.Policy, error) {
	p, err := s.compileManaged(ctx, arn)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return p, err
}
