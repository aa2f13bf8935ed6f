package policy

import (
	"regexp"
	"strings"
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

// FuzzGlob checks glob against Go's regexp package (RE2, linear and
// independent) on ASCII patterns and texts: '*' is (?s:.*), '?' is (?s:.),
// and the literal markers stand for '*' and '?'.
func FuzzGlob(f *testing.F) {
	for _, s := range [][3]string{
		{"a*b?c", "axxbyc", ""}, {"*a*a*a*b", "aaaaaaaa", "fold"}, {"??*??", "abc", ""},
		{"*\x00*\x01", "x*y?", ""}, {"arn:aws:iam::*:user/*", "arn:aws:iam::1:user/a", ""},
		{"*" + strings.Repeat("a?", 40) + "*", strings.Repeat("ab", 50), ""},
	} {
		f.Add(s[0], s[1], s[2] != "")
	}
	f.Fuzz(func(t *testing.T, p, s string, fold bool) {
		p, s = ascii(p), ascii(s)
		if fold {
			p = strings.ToLower(p)
		}
		var re strings.Builder
		re.WriteString(`^(?s)`)
		if fold {
			re.WriteString(`(?i)`)
		}
		for i := 0; i < len(p); i++ {
			switch c := p[i]; c {
			case '*':
				re.WriteString(`.*`)
			case '?':
				re.WriteString(`.`)
			case litStar:
				re.WriteString(`\*`)
			case litQuestion:
				re.WriteString(`\?`)
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString(`$`)
		want := regexp.MustCompile(re.String()).MatchString(s)
		if got := glob(p, s, fold); got != want {
			t.Fatalf("glob(%q, %q, %v) = %v, regexp says %v", p, s, fold, got, want)
		}
		if !strings.Contains(p, ":") {
			return
		}
		// matchARN is glob applied to each of the six ARN segments.
		if got, want := matchARN(p, s), arnSegmentsMatch(p, s); got != want {
			t.Fatalf("matchARN(%q, %q) = %v, segment by segment %v", p, s, got, want)
		}
	})
}

// ascii maps every byte to 7-bit ASCII, where regexp's runes are bytes.
func ascii(s string) string {
	b := []byte(s)
	for i := range b {
		b[i] &= 0x7f
	}
	return string(b)
}

func arnSegmentsMatch(p, s string) bool {
	ps, ss := strings.SplitN(p, ":", 6), strings.SplitN(s, ":", 6)
	if len(ps) != 6 || len(ss) != 6 {
		return false
	}
	for i := range ps {
		if !glob(ps[i], ss[i], false) {
			return false
		}
	}
	return true
}
