package policy

// Decision is the outcome of evaluating identity policies for a request.
type Decision uint8

const (
	// ImplicitDeny: no statement allows the request.
	ImplicitDeny Decision = iota
	// Allowed: a statement allows it and none denies it.
	Allowed
	// ExplicitDeny: a Deny statement matches; nothing overrides it.
	ExplicitDeny
)

// String is the decision as IAM's policy simulator spells it.
func (d Decision) String() string {
	switch d {
	case Allowed:
		return "allowed"
	case ExplicitDeny:
		return "explicitDeny"
	}
	return "implicitDeny"
}

// Request is what is being decided: an action ("iam:CreateAccessKey",
// compared case-insensitively) on a resource ARN ("*" for actions that
// name no resource), in a context.
type Request struct {
	Action   string
	Resource string
	Context  *Context
	// Principal is who asks; only trust policies' statements look at it.
	Principal *Principal
}

// Match names a statement that decided a request: the index of its policy
// in the evaluated list and the statement itself.
type Match struct {
	Policy    int
	Statement *Statement
}

// Evaluate decides r against policies as IAM decides identity-based
// policies: an explicit Deny wins over any Allow, and without an Allow the
// request is implicitly denied.
func Evaluate(policies []*Policy, r *Request) Decision {
	d, _ := evaluate(policies, r, nil)
	return d
}

// Explain is Evaluate that also returns the statements that decided: the
// matching Deny statements when denied explicitly, else the matching
// Allow statements.
func Explain(policies []*Policy, r *Request) (Decision, []Match) {
	var allows, denies []Match
	d, _ := evaluate(policies, r, func(m Match) {
		if m.Statement.Deny {
			denies = append(denies, m)
		} else {
			allows = append(allows, m)
		}
	})
	if d == ExplicitDeny {
		return d, denies
	}
	if d == Allowed {
		return d, allows
	}
	return d, nil
}

func evaluate(policies []*Policy, r *Request, seen func(Match)) (Decision, bool) {
	allowed := false
	denied := false
	for pi, p := range policies {
		for _, st := range p.Statements {
			if allowed && !st.Deny && seen == nil {
				continue // only a Deny can change the outcome now
			}
			if !st.matches(r) {
				continue
			}
			if seen != nil {
				seen(Match{Policy: pi, Statement: st})
			}
			if st.Deny {
				if seen == nil {
					return ExplicitDeny, true
				}
				denied = true
			} else {
				allowed = true
			}
		}
	}
	switch {
	case denied:
		return ExplicitDeny, true
	case allowed:
		return Allowed, true
	}
	return ImplicitDeny, false
}

func (st *Statement) matches(r *Request) bool {
	if st.principals != nil && !st.principals.match(r.Principal) {
		return false
	}
	hit := false
	for i := range st.actions {
		if st.actions[i].match(r.Action, true) {
			hit = true
			break
		}
	}
	if hit == st.notAction {
		return false
	}
	hit = false
	for i := range st.resources {
		if st.resources[i].match(r.Resource, r.Context) {
			hit = true
			break
		}
	}
	if hit == st.notRes {
		return false
	}
	for i := range st.conditions {
		if !st.conditions[i].eval(r.Context) {
			return false
		}
	}
	return true
}

// ContextKeys returns the condition keys and policy variables the
// policies refer to, lower case, each once.
func ContextKeys(policies []*Policy) []string {
	seen := map[string]bool{}
	var out []string
	add := func(k key) {
		if !seen[k.name] {
			seen[k.name] = true
			out = append(out, k.name)
		}
	}
	addT := func(t template) {
		for _, p := range t.parts {
			if p.isVar {
				add(p.key)
			}
		}
	}
	for _, p := range policies {
		for _, st := range p.Statements {
			for _, r := range st.resources {
				addT(r.t)
			}
			for _, c := range st.conditions {
				add(c.key)
				for _, t := range c.strs {
					addT(t)
				}
			}
		}
	}
	return out
}

// HasConditions reports whether any statement of the policies has a
// Condition: without one, a decision depends only on the principal, the
// action and the resource.
func HasConditions(policies []*Policy) bool {
	for _, p := range policies {
		for _, st := range p.Statements {
			if len(st.conditions) > 0 {
				return true
			}
		}
	}
	return false
}

// Unmet says why the policies allow nothing for r, for a refusal that
// tells its reader which check failed: for each Allow statement that names
// r's principal, action and resource, the first condition r does not meet
// ("StringLike on token.actions.githubusercontent.com:sub"). Empty when
// no Allow statement names them at all. Keys and operators only: never a
// value the policy compares with.
func Unmet(policies []*Policy, r *Request) []string {
	var out []string
	for _, p := range policies {
		for _, st := range p.Statements {
			if st.Deny || len(st.conditions) == 0 {
				continue
			}
			probe := *st
			probe.conditions = nil
			if !probe.matches(r) {
				continue
			}
			for i := range st.conditions {
				if c := &st.conditions[i]; !c.eval(r.Context) {
					out = append(out, c.opName+" on "+c.keyName)
					break
				}
			}
		}
	}
	return out
}
