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
