package params

import (
	"regexp"
	"strings"
	"testing"

	"iamd"
	"iamd/awsquery"
)

// TestMessages: each violation is worded as AWS words it, the first one
// kept; a sensitive member's value never appears.
func TestMessages(t *testing.T) {
	name := regexp.MustCompile(`^[\w+=,.@-]+$`)
	for _, c := range []struct {
		p    awsquery.Params
		read func(c *Checker)
		want string
	}{
		{awsquery.Params{}, func(c *Checker) { c.Str("UserName", true, 1, 64, name, `[\w+=,.@-]+`) },
			"Value null at 'userName' failed to satisfy constraint: Member must not be null"},
		{awsquery.Params{"RoleSessionName": "a b"}, func(c *Checker) { c.Str("RoleSessionName", true, 2, 64, name, `[\w+=,.@-]*`) },
			"Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"},
		{awsquery.Params{"WebIdentityToken": "eyJ"}, func(c *Checker) { c.Sensitive("WebIdentityToken", true, 4, 20000) },
			"Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4"},
		{awsquery.Params{"WebIdentityToken": strings.Repeat("eyJ", 7000)}, func(c *Checker) { c.Sensitive("WebIdentityToken", true, 4, 20000) },
			"Value at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to 20000"},
		{awsquery.Params{"DurationSeconds": "10", "UserName": "a b"}, func(c *Checker) {
			c.Int("DurationSeconds", 900, 3600)
			c.Str("UserName", true, 1, 64, name, `x`)
		}, "Value '10' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
	} {
		ch := &Checker{P: c.p}
		c.read(ch)
		if ch.Err == nil || iamd.KindOf(ch.Err) != iamd.Invalid || iamd.MessageOf(ch.Err) != c.want {
			t.Errorf("%v: %v, want %q", c.p, ch.Err, c.want)
		}
		if tok := c.p["WebIdentityToken"]; tok != "" && strings.Contains(iamd.MessageOf(ch.Err), tok) {
			t.Errorf("the message holds the token")
		}
	}
}
