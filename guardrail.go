package iamd

import (
	"context"

	"iamd/policy"
)

// Guardrail bounds an account beyond its own policies: its organization's
// service control policies (package organizations). An action is allowed
// only where every level allows it (the organization's root, then the
// account); an explicit Deny at any level refuses it, whatever the
// account's own policies say, for its root user too. An account without
// one is bound by nothing but its own policies: the management account,
// as on AWS.
type Guardrail interface {
	// Levels returns the policies of each level, as they are now.
	Levels(ctx context.Context) ([][]*policy.Policy, error)
}

// guarded decides r at every level of a guardrail.
func guarded(levels [][]*policy.Policy, r *policy.Request) policy.Decision {
	out := policy.Allowed
	for _, l := range levels {
		switch policy.Evaluate(l, r) {
		case policy.ExplicitDeny:
			return policy.ExplicitDeny
		case policy.ImplicitDeny:
			out = policy.ImplicitDeny
		}
	}
	return out
}

// Accounts are the accounts one deployment serves, each with a Service
// of its own (package tenants).
type Accounts interface {
	// Service returns the Service of the account of that ID; NotFound for
	// an account the deployment does not serve.
	Service(ctx context.Context, id string) (*Service, error)
	// ForKey returns the Service of the account an access key ID is
	// for: the one it names (KeyAccount), when that account is served and
	// has the key; the first account's for any other, older keys among
	// them.
	ForKey(ctx context.Context, keyID string) *Service
}
