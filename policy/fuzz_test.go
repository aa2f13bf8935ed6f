package policy

import (
	"testing"
)

// FuzzParse checks that Parse never panics, that what it accepts evaluates
// without panicking, and that its refusals are SyntaxErrors.
func FuzzParse(f *testing.F) {
	for _, d := range []string{allowAll, selfKeys,
		cond(`"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/${aws:username}"}`),
		cond(`"IpAddress":{"aws:SourceIp":["10.0.0.0/8"]},"DateLessThan":{"aws:CurrentTime":"2030-01-01"}`),
		cond(`"NumericLessThan":{"aws:EpochTime":5},"Null":{"aws:PrincipalTag/x":"true"},"BoolIfExists":{"aws:MultiFactorAuthPresent":false}`),
		`{"Statement":[{"Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:iam::*:user/${aws:username, 'a'}${*}"}]}`,
	} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := Parse(doc)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("Parse returned %T", err)
			}
			return
		}
		c := alice()
		for _, res := range []string{"*", user("alice"), "arn:aws:lightsail:us-east-1:123456789012:Bucket/x"} {
			Explain([]*Policy{p}, &Request{Action: "iam:CreateAccessKey", Resource: res, Context: c})
			c.Values = map[string][]string{"aws:username": {"x", "y"}, "aws:sourceip": {"nope"}, "aws:currenttime": {"1"}}
			Evaluate([]*Policy{p}, &Request{Action: "lightsail:GetBuckets", Resource: res, Context: c})
		}
		ContextKeys([]*Policy{p})
	})
}
