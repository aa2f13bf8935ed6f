package policy

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

const acct = "123456789012"

func alice() *Context {
	return &Context{
		Username: "alice", UserID: "AIDAALICE", PrincipalARN: "arn:aws:iam::" + acct + ":user/team-a/alice",
		PrincipalAccount: acct, PrincipalType: "User", RequestedRegion: "us-east-1",
		PrincipalTags: []Tag{{"team", "a"}, {"CostCenter", "42"}},
		SourceIP:      netip.MustParseAddr("203.0.113.7"), SecureTransport: true,
		CurrentTime: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC),
	}
}

func user(name string) string { return "arn:aws:iam::" + acct + ":user/" + name }

// TestEvaluate is built from the examples in AWS's IAM User Guide
// ("Policy evaluation logic", "IAM JSON policy elements", "IAM: Allows IAM
// users to rotate their own access keys", "Condition operators").
func TestEvaluate(t *testing.T) {
	tests := []struct {
		name     string
		docs     []string
		action   string
		resource string
		ctx      func(*Context)
		want     Decision
	}{
		{"no policy is an implicit deny", nil, "iam:ListUsers", user(""), nil, ImplicitDeny},
		{"allow all", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`},
			"iam:DeleteUser", user("bob"), nil, Allowed},
		{"explicit deny beats allow across policies", []string{
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"*"}}`,
			`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iam:DeleteUser","Resource":"*"}}`},
			"iam:DeleteUser", user("bob"), nil, ExplicitDeny},
		{"deny of another action leaves allow", []string{
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"},{"Effect":"Deny","Action":"iam:DeleteUser","Resource":"*"}]}`},
			"iam:CreateUser", user("bob"), nil, Allowed},
		{"action names are case-insensitive", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"IAM:createaccesskey","Resource":"*"}}`},
			"iam:CreateAccessKey", user("alice"), nil, Allowed},
		{"action wildcard in the middle", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"*"}}`},
			"iam:GetAccessKeyLastUsed", user("alice"), nil, Allowed},
		{"action wildcard does not match other actions", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"*"}}`},
			"iam:DeleteUser", user("alice"), nil, ImplicitDeny},
		{"question mark matches one character", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:?etUser","Resource":"*"}}`},
			"iam:GetUser", user("alice"), nil, Allowed},
		{"NotAction allows everything else", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`},
			"lightsail:GetBuckets", "*", nil, Allowed},
		{"NotAction does not allow what it names", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`},
			"iam:ListUsers", user(""), nil, ImplicitDeny},
		{"Deny with NotAction denies everything else", []string{
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","NotAction":["iam:Get*","iam:List*"],"Resource":"*"}]}`},
			"iam:CreateUser", user("x"), nil, ExplicitDeny},
		{"resource path wildcard", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::123456789012:user/team-a/*"}}`},
			"iam:CreateAccessKey", user("team-a/bob"), nil, Allowed},
		{"resource outside the path", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::123456789012:user/team-a/*"}}`},
			"iam:CreateAccessKey", user("team-b/bob"), nil, ImplicitDeny},
		{"resources are case-sensitive", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::123456789012:user/Team-A/*"}}`},
			"iam:CreateAccessKey", user("team-a/bob"), nil, ImplicitDeny},
		{"account wildcard", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::*:user/*"}}`},
			"iam:GetUser", user("bob"), nil, Allowed},
		{"NotResource", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","NotResource":"arn:aws:iam::123456789012:user/admin/*"}}`},
			"iam:DeleteUser", user("admin/root"), nil, ImplicitDeny},
		{"NotResource allows the rest", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","NotResource":"arn:aws:iam::123456789012:user/admin/*"}}`},
			"iam:DeleteUser", user("bob"), nil, Allowed},
		{"a resource-less action needs Resource *", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"lightsail:*","Resource":"arn:aws:lightsail:*:*:*"}}`},
			"lightsail:CreateBucket", "*", nil, ImplicitDeny},
		{"own keys through ${aws:username}", []string{selfKeys},
			"iam:CreateAccessKey", user("team-a/alice"), nil, Allowed},
		{"another user's keys are refused", []string{selfKeys},
			"iam:CreateAccessKey", user("team-a/bob"), nil, ImplicitDeny},
		{"variables are literal in a 2008-10-17 document", []string{`{"Statement":{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::*:user/${aws:username}"}}`},
			"iam:GetUser", user("alice"), nil, ImplicitDeny},
		{"a variable without value matches nothing", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::*:user/${aws:username}"}}`},
			"iam:GetUser", user(""), func(c *Context) { c.Username = "" }, ImplicitDeny},
		{"a variable's default", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::*:user/${aws:PrincipalTag/none, 'shared'}/*"}}`},
			"iam:GetUser", user("shared/x"), nil, Allowed},
		{"${*} is a literal star", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::*:user/a${*}"}}`},
			"iam:GetUser", user("ab"), nil, ImplicitDeny},
		{"principal tag variable", []string{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::*:user/team-${aws:PrincipalTag/team}/*"}}`},
			"iam:GetUser", user("team-a/x"), nil, Allowed},
		{"StringEquals on a principal tag", []string{cond(`"StringEquals":{"aws:PrincipalTag/team":"a"}`)}, "iam:GetUser", user("x"), nil, Allowed},
		{"StringEquals is case-sensitive", []string{cond(`"StringEquals":{"aws:PrincipalTag/team":"A"}`)}, "iam:GetUser", user("x"), nil, ImplicitDeny},
		{"StringEqualsIgnoreCase", []string{cond(`"StringEqualsIgnoreCase":{"aws:PrincipalTag/team":"A"}`)}, "iam:GetUser", user("x"), nil, Allowed},
		{"tag keys match case-insensitively", []string{cond(`"StringEquals":{"aws:PrincipalTag/costcenter":"42"}`)}, "iam:GetUser", user("x"), nil, Allowed},
		{"StringNotEquals", []string{cond(`"StringNotEquals":{"aws:PrincipalTag/team":["b","c"]}`)}, "iam:GetUser", user("x"), nil, Allowed},
		{"StringNotEquals on an absent key is true", []string{cond(`"StringNotEquals":{"aws:PrincipalTag/none":"b"}`)}, "iam:GetUser", user("x"), nil, Allowed},
		{"StringEquals on an absent key is false", []string{cond(`"StringEquals":{"aws:PrincipalTag/none":"b"}`)}, "iam:GetUser", user("x"), nil, ImplicitDeny},
		{"StringEqualsIfExists on an absent key is true", []string{cond(`"StringEqualsIfExists":{"aws:PrincipalTag/none":"b"}`)}, "iam:GetUser", user("x"), nil, Allowed},
		{"StringEqualsIfExists on a present key compares", []string{cond(`"StringEqualsIfExists":{"aws:PrincipalTag/team":"b"}`)}, "iam:GetUser", user("x"), nil, ImplicitDeny},
		{"StringLike", []string{cond(`"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/team-?/*"}`)}, "iam:GetUser", user("x"), nil, Allowed},
		{"StringNotLike", []string{cond(`"StringNotLike":{"aws:username":"al*"}`)}, "iam:GetUser", user("x"), nil, ImplicitDeny},
		{"a condition value with a variable", []string{cond(`"StringEquals":{"aws:PrincipalTag/team":"${aws:PrincipalTag/team}"}`)}, "iam:GetUser", user("x"), nil, Allowed},
		{"keys under one operator are ANDed", []string{cond(`"StringEquals":{"aws:PrincipalTag/team":"a","aws:username":"bob"}`)}, "iam:GetUser", user("x"), nil, ImplicitDeny},
		{"operators are ANDed", []string{cond(`"StringEquals":{"aws:PrincipalTag/team":"a"},"Bool":{"aws:SecureTransport":"false"}`)}, "iam:GetUser", user("x"), nil, ImplicitDeny},
		{"Bool on aws:SecureTransport", []string{cond(`"Bool":{"aws:SecureTransport":true}`)}, "iam:GetUser", user("x"), nil, Allowed},
		{"deny without TLS", []string{allowAll, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}`},
			"iam:GetUser", user("x"), func(c *Context) { c.SecureTransport = false }, ExplicitDeny},
		{"deny without MFA (BoolIfExists): long-term keys carry none", []string{allowAll, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}}`},
			"iam:GetUser", user("x"), nil, ExplicitDeny},
		{"IpAddress", []string{cond(`"IpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]}`)}, "iam:GetUser", user("x"), nil, Allowed},
		{"IpAddress outside", []string{cond(`"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}`)}, "iam:GetUser", user("x"), nil, ImplicitDeny},
		{"NotIpAddress deny from elsewhere", []string{allowAll, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24"]}}}}`},
			"iam:GetUser", user("x"), nil, ExplicitDeny},
		{"IpAddress of a single address and IPv6", []string{cond(`"IpAddress":{"aws:SourceIp":["203.0.113.7","2001:db8::/32"]}`)}, "iam:GetUser", user("x"), nil, Allowed},
		{"IPv6 source", []string{cond(`"IpAddress":{"aws:SourceIp":"2001:db8::/32"}`)}, "iam:GetUser", user("x"),
			func(c *Context) { c.SourceIP = netip.MustParseAddr("2001:db8::1") }, Allowed},
		{"DateLessThan", []string{cond(`"DateLessThan":{"aws:CurrentTime":"2026-12-31T23:59:59Z"}`)}, "iam:GetUser", user("x"), nil, Allowed},
		{"DateGreaterThan", []string{cond(`"DateGreaterThan":{"aws:CurrentTime":"2027-01-01"}`)}, "iam:GetUser", user("x"), nil, ImplicitDeny},
		{"a time window", []string{cond(`"DateGreaterThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2026-12-31T00:00:00Z"}`)},
			"iam:GetUser", user("x"), nil, Allowed},
		{"epoch seconds", []string{cond(`"DateGreaterThanEquals":{"aws:EpochTime":1780315200}`)}, "iam:GetUser", user("x"), nil, Allowed},
		{"NumericLessThan on aws:EpochTime", []string{cond(`"NumericLessThan":{"aws:EpochTime":1780315200}`)}, "iam:GetUser", user("x"), nil, ImplicitDeny},
		{"Null true: the key is absent", []string{cond(`"Null":{"aws:PrincipalTag/none":"true"}`)}, "iam:GetUser", user("x"), nil, Allowed},
		{"Null false: the key is present", []string{cond(`"Null":{"aws:PrincipalTag/none":"false"}`)}, "iam:GetUser", user("x"), nil, ImplicitDeny},
		{"ArnLike", []string{cond(`"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/team-a/*"}`)}, "iam:GetUser", user("x"), nil, Allowed},
		{"ArnNotEquals", []string{cond(`"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/team-a/alice"}`)}, "iam:GetUser", user("x"), nil, ImplicitDeny},
		{"simulation context values replace the request's", []string{cond(`"StringEquals":{"aws:PrincipalTag/team":"b"}`)}, "iam:GetUser", user("x"),
			func(c *Context) { c.Values = map[string][]string{"aws:principaltag/team": {"b"}} }, Allowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []*Policy
			for _, d := range tt.docs {
				p, err := Parse(d)
				if err != nil {
					t.Fatalf("Parse(%s): %v", d, err)
				}
				ps = append(ps, p)
			}
			c := alice()
			if tt.ctx != nil {
				tt.ctx(c)
			}
			got := Evaluate(ps, &Request{Action: tt.action, Resource: tt.resource, Context: c})
			if got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
			d, matches := Explain(ps, &Request{Action: tt.action, Resource: tt.resource, Context: c})
			if d != got {
				t.Errorf("Explain = %v, Evaluate = %v", d, got)
			}
			if (d == ImplicitDeny) != (len(matches) == 0) {
				t.Errorf("Explain(%v) returned %d matches", d, len(matches))
			}
		})
	}
}

const allowAll = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`

const selfKeys = `{"Version":"2012-10-17","Statement":[{"Sid":"ManageOwnKeys","Effect":"Allow",
  "Action":["iam:CreateAccessKey","iam:DeleteAccessKey","iam:ListAccessKeys","iam:UpdateAccessKey","iam:GetAccessKeyLastUsed"],
  "Resource":"arn:aws:iam::*:user/*${aws:username}"}]}`

func cond(c string) string {
	return `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{` + c + `}}}`
}

func TestParseRefuses(t *testing.T) {
	tests := []struct{ doc, want string }{
		{`nope`, "Syntax errors"},
		{`{"Version":"2012-10-17","Statement":[]}`, "Statement is empty"},
		{`{"Version":"2012-10-17"}`, "Missing required field Statement"},
		{`{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, "valid version"},
		{`{"Version":"2012-10-17","Statement":{"Effect":"allow","Action":"*","Resource":"*"}}`, "Invalid effect"},
		{`{"Version":"2012-10-17","Statement":{"Action":"*","Resource":"*"}}`, "Missing required field Effect"},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Resource":"*"}}`, "Missing required field Action"},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*"}}`, "Missing required field Resource"},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","NotAction":"iam:*","Resource":"*"}}`, "not both"},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"CreateUser","Resource":"*"}}`, "prefaced by a vendor"},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"user/bob"}}`, "ARN format"},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}}`, "should not specify a principal"},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Extra":1}}`, "unknown element Extra"},
		{`{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"}]}`, "must be unique"},
		{`{"Version":"2012-10-17","Statement":{"Sid":"a b","Effect":"Allow","Action":"*","Resource":"*"}}`, "alpha-numeric"},
		{cond(`"StringEqualz":{"aws:username":"a"}`), "Condition operator StringEqualz is not supported"},
		{cond(`"ForAnyValue:Null":{"aws:username":"true"}`), "Condition operator ForAnyValue:Null is not supported"},
		{cond(`"ForSomeValues:StringEquals":{"aws:username":"a"}`), "Condition operator ForSomeValues:StringEquals is not supported"},
		{cond(`"NullIfExists":{"aws:username":"true"}`), "NullIfExists is not supported"},
		{cond(`"StringEquals":{"SourceVpc":"vpc-1"}`), "Condition key SourceVpc is not supported"},
		{cond(`"StringEquals":{"aws:":"x"}`), "Condition key aws: is not supported"},
		{cond(`"StringEquals":{"a b:c":"x"}`), "Condition key a b:c is not supported"},
		{cond(`"IpAddress":{"aws:SourceIp":"300.1.1.1"}`), "Invalid value 300.1.1.1"},
		{cond(`"IpAddress":{"aws:username":"10.0.0.0/8"}`), "cannot be used with key aws:username"},
		{cond(`"DateLessThan":{"aws:CurrentTime":"tomorrow"}`), "Invalid value tomorrow"},
		{cond(`"Bool":{"aws:SecureTransport":"yes"}`), "Invalid value yes"},
		{cond(`"StringEquals":{"aws:username":{}}`), "must be a string, number or boolean"},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:iam::*:user/${foo}"}}`, "Policy variable ${foo} is not supported"},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:iam::*:user/${aws:username"}}`, "not closed"},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} x`, "Syntax errors"},
		// A repeated key, at any depth: encoding/json would keep the last.
		{`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}}`, "the key Effect appears twice"},
		{`{"Version":"2012-10-17","Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, "the key Version appears twice"},
		{cond(`"StringEquals":{"aws:username":"a"},"StringEquals":{"aws:username":"b"}`), "the key StringEquals appears twice"},
		{cond(`"StringEquals":{"aws:username":"a","aws:username":"b"}`), "the key aws:username appears twice"},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Resource":"x"}]}`, "the key Resource appears twice"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.doc)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s) = %v, want an error containing %q", tt.doc, err, tt.want)
		}
		if _, ok := err.(*SyntaxError); err != nil && !ok {
			t.Errorf("Parse(%s) returned %T, want *SyntaxError", tt.doc, err)
		}
	}
}

// TestRepeatedKeysInArrays: the same key in sibling objects, and a string
// value that looks like a key, are not repeats.
func TestRepeatedKeysInArrays(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"Effect","Effect":"Allow","Action":["iam:Effect","iam:Get*"],"Resource":"*"},{"Effect":"Deny","Action":"iam:Delete*","Resource":"*","Condition":{"StringEquals":{"aws:username":["Effect","b"]}}}]}`
	if _, err := Parse(doc); err != nil {
		t.Fatal(err)
	}
}

func TestPositions(t *testing.T) {
	doc := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"},\n    {\"Effect\": \"Deny\", \"Action\": \"iam:*\", \"Resource\": \"*\"}\n  ]\n}"
	p, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Statements[0].Start; got != (Position{4, 5}) {
		t.Errorf("first statement starts at %v", got)
	}
	if got := p.Statements[1].Start; got != (Position{5, 5}) {
		t.Errorf("second statement starts at %v", got)
	}
	if got := p.Statements[1].End; got.Line != 5 || got.Column != 58 {
		t.Errorf("second statement ends at %v", got)
	}
}

func TestContextKeys(t *testing.T) {
	p, err := Parse(cond(`"StringEquals":{"aws:PrincipalTag/Team":"${aws:username}"}`))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(ContextKeys([]*Policy{p}), ",")
	if got != "aws:principaltag/team,aws:username" {
		t.Errorf("ContextKeys = %s", got)
	}
}

func TestGlob(t *testing.T) {
	for _, tt := range []struct {
		p, s string
		want bool
	}{
		{"", "", true}, {"*", "a:b", true}, {"*", "", true}, {"a*", "a", true}, {"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false},
		{"?", "", false}, {"a?c", "abc", true}, {"*a", strings.Repeat("b", 100) + "a", true}, {"\x00", "*", true}, {"\x00", "x", false},
		{"*a?c*", "xxabcxx", true}, {"*a?c*", "xxacxx", false}, {"*\x01*", "a?b", true}, {"*\x01*", "ab", false},
		{"ab*ba", "aba", false}, {"ab*ba", "abba", true}, {"*?*?*", "a", false}, {"*?*?*", "ab", true},
		// pieces longer than 64 bytes take the multi-word search
		{"*" + strings.Repeat("a", 70) + "?" + strings.Repeat("b", 5) + "*", strings.Repeat("a", 80) + "x" + "bbbbb", true},
		{"*" + strings.Repeat("a", 70) + "?" + strings.Repeat("b", 5) + "*", strings.Repeat("a", 80) + "bbbb", false},
		{"*" + strings.Repeat("?", 130) + "*", strings.Repeat("z", 130), true},
		{"*" + strings.Repeat("?", 130) + "*", strings.Repeat("z", 129), false},
		// the shape that made backtracking matchers quadratic
		{strings.Repeat("*a", 500) + "*b", strings.Repeat("a", 2000), false},
		{strings.Repeat("*a?", 300) + "*b", strings.Repeat("a", 2000), false},
	} {
		if got := glob(tt.p, tt.s, false); got != tt.want {
			t.Errorf("glob(%q, %q) = %v", tt.p, tt.s, got)
		}
	}
}

func TestGlobFold(t *testing.T) {
	long := "iam:" + strings.Repeat("x", 80) + "?"
	for _, tt := range []struct {
		p, s string
		want bool
	}{
		{"iam:*accesskey*", "iam:CreateAccessKey", true}, {"iam:get?ser", "IAM:GetUser", true}, {"iam:get?ser", "iam:GetGroup", false},
		{"*" + long + "*", "IAM:" + strings.Repeat("X", 80) + "Q", true}, {"*" + long + "*", "IAM:" + strings.Repeat("X", 79) + "Q", false},
	} {
		if got := glob(tt.p, tt.s, true); got != tt.want {
			t.Errorf("glob(%q, %q, fold) = %v", tt.p, tt.s, got)
		}
	}
}

func TestMatchARN(t *testing.T) {
	for _, tt := range []struct {
		p, arn string
		want   bool
	}{
		{"arn:aws:iam::*:user/*", "arn:aws:iam::1:user/a/b:c", true},
		{"arn:aws:*:user/*", "arn:aws:iam::1:user/a", false}, // '*' stays within its segment
		{"arn:aws:iam::1:user/a", "arn:aws:iam::1:user/a", true},
		{"arn:aws:iam::1:user/a", "arn:aws:iam::2:user/a", false},
		{"arn:aws:iam::1", "arn:aws:iam::1:user/a", false},
	} {
		if got := matchARN(tt.p, tt.arn); got != tt.want {
			t.Errorf("matchARN(%q, %q) = %v", tt.p, tt.arn, got)
		}
	}
}
