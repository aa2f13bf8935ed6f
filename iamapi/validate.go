package iamapi

import (
	"regexp"
	"strconv"
	"unicode/utf8"

	"iamd"
	"iamd/awsquery"
)

// Shapes of botocore's IAM model (data/iam/2010-05-08/service-2.json).
var (
	reName      = regexp.MustCompile(`^[\w+=,.@-]+$`)
	rePath      = regexp.MustCompile(`^(/|/[\x21-\x7E]+/)$`)
	rePrefix    = regexp.MustCompile(`^/[\x21-\x7F]*$`)
	reMarker    = regexp.MustCompile(`^[\x20-\x{FF}]+$`)
	reKeyID     = regexp.MustCompile(`^\w+$`)
	reTagKey    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	reTagValue  = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	lowerFirst  = func(s string) string { return string(s[0]|0x20) + s[1:] }
	maxTags     = 50
	maxMaxItems = 1000
)

// validator collects the first shape violation, worded as AWS words them.
type validator struct {
	p   awsquery.Params
	err error
}

func (v *validator) fail(format string, args ...any) {
	if v.err == nil {
		v.err = iamd.Errorf(iamd.Invalid, format, args...)
	}
}

// str returns parameter name checked against length and pattern; "" when
// it is absent and not required.
func (v *validator) str(name string, required bool, min, max int, re *regexp.Regexp, pattern string) string {
	s, ok := v.p[name]
	field := lowerFirst(name)
	if !ok {
		if required {
			v.fail("Value null at '%s' failed to satisfy constraint: Member must not be null", field)
		}
		return ""
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n < min:
		v.fail("Value '%s' at '%s' failed to satisfy constraint: Member must have length greater than or equal to %d", clip(s), field, min)
	case n > max:
		v.fail("Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", clip(s), field, max)
	case re != nil && !re.MatchString(s):
		v.fail("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", clip(s), field, pattern)
	}
	return s
}

func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}

func (v *validator) userName(required bool, max int) string {
	return v.str("UserName", required, 1, max, reName, `[\w+=,.@-]+`)
}

func (v *validator) accessKeyID() string {
	return v.str("AccessKeyId", true, 16, 128, reKeyID, `[\w]+`)
}

// page reads Marker and MaxItems (default 100).
func (v *validator) page() iamd.Page {
	p := iamd.Page{MaxItems: 100}
	p.Marker = v.str("Marker", false, 1, 320, reMarker, `[\u0020-\u00FF]+`)
	if s, ok := v.p["MaxItems"]; ok {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			v.fail("Value '%s' at 'maxItems' failed to satisfy constraint: Member must be an integer", clip(s))
		case n < 1:
			v.fail("Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1", n)
		case n > maxMaxItems:
			v.fail("Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to %d", n, maxMaxItems)
		}
		p.MaxItems = n
	}
	return p
}

// tags reads Tags.member.N.Key / .Value.
func (v *validator) tags() []iamd.Tag {
	var tags []iamd.Tag
	seen := map[string]bool{}
	for i := 1; ; i++ {
		prefix := "Tags.member." + strconv.Itoa(i)
		k, ok := v.p[prefix+".Key"]
		val, vok := v.p[prefix+".Value"]
		if !ok && !vok {
			break
		}
		field := "tags." + strconv.Itoa(i) + ".member"
		switch {
		case !ok:
			v.fail("Value null at '%s.key' failed to satisfy constraint: Member must not be null", field)
		case !vok:
			v.fail("Value null at '%s.value' failed to satisfy constraint: Member must not be null", field)
		case utf8.RuneCountInString(k) < 1 || utf8.RuneCountInString(k) > 128 || !reTagKey.MatchString(k):
			v.fail("Value '%s' at '%s.key' failed to satisfy constraint: Member must have length between 1 and 128 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+", clip(k), field)
		case utf8.RuneCountInString(val) > 256 || !reTagValue.MatchString(val):
			v.fail("Value '%s' at '%s.value' failed to satisfy constraint: Member must have length less than or equal to 256 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*", clip(val), field)
		}
		if seen[iamd.FoldName(k)] && v.err == nil {
			v.err = iamd.Errorf(iamd.InvalidInput, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[iamd.FoldName(k)] = true
		tags = append(tags, iamd.Tag{Key: k, Value: val})
	}
	if len(tags) > maxTags {
		v.fail("Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to %d", maxTags)
	}
	return tags
}
