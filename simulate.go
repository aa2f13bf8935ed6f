package iamd

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"iamd/policy"
)

// SimulationInput is what a policy simulation evaluates: every action on
// every resource, with the given context entries (keys in lower case).
type SimulationInput struct {
	Actions   []string
	Resources []string // default "*"
	Context   map[string][]string
	Policies  []string // extra documents (PolicyInputList)
	// Boundaries are permissions boundary documents
	// (PermissionsBoundaryPolicyInputList); for a user they replace its
	// own boundary.
	Boundaries []string
}

// SimulationResult is the decision for one action on one resource.
type SimulationResult struct {
	Action   string
	Resource string
	Decision policy.Decision
	Matched  []MatchedStatement
	Missing  []string // context keys the policies use that the input lacks
	// BoundaryAllowed, when a boundary applies, says whether it allows the
	// request (PermissionsBoundaryDecisionDetail).
	BoundaryAllowed *bool
	// GuardrailAllowed, when the account has a guardrail, says whether
	// its service control policies allow the request
	// (OrganizationsDecisionDetail).
	GuardrailAllowed *bool
}

// MatchedStatement names a statement that decided a simulation.
type MatchedStatement struct {
	SourcePolicyID   string
	SourcePolicyType string // user, group, aws-managed, user-managed, none
	Start, End       policy.Position
}

// MaxSimulationItems bounds actions × resources of one simulation, and
// MaxSimulationTime the time it may take.
const (
	MaxSimulationItems = 1000
	MaxSimulationTime  = 10 * time.Second
)

// SimulatePrincipalPolicy evaluates the policies of a user or group (by
// ARN), and any extra documents, as requests would be.
func (s *Service) SimulatePrincipalPolicy(ctx context.Context, c *Caller, source string, in SimulationInput) ([]SimulationResult, error) {
	if err := s.authorize(ctx, c, "iam:SimulatePrincipalPolicy", on(source)); err != nil {
		return nil, err
	}
	var srcs []PolicySource
	var boundary string // the user's permissions boundary
	facts := map[string][]string{}
	rest, ok := strings.CutPrefix(source, "arn:aws:iam::"+s.account.ID+":")
	kind, pathName, _ := strings.Cut(rest, "/")
	name := pathName[strings.LastIndexByte(pathName, '/')+1:]
	switch {
	case ok && kind == "user" && name != "":
		u, err := s.store.GetUser(ctx, name)
		if err != nil {
			return nil, err
		}
		if u.ARN(s.account.ID) != source {
			return nil, UserNotFound(name)
		}
		if srcs, err = s.store.UserPolicies(ctx, name); err != nil {
			return nil, err
		}
		boundary = u.Boundary
		facts["aws:username"] = []string{u.Name}
		facts["aws:userid"] = []string{u.ID}
		facts["aws:principalarn"] = []string{source}
		facts["aws:principalaccount"] = []string{s.account.ID}
		facts["aws:principaltype"] = []string{"User"}
		for _, t := range u.Tags {
			facts["aws:principaltag/"+strings.ToLower(t.Key)] = []string{t.Value}
		}
	case ok && kind == "group" && name != "":
		g, err := s.store.GetGroup(ctx, name)
		if err != nil {
			return nil, err
		}
		if g.ARN(s.account.ID) != source {
			return nil, GroupNotFound(name)
		}
		if srcs, err = s.groupPolicies(ctx, g); err != nil {
			return nil, err
		}
	default:
		return nil, Errorf(InvalidInput, "PolicySourceArn %s must be the ARN of a user or group of this account.", source)
	}
	up, err := s.compileSources(srcs)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(srcs))
	types := make([]string, len(srcs))
	for i, src := range srcs {
		switch {
		case src.Inline && src.Entity.Kind == EntityGroup:
			ids[i], types[i] = src.Name, "group"
		case src.Inline:
			ids[i], types[i] = src.Name, "user"
		case src.Document == "":
			ids[i], types[i] = src.Policy.Name(), "aws-managed"
		default:
			ids[i], types[i] = src.Policy.Name(), "user-managed"
		}
	}
	for k, v := range in.Context {
		facts[k] = v
	}
	var bounds *boundaries
	if boundary != "" && len(in.Boundaries) == 0 {
		p, err := s.compileBoundary(ctx, boundary)
		if err != nil {
			return nil, err
		}
		bounds = &boundaries{}
		if p != nil { // a boundary whose policy is gone allows nothing
			bounds.policies = []*policy.Policy{p}
		}
	}
	var guard [][]*policy.Policy
	if s.guard != nil {
		if guard, err = s.guard.Levels(ctx); err != nil {
			return nil, err
		}
		if guard == nil {
			guard = [][]*policy.Policy{} // SCPs not enabled: they allow all
		}
	}
	return s.simulate(ctx, up.policies, ids, types, in, facts, bounds, guard)
}

// boundaries are the permissions boundaries a simulation applies.
type boundaries struct{ policies []*policy.Policy }

