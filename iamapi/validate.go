package iamapi

import (
	"regexp"
	"strconv"

	"iamd"
	"iamd/awsquery"
	"iamd/internal/params"
)

// Shapes of botocore's IAM model (data/iam/2010-05-08/service-2.json).
var (
	reName      = regexp.MustCompile(`^[\w+=,.@-]+$`)
	rePath      = regexp.MustCompile(`^(/|/[\x21-\x7E]+/)$`)
	rePrefix    = regexp.MustCompile(`^/[\x21-\x7F]*$`)
	reMarker    = regexp.MustCompile(`^[\x20-\x{FF}]+$`)
	reKeyID     = regexp.MustCompile(`^\w+$`)
	lowerFirst  = func(s string) string { return string(s[0]|0x20) + s[1:] }
	maxTags     = 50
	maxMaxItems = 1000
)

// validator collects the first shape violation, worded as AWS words them.
type validator struct{ params.Checker }

func newValidator(p awsquery.Params) validator { return validator{params.Checker{P: p}} }

func clip(s string) string { return params.Clip(s) }

func (v *validator) userName(required bool, max int) string {
	return v.Str("UserName", required, 1, max, reName, `[\w+=,.@-]+`)
}

func (v *validator) accessKeyID() string {
	return v.Str("AccessKeyId", true, 16, 128, reKeyID, `[\w]+`)
}

// page reads Marker and MaxItems (default 100).
func (v *validator) page() iamd.Page {
	p := iamd.Page{MaxItems: 100}
	p.Marker = v.Str("Marker", false, 1, 320, reMarker, `[\u0020-\u00FF]+`)
	if s, ok := v.P["MaxItems"]; ok {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			v.Fail("Value '%s' at 'maxItems' failed to satisfy constraint: Member must be an integer", clip(s))
		case n < 1:
			v.Fail("Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1", n)
		case n > maxMaxItems:
			v.Fail("Value '%d' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to %d", n, maxMaxItems)
		}
		p.MaxItems = n
	}
	return p
}

// tags reads Tags.member.N.Key / .Value.
func (v *validator) tags() []iamd.Tag { return v.Tags(maxTags) }
