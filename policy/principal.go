package policy

import (
	"encoding/json"
	"regexp"
	"strings"
)

// principals is a trust statement's Principal element.
type principals struct {
	any       bool     // "*" or {"AWS": "*"}
	aws       []string // account IDs and ARNs, as written; "id:" + a unique ID once bound
	federated []string // identity providers' ARNs (or names), as written
	// Service principals are accepted, as Terraform's roles for EC2 or
	// Lambda carry them, but iamd issues no credentials for them: they
	// match no request.
}

// Principal is who asks, for a trust policy: its ARN (a user's, the
// account root's, or an assumed-role session's), its account, and for a
// role session the role's ARN. With DirectOnly, statements that name only
// the caller's account do not match: a trust policy that names the caller
// itself (or "*") is enough on its own, one that names the account needs
// the caller's own policies too. ID is the caller's unique ID (a user's
// AIDA…), RoleID its role's (AROA…), which principals bound with
// BindPrincipals match instead of their ARNs.
type Principal struct {
	ARN, Account, RoleARN string
	ID, RoleID            string
	DirectOnly            bool
	// Federated is the identity provider's ARN for a caller that comes
	// with its provider's token (AssumeRoleWithWebIdentity); such a caller
	// matches only {"Federated": that ARN} and "*".
	Federated string
}

var (
	reAccountID    = regexp.MustCompile(`^[0-9]{12}$`)
	rePrincipalARN = regexp.MustCompile(`^arn:aws:(iam::[0-9]{12}:(root|user/.+|role/.+)|sts::[0-9]{12}:assumed-role/[^/]+/[^/]+)$`)
)

func parsePrincipals(v json.RawMessage) (*principals, error) {
	var star string
	if json.Unmarshal(v, &star) == nil {
		if star != "*" {
			return nil, errorf("Invalid principal in policy: %s", clip(star))
		}
		return &principals{any: true}, nil
	}
	var m map[string]json.RawMessage
	if err := strictUnmarshal(v, &m); err != nil || len(m) == 0 {
		return nil, errorf("Syntax errors in policy: Principal must be \"*\" or an object.")
	}
	ps := &principals{}
	for k, raw := range m {
		list, err := stringList(raw, "Principal."+k)
		if err != nil {
			return nil, err
		}
		switch k {
		case "AWS":
			for _, a := range list {
				switch {
				case a == "*":
					ps.any = true
				case reAccountID.MatchString(a), rePrincipalARN.MatchString(a) && !strings.ContainsAny(a, "*?"):
					ps.aws = append(ps.aws, a)
				default:
					return nil, errorf("Invalid principal in policy: \"AWS\":\"%s\"", clip(a))
				}
			}
		case "Service", "Federated", "CanonicalUser":
			for _, a := range list {
				if a == "" {
					return nil, errorf("Invalid principal in policy: \"%s\":\"\"", k)
				}
			}
			if k == "Federated" {
				ps.federated = append(ps.federated, list...)
			}
		default:
			return nil, errorf("Invalid principal in policy: unknown principal type %s.", clip(k))
		}
	}
	return ps, nil
}

// AWSPrincipals returns the account IDs and ARNs a trust policy names, so
// that whoever stores it can check they exist.
func (p *Policy) AWSPrincipals() []string {
	var out []string
	for _, st := range p.Statements {
		if st.principals != nil {
			out = append(out, st.principals.aws...)
		}
	}
	return out
}

// BindPrincipals returns p with each AWS principal that ids names (an ARN)
// bound to its unique ID: it then matches the entity of that ID, whatever
// its name now, and nothing else, as IAM binds a trust policy's users and
// roles when it is saved. p itself is unchanged.
func (p *Policy) BindPrincipals(ids map[string]string) *Policy {
	if len(ids) == 0 {
		return p
	}
	out := *p
	out.Statements = make([]*Statement, len(p.Statements))
	for i, st := range p.Statements {
		out.Statements[i] = st
		if st.principals == nil || len(st.principals.aws) == 0 {
			continue
		}
		ps := *st.principals
		ps.aws = make([]string, len(st.principals.aws))
		for j, a := range st.principals.aws {
			if id, ok := ids[a]; ok && id != "" {
				a = "id:" + id
			}
			ps.aws[j] = a
		}
		bound := *st
		bound.principals = &ps
		out.Statements[i] = &bound
	}
	return &out
}

// match reports whether the statement names pr.
func (ps *principals) match(pr *Principal) bool {
	if pr == nil {
		return false
	}
	if ps.any {
		return true
	}
	if pr.Federated != "" {
		for _, f := range ps.federated {
			if f == pr.Federated {
				return true
			}
		}
		return false
	}
	for _, a := range ps.aws {
		if id, ok := strings.CutPrefix(a, "id:"); ok {
			if id == pr.ID || id == pr.RoleID {
				return true
			}
			continue
		}
		switch a {
		case pr.ARN, pr.RoleARN:
			if a != "" {
				return true
			}
		case pr.Account, "arn:aws:iam::" + pr.Account + ":root":
			if !pr.DirectOnly {
				return true
			}
		}
	}
	return false
}
