// Package params checks Query parameters against the shapes of botocore's
// models (length, pattern, required), wording each violation as AWS does
// and keeping the first. iamapi and stsapi share it.
package params

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"iamd"
	"iamd/awsquery"
)

// Checker reads parameters of P; Err holds the first violation, an
// iamd.Invalid error.
type Checker struct {
	P   awsquery.Params
	Err error
}

// Fail records a violation unless one is recorded already.
func (c *Checker) Fail(format string, args ...any) {
	if c.Err == nil {
		c.Err = iamd.Errorf(iamd.Invalid, format, args...)
	}
}

// Str returns parameter name checked against length (in characters) and
// pattern, shown as patternText; "" when absent and not required.
func (c *Checker) Str(name string, required bool, min, max int, re *regexp.Regexp, patternText string) string {
	s, ok := c.P[name]
	field := string(name[0]|0x20) + name[1:]
	if !ok {
		if required {
			c.Fail("Value null at '%s' failed to satisfy constraint: Member must not be null", field)
		}
		return ""
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n < min:
		c.Fail("Value '%s' at '%s' failed to satisfy constraint: Member must have length greater than or equal to %d", Clip(s), field, min)
	case n > max:
		c.Fail("Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", Clip(s), field, max)
	case re != nil && !re.MatchString(s):
		if text, ok := patternMessages[field]; ok {
			if c.Err == nil {
				c.Err = &awsquery.Error{Status: http.StatusBadRequest, Code: "ValidationError", Message: fmt.Sprintf(text, field)}
			}
			break
		}
		c.Fail("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", Clip(s), field, patternText)
	}
	return s
}

// patternMessages are IAM's own words for a name, path or document that
// breaks its pattern, where AWS's public output shows them: names as in
// aws-cloudformation/cfn-lint#996 and app-sre/qontract-reconcile#2640,
// paths and documents as quoted from AWS's answers in iamd's issue
// tracker. Length violations keep the model's form, as AWS's do.
var patternMessages = map[string]string{
	"userName": nameMessage, "newUserName": nameMessage, "groupName": nameMessage, "newGroupName": nameMessage,
	"roleName": nameMessage, "policyName": nameMessage, "instanceProfileName": nameMessage,
	"path": pathMessage, "newPath": pathMessage,
	"policyDocument": documentMessage, "assumeRolePolicyDocument": documentMessage,
}

const (
	nameMessage     = "The specified value for %s is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-"
	pathMessage     = "The specified value for %s is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters."
	documentMessage = "The specified value for %s is invalid. It must contain only printable ASCII characters."
)

// Sensitive is Str for a member botocore marks sensitive (a token, a
// password): a violation names the member, never its value, as AWS words it
// ("Value at 'password' failed to satisfy constraint: …").
func (c *Checker) Sensitive(name string, required bool, min, max int) string {
	s, ok := c.P[name]
	field := string(name[0]|0x20) + name[1:]
	if !ok {
		if required {
			c.Fail("Value null at '%s' failed to satisfy constraint: Member must not be null", field)
		}
		return ""
	}
	switch n := utf8.RuneCountInString(s); {
	case n < min:
		c.Fail("Value at '%s' failed to satisfy constraint: Member must have length greater than or equal to %d", field, min)
	case n > max:
		c.Fail("Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", field, max)
	}
	return s
}

// Int returns parameter name as an integer within [min, max]; 0 when absent.
func (c *Checker) Int(name string, min, max int) (int, bool) {
	s, ok := c.P[name]
	if !ok {
		return 0, false
	}
	field := string(name[0]|0x20) + name[1:]
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		c.Fail("Value '%s' at '%s' failed to satisfy constraint: Member must be an integer", Clip(s), field)
	case n < min:
		c.Fail("Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to %d", n, field, min)
	case n > max:
		c.Fail("Value '%d' at '%s' failed to satisfy constraint: Member must have value less than or equal to %d", n, field, max)
	}
	return n, true
}

// Tags reads Tags.member.N.Key / .Value: at most max tags, keys unique
// case-insensitively (InvalidInput otherwise).
func (c *Checker) Tags(max int) []iamd.Tag {
	var tags []iamd.Tag
	seen := map[string]bool{}
	for i := 1; ; i++ {
		prefix := "Tags.member." + strconv.Itoa(i)
		k, ok := c.P[prefix+".Key"]
		val, vok := c.P[prefix+".Value"]
		if !ok && !vok {
			break
		}
		field := "tags." + strconv.Itoa(i) + ".member"
		switch {
		case !ok:
			c.Fail("Value null at '%s.key' failed to satisfy constraint: Member must not be null", field)
		case !vok:
			c.Fail("Value null at '%s.value' failed to satisfy constraint: Member must not be null", field)
		// One failed constraint per message, as AWS words them.
		case k == "":
			c.Fail("Value '' at '%s.key' failed to satisfy constraint: Member must have length greater than or equal to 1", field)
		case utf8.RuneCountInString(k) > 128:
			c.Fail("Value '%s' at '%s.key' failed to satisfy constraint: Member must have length less than or equal to 128", Clip(k), field)
		case !reTagKey.MatchString(k):
			c.Fail("Value '%s' at '%s.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+", Clip(k), field)
		case utf8.RuneCountInString(val) > 256:
			c.Fail("Value '%s' at '%s.value' failed to satisfy constraint: Member must have length less than or equal to 256", Clip(val), field)
		case !reTagValue.MatchString(val):
			c.Fail("Value '%s' at '%s.value' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*", Clip(val), field)
		}
		if seen[iamd.FoldName(k)] && c.Err == nil {
			c.Err = iamd.Errorf(iamd.InvalidInput, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[iamd.FoldName(k)] = true
		tags = append(tags, iamd.Tag{Key: k, Value: val})
	}
	if len(tags) > max {
		c.Fail("Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to %d", max)
	}
	return tags
}

// TagKeys reads TagKeys.member.N of an Untag… action: at least one, at
// most max, each a tag key. A member that breaks its constraints is worded
// as AWS's request validation words a list's members: the list quoted, and
// the member's constraints in brackets (the model's; AWS's public output
// for this list is not known).
func (c *Checker) TagKeys(max int) []string {
	var keys []string
	for i := 1; ; i++ {
		k, ok := c.P["TagKeys.member."+strconv.Itoa(i)]
		if !ok {
			break
		}
		keys = append(keys, k)
	}
	switch {
	case len(keys) == 0:
		c.Fail("Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
	case len(keys) > max:
		c.Fail("Value '[%s]' at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to %d", Clip(strings.Join(keys, ", ")), max)
	}
	for _, k := range keys {
		if n := utf8.RuneCountInString(k); n < 1 || n > 128 || !reTagKey.MatchString(k) {
			c.Fail("Value '[%s]' at 'tagKeys' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 128, "+
				"Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+]", Clip(strings.Join(keys, ", ")))
			break
		}
	}
	return keys
}

var (
	reTagKey   = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	reTagValue = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

// Clip shortens what a message quotes to 128 bytes.
func Clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}