// groupPolicies is UserPolicies for a group: its inline policies and the
// default versions of those attached to it.
func (s *Service) groupPolicies(ctx context.Context, g *Group) ([]PolicySource, error) {
	e := Entity{Kind: EntityGroup, Name: g.Name}
	var out []PolicySource
	names, _, err := s.store.ListInlinePolicies(ctx, e, Page{MaxItems: 1000})
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		ip, err := s.store.GetInlinePolicy(ctx, e, n)
		if err != nil {
			return nil, err
		}
		out = append(out, PolicySource{Entity: e, Inline: true, Name: ip.Name, Document: ip.Document})
	}
	attached, _, err := s.store.ListAttachedPolicies(ctx, e, "/", Page{MaxItems: 1000})
	if err != nil {
		return nil, err
	}
	for _, a := range attached {
		src := PolicySource{Entity: e, Policy: a}
		if _, ok := awsManagedByARN[a.ARN]; !ok {
			p, err := s.store.GetPolicy(ctx, a.Name())
			if err != nil {
				return nil, err
			}
			v, err := s.store.GetPolicyVersion(ctx, p.Name, p.DefaultVersion)
			if err != nil {
				return nil, err
			}
			src.Document = v.Document
		}
		out = append(out, src)
	}
	return out, nil
}

// SimulateCustomPolicy evaluates the given documents alone.
func (s *Service) SimulateCustomPolicy(ctx context.Context, c *Caller, in SimulationInput) ([]SimulationResult, error) {
	if err := s.authorize(ctx, c, "iam:SimulateCustomPolicy", on("*")); err != nil {
		return nil, err
	}
	facts := map[string][]string{}
	for k, v := range in.Context {
		facts[k] = v
	}
	return s.simulate(ctx, nil, nil, nil, in, facts, nil, nil)
}

// simulate decides every action and resource of in with policies ps,
// within bounds and guard (nil: no guardrail applies).
func (s *Service) simulate(ctx context.Context, ps []*policy.Policy, ids, types []string, in SimulationInput, facts map[string][]string, bounds *boundaries,
	guard [][]*policy.Policy) ([]SimulationResult, error) {
	for i, doc := range in.Boundaries {
		p, err := policy.Parse(doc)
		if err != nil {
			return nil, Errorf(InvalidInput, "PermissionsBoundaryPolicyInputList.%d is not a valid policy: %s", i+1, err.Error())
		}
		if bounds == nil {
			bounds = &boundaries{}
		}
		bounds.policies = append(bounds.policies, p)
	}
	for i, doc := range in.Policies {
		p, err := policy.Parse(doc)
		if err != nil {
			return nil, Errorf(InvalidInput, "PolicyInputList.%d is not a valid policy: %s", i+1, err.Error())
		}
		ps = append(ps, p)
		ids = append(ids, "PolicyInputList."+strconv.Itoa(i+1))
		types = append(types, "none")
	}
	resources := in.Resources
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	if len(in.Actions)*len(resources) > MaxSimulationItems {
		return nil, Errorf(InvalidInput, "A simulation may evaluate at most %d action and resource pairs.", MaxSimulationItems)
	}
	var missing []string
	for _, k := range policy.ContextKeys(ps) {
		if _, ok := facts[k]; !ok {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	pc := &policy.Context{Values: facts}
	// A simulation is bounded in size, but may still be long: it stops
	// when the client leaves, and after MaxSimulationTime.
	ctx, cancel := context.WithTimeout(ctx, MaxSimulationTime)
	defer cancel()
	var out []SimulationResult
	for _, a := range in.Actions {
		for _, r := range resources {
			if ctx.Err() != nil {
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return nil, Errorf(LimitExceeded, "The simulation takes longer than %s; simulate fewer actions, resources or policies at once.", MaxSimulationTime)
				}
				return nil, ctx.Err()
			}
			req := &policy.Request{Action: a, Resource: r, Context: pc}
			d, matches := policy.Explain(ps, req)
			res := SimulationResult{Action: a, Resource: r, Decision: d, Missing: missing}
			if bounds != nil {
				// The effective permissions are the intersection: a
				// boundary that does not allow it refuses what the
				// policies allow; its explicit Deny wins.
				bd := policy.Evaluate(bounds.policies, req)
				allowed := bd == policy.Allowed
				res.BoundaryAllowed = &allowed
				if d == policy.Allowed && bd != policy.Allowed {
					res.Decision = bd
				} else if bd == policy.ExplicitDeny {
					res.Decision = policy.ExplicitDeny
				}
			}
			if guard != nil {
				// An organization's SCPs bound it all; their explicit
				// Deny wins.
				gd := guarded(guard, req)
				allowed := gd == policy.Allowed
				res.GuardrailAllowed = &allowed
				if gd != policy.Allowed && (res.Decision == policy.Allowed || gd == policy.ExplicitDeny) {
					res.Decision = gd
				}
			}
			for _, m := range matches {
				res.Matched = append(res.Matched, MatchedStatement{SourcePolicyID: ids[m.Policy], SourcePolicyType: types[m.Policy],
					Start: m.Statement.Start, End: m.Statement.End})
			}
			out = append(out, res)
		}
	}
	return out, nil
}
