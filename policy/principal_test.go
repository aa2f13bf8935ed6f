package policy

import "testing"

// TestBindPrincipals: a bound principal matches its entity by unique ID,
// renamed or not, and not another entity under its old name; unbound
// principals still match by ARN, and the unbound policy is unchanged.
func TestBindPrincipals(t *testing.T) {
	const bob, deploy = "arn:aws:iam::123456789012:user/bob", "arn:aws:iam::123456789012:role/deploy"
	p, err := ParseTrust(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole",
		"Principal":{"AWS":["` + bob + `","` + deploy + `","arn:aws:iam::123456789012:user/carol"]}}}`)
	if err != nil {
		t.Fatal(err)
	}
	bound := p.BindPrincipals(map[string]string{bob: "AIDABOB", deploy: "AROADEPLOY"})
	for _, c := range []struct {
		name   string
		pr     Principal
		policy *Policy
		want   Decision
	}{
		{"bob by ID", Principal{ARN: bob, ID: "AIDABOB"}, bound, Allowed},
		{"bob renamed", Principal{ARN: "arn:aws:iam::123456789012:user/robert", ID: "AIDABOB"}, bound, Allowed},
		{"a new bob", Principal{ARN: bob, ID: "AIDANEWBOB"}, bound, ImplicitDeny},
		{"a session of the role", Principal{ARN: "arn:aws:sts::123456789012:assumed-role/deploy/s", RoleARN: deploy, RoleID: "AROADEPLOY"}, bound, Allowed},
		{"a session of a new role of that name", Principal{ARN: "arn:aws:sts::123456789012:assumed-role/deploy/s", RoleARN: deploy, RoleID: "AROAOTHER"}, bound, ImplicitDeny},
		{"carol, unbound, by ARN", Principal{ARN: "arn:aws:iam::123456789012:user/carol", ID: "AIDACAROL"}, bound, Allowed},
		{"a new bob, unbound policy", Principal{ARN: bob, ID: "AIDANEWBOB"}, p, Allowed},
	} {
		got := Evaluate([]*Policy{c.policy}, &Request{Action: "sts:AssumeRole", Resource: deploy, Context: &Context{}, Principal: &c.pr})
		if got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestFederatedPrincipal: a web identity caller matches {"Federated": its
// provider's ARN} and "*", never an AWS principal; conditions on its
// provider's keys (sub, aud, amr) decide as AWS documents them for GitHub
// Actions and Cognito.
func TestFederatedPrincipal(t *testing.T) {
	const gh = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
	const role = "arn:aws:iam::123456789012:role/deploy"
	p, err := ParseTrust(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRoleWithWebIdentity",
		"Principal":{"Federated":"` + gh + `"},
		"Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},
		             "StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/web:ref:refs/heads/main"},
		             "ForAnyValue:StringLike":{"token.actions.githubusercontent.com:amr":["authenticated","pwd*"]}}},
		{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"123456789012"}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	claims := func(sub, aud string, amr ...string) map[string][]string {
		m := map[string][]string{"token.actions.githubusercontent.com:sub": {sub}, "token.actions.githubusercontent.com:aud": {aud}}
		if amr != nil {
			m["token.actions.githubusercontent.com:amr"] = amr
		}
		return m
	}
	for _, c := range []struct {
		name   string
		pr     Principal
		action string
		req    map[string][]string
		want   Decision
	}{
		{"main branch", Principal{Federated: gh}, "sts:AssumeRoleWithWebIdentity", claims("repo:acme/web:ref:refs/heads/main", "sts.amazonaws.com", "unauthenticated", "authenticated"), Allowed},
		{"dev branch", Principal{Federated: gh}, "sts:AssumeRoleWithWebIdentity", claims("repo:acme/web:ref:refs/heads/dev", "sts.amazonaws.com", "authenticated"), ImplicitDeny},
		{"another audience", Principal{Federated: gh}, "sts:AssumeRoleWithWebIdentity", claims("repo:acme/web:ref:refs/heads/main", "other", "authenticated"), ImplicitDeny},
		{"no amr at all", Principal{Federated: gh}, "sts:AssumeRoleWithWebIdentity", claims("repo:acme/web:ref:refs/heads/main", "sts.amazonaws.com"), ImplicitDeny},
		{"amr without a wanted value", Principal{Federated: gh}, "sts:AssumeRoleWithWebIdentity", claims("repo:acme/web:ref:refs/heads/main", "sts.amazonaws.com", "unauthenticated"), ImplicitDeny},
		{"another provider", Principal{Federated: "arn:aws:iam::123456789012:oidc-provider/gitlab.com"}, "sts:AssumeRoleWithWebIdentity", claims("repo:acme/web:ref:refs/heads/main", "sts.amazonaws.com", "authenticated"), ImplicitDeny},
		{"the provider is not the account", Principal{Federated: gh, Account: "123456789012"}, "sts:AssumeRole", nil, ImplicitDeny},
		{"a user is not the provider", Principal{ARN: "arn:aws:iam::123456789012:user/bob", Account: "123456789012"}, "sts:AssumeRoleWithWebIdentity", claims("repo:acme/web:ref:refs/heads/main", "sts.amazonaws.com", "authenticated"), ImplicitDeny},
	} {
		got := Evaluate([]*Policy{p}, &Request{Action: c.action, Resource: role, Context: &Context{Request: c.req}, Principal: &c.pr})
		if got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestAnyWellFormedKey: a key iamd knows nothing of is accepted, as AWS
// accepts it, and is absent from requests that do not carry it: it
// matches nothing but …IfExists, Null and the negated operators.
func TestAnyWellFormedKey(t *testing.T) {
	for _, c := range []struct {
		cond string
		req  map[string][]string
		want Decision
	}{
		{`"StringEquals":{"aws:RequestTag/team":"red"}`, nil, ImplicitDeny},
		{`"StringEquals":{"aws:RequestTag/team":"red"}`, map[string][]string{"aws:requesttag/team": {"red"}}, Allowed},
		{`"StringEqualsIfExists":{"aws:RequestTag/team":"red"}`, nil, Allowed},
		{`"StringNotEquals":{"iam:ResourceTag/team":"red"}`, nil, Allowed},
		{`"Null":{"aws:RequestTag/team":"true"}`, nil, Allowed},
		{`"Null":{"aws:RequestTag/team":"false"}`, nil, ImplicitDeny},
		{`"NumericLessThan":{"s3:object-lock-remaining-retention-days":"10"}`, map[string][]string{"s3:object-lock-remaining-retention-days": {"3"}}, Allowed},
		{`"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]}`, map[string][]string{"aws:tagkeys": {"team", "env"}}, Allowed},
		{`"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]}`, map[string][]string{"aws:tagkeys": {"team", "owner"}}, ImplicitDeny},
		{`"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}`, nil, Allowed}, // no keys: vacuously all
		{`"ForAnyValue:StringEquals":{"aws:TagKeys":["team"]}`, nil, ImplicitDeny},
		{`"ForAnyValue:StringNotEquals":{"aws:TagKeys":["team"]}`, map[string][]string{"aws:tagkeys": {"team", "owner"}}, Allowed},
		{`"ForAnyValue:StringNotEquals":{"aws:TagKeys":["team"]}`, map[string][]string{"aws:tagkeys": {"team"}}, ImplicitDeny},
		{`"ForAllValues:StringNotLike":{"aws:TagKeys":["aws:*"]}`, map[string][]string{"aws:tagkeys": {"team"}}, Allowed},
	} {
		p, err := Parse(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{` + c.cond + `}}}`)
		if err != nil {
			t.Errorf("%s: %v", c.cond, err)
			continue
		}
		if got := Evaluate([]*Policy{p}, &Request{Action: "iam:TagUser", Resource: "*", Context: &Context{Request: c.req}}); got != c.want {
			t.Errorf("%s with %v: %v, want %v", c.cond, c.req, got, c.want)
		}
	}
}

// TestUnmet names the condition that refused a federated caller, by
// operator and key, and nothing of the values compared with.
func TestUnmet(t *testing.T) {
	const gh = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
	p, _ := ParseTrust(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRoleWithWebIdentity","Principal":{"Federated":"` + gh + `"},
		"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/secret-name:*"}}}]}`)
	req := &Request{Action: "sts:AssumeRoleWithWebIdentity", Resource: "arn:aws:iam::123456789012:role/r", Principal: &Principal{Federated: gh},
		Context: &Context{Request: map[string][]string{"token.actions.githubusercontent.com:sub": {"repo:acme/web:ref:refs/heads/dev"}}}}
	got := Unmet([]*Policy{p}, req)
	if len(got) != 1 || got[0] != "StringLike on token.actions.githubusercontent.com:sub" {
		t.Fatalf("Unmet: %q", got)
	}
	req.Principal = &Principal{Federated: "arn:aws:iam::123456789012:oidc-provider/gitlab.com"}
	if got := Unmet([]*Policy{p}, req); len(got) != 0 {
		t.Fatalf("Unmet for a provider no statement names: %q", got)
	}
}
