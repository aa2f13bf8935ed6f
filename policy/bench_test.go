package policy

import (
	"fmt"
	"strings"
	"testing"
)

// tenByTen is a user's 10 policies of 10 statements each: action lists,
// path wildcards, one statement per policy with a variable and one with a
// condition, none of which allows the benchmarked request until the last.
func tenByTen(b *testing.B, allowLast bool) []*Policy {
	var ps []*Policy
	for i := 0; i < 10; i++ {
		var sts []string
		for j := 0; j < 10; j++ {
			var s string
			switch j {
			case 0:
				s = fmt.Sprintf(`{"Effect":"Allow","Action":["iam:Get*","iam:List*"],"Resource":"arn:aws:iam::*:user/team-%d/${aws:username}"}`, i)
			case 1:
				s = fmt.Sprintf(`{"Effect":"Allow","Action":"lightsail:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"t%d"},"Bool":{"aws:SecureTransport":"true"}}}`, i)
			case 2:
				s = `{"Effect":"Deny","Action":"iam:DeleteUser","Resource":"arn:aws:iam::*:user/admin/*"}`
			default:
				s = fmt.Sprintf(`{"Effect":"Allow","Action":["iam:CreateUser","iam:TagUser","iam:Put*Policy","iam:Attach*"],"Resource":"arn:aws:iam::123456789012:user/team-%d-%d/*"}`, i, j)
			}
			if allowLast && i == 9 && j == 9 {
				s = `{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::123456789012:user/team-a/*"}`
			}
			sts = append(sts, s)
		}
		p, err := Parse(`{"Version":"2012-10-17","Statement":[` + strings.Join(sts, ",") + `]}`)
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

// BenchmarkEvaluate10x10 is the cost of authorizing one request for a
// user with 10 attached policies of 10 statements each: every statement
// is examined (the allow is the last one, and denies must still be sought).
func BenchmarkEvaluate10x10(b *testing.B) {
	for _, allow := range []bool{true, false} {
		name := "allowed"
		if !allow {
			name = "implicitDeny"
		}
		b.Run(name, func(b *testing.B) {
			ps := tenByTen(b, allow)
			r := &Request{Action: "iam:CreateAccessKey", Resource: user("team-a/alice"), Context: alice()}
			want := ImplicitDeny
			if allow {
				want = Allowed
			}
			b.ReportAllocs()
			for b.Loop() {
				if Evaluate(ps, r) != want {
					b.Fatal("wrong decision")
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	doc := selfKeys
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGlobAttack matches the patterns that make backtracking
// matchers quadratic against a 2,048-byte resource (the longest ARN a
// simulation accepts): many stars before a byte that never comes, with
// and without '?'.
func BenchmarkGlobAttack(b *testing.B) {
	text := strings.Repeat("a", 2048)
	for _, tc := range []struct{ name, p string }{
		{"stars", strings.Repeat("*a", 1000) + "*b*"},
		{"stars-and-marks", strings.Repeat("*a?", 600) + "*b*"},
		{"long-mark-piece", "*" + strings.Repeat("a", 1000) + "?b*"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if glob(tc.p, text, false) {
					b.Fatal("matched")
				}
			}
		})
	}
}
