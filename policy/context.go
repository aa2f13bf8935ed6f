package policy

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Tag is a principal tag.
type Tag struct{ Key, Value string }

// Context is what a request offers condition keys and policy variables.
// An empty string, a zero address or a zero time means the key is absent
// from the request.
type Context struct {
	Username         string // aws:username (IAM users only)
	UserID           string // aws:userid
	PrincipalARN     string // aws:PrincipalArn
	PrincipalAccount string // aws:PrincipalAccount
	PrincipalType    string // aws:PrincipalType: "User", "Account"
	RequestedRegion  string // aws:RequestedRegion
	PrincipalTags    []Tag  // aws:PrincipalTag/<key>
	SourceIP         netip.Addr
	SecureTransport  bool
	CurrentTime      time.Time // aws:CurrentTime and aws:EpochTime
	// TokenIssueTime is when temporary credentials were issued
	// (aws:TokenIssueTime); zero for long-term keys. With it,
	// aws:MultiFactorAuthPresent is present and false: iamd's sessions
	// carry no MFA.
	TokenIssueTime time.Time
	// MFAAuthTime is when the credentials' MFA code was checked: with it,
	// aws:MultiFactorAuthPresent is true and aws:MultiFactorAuthAge the
	// seconds since.
	MFAAuthTime time.Time

	// Request holds the keys that describe the request itself and that the
	// service asking for the decision sets (an object gateway: s3:prefix,
	// s3:delimiter, s3:max-keys, s3:x-amz-acl, s3:VersionId, aws:UserAgent,
	// aws:Referer), by lower-case name. Identity keys are never taken from it.
	Request map[string][]string

	// Values, when non-nil, overrides the fields above for the keys it
	// names (lower case), as the context entries of a policy simulation
	// do; a key mapped to an empty list is absent. Keys it does not name
	// are absent too.
	Values map[string][]string
}

// keyID names a condition key iamd evaluates.
type keyID uint8

const (
	keyUsername keyID = iota + 1
	keyUserID
	keyPrincipalARN
	keyPrincipalAccount
	keyPrincipalType
	keyRequestedRegion
	keyPrincipalTag
	keySourceIP
	keySecureTransport
	keyCurrentTime
	keyEpochTime
	keyMFAPresent
	keyMFAAge
	keyTokenIssueTime
	keyRequest // one of RequestKeys, from Context.Request
)

// keyType says which operators a key may be used with.
type keyType uint8

const (
	typeString keyType = iota
	typeARN
	typeDate // also numeric (seconds since the epoch) for aws:EpochTime
	typeBool
	typeIP
	typeNumeric
	typeAny // a key iamd does not know: any operator, its values from Context.Request
)

type keyInfo struct {
	id  keyID
	typ keyType
}

// Keys lists the condition keys (lower case) iamd evaluates, and their
// types. aws:PrincipalTag/<key> is a family: any tag key.
var knownKeys = map[string]keyInfo{
	"aws:username":               {keyUsername, typeString},
	"aws:userid":                 {keyUserID, typeString},
	"aws:principalarn":           {keyPrincipalARN, typeARN},
	"aws:principalaccount":       {keyPrincipalAccount, typeString},
	"aws:principaltype":          {keyPrincipalType, typeString},
	"aws:requestedregion":        {keyRequestedRegion, typeString},
	"aws:sourceip":               {keySourceIP, typeIP},
	"aws:securetransport":        {keySecureTransport, typeBool},
	"aws:currenttime":            {keyCurrentTime, typeDate},
	"aws:epochtime":              {keyEpochTime, typeDate},
	"aws:multifactorauthpresent": {keyMFAPresent, typeBool},
	"aws:multifactorauthage":     {keyMFAAge, typeNumeric},
	"aws:tokenissuetime":         {keyTokenIssueTime, typeDate},
	"sts:externalid":             {keyRequest, typeString},
	"sts:rolesessionname":        {keyRequest, typeString},
	"sts:sourceidentity":         {keyRequest, typeString},
	"aws:sourceidentity":         {keyRequest, typeString},
	"aws:useragent":              {keyRequest, typeString},
	"aws:referer":                {keyRequest, typeString},
	"s3:prefix":                  {keyRequest, typeString},
	"s3:delimiter":               {keyRequest, typeString},
	"s3:max-keys":                {keyRequest, typeNumeric},
	"s3:x-amz-acl":               {keyRequest, typeString},
	"s3:versionid":               {keyRequest, typeString},
	"iamd:service":               {keyRequest, typeString},
}

// RequestKeys are the keys Context.Request may hold, in lower case.
var RequestKeys = []string{"aws:useragent", "aws:referer", "s3:prefix", "s3:delimiter", "s3:max-keys", "s3:x-amz-acl", "s3:versionid"}

const principalTagPrefix = "aws:principaltag/"

// KeyNames returns the condition keys iamd evaluates, as AWS spells them.
func KeyNames() []string {
	return []string{"aws:CurrentTime", "aws:EpochTime", "aws:MultiFactorAuthAge", "aws:MultiFactorAuthPresent",
		"aws:PrincipalAccount", "aws:PrincipalArn", "aws:PrincipalTag/<tag-key>", "aws:PrincipalType",
		"aws:Referer", "aws:RequestedRegion", "aws:SecureTransport", "aws:SourceIdentity", "aws:SourceIp", "aws:TokenIssueTime", "aws:UserAgent", "aws:userid", "aws:username",
		"iamd:Service", "s3:delimiter", "s3:max-keys", "s3:prefix", "s3:VersionId", "s3:x-amz-acl", "sts:ExternalId", "sts:RoleSessionName", "sts:SourceIdentity"}
}

// key is a compiled reference to a context value.
type key struct {
	id   keyID
	typ  keyType
	name string // lower case, as Values is indexed
	tag  string // for aws:PrincipalTag/…: the tag key, lower case
}

func lookupKey(name string) (key, bool) {
	l := strings.ToLower(name)
	if ki, ok := knownKeys[l]; ok {
		return key{id: ki.id, typ: ki.typ, name: l}, true
	}
	if t, ok := strings.CutPrefix(l, principalTagPrefix); ok && t != "" {
		return key{id: keyPrincipalTag, typ: typeString, name: l, tag: t}, true
	}
	// As AWS does, any well-formed key is accepted: a service's own
	// (iam:ResourceTag/team, s3:ExistingObjectTag/x), an identity
	// provider's (token.actions.githubusercontent.com:sub). A request that
	// does not carry it has it absent: it matches nothing but IfExists,
	// Null and the negated operators.
	if validKeyName(name) {
		return key{id: keyRequest, typ: typeAny, name: l}, true
	}
	return key{}, false
}

// validKeyName reports whether name has a condition key's form: a
// prefix (a service, or a provider's host and path), a colon, and a name;
// at most 256 printable characters.
func validKeyName(name string) bool {
	i := strings.IndexByte(name, ':')
	if i <= 0 || i == len(name)-1 || len(name) > 256 {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '$' || r == '{' || r == '}' || r == '"' || r == '*' || r == '?' {
			return false
		}
	}
	for _, r := range name[:i] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '/' || r == '_') {
			return false
		}
	}
	return true
}

// value returns the request's value of k as text (one value; a
// simulation's context entry may give several, returned in many).
func (c *Context) value(k key) (one string, many []string, ok bool) {
	if c.Values != nil {
		v := c.Values[k.name]
		if len(v) == 0 {
			return "", nil, false
		}
		return "", v, true
	}
	switch k.id {
	case keyUsername:
		return c.Username, nil, c.Username != ""
	case keyUserID:
		return c.UserID, nil, c.UserID != ""
	case keyPrincipalARN:
		return c.PrincipalARN, nil, c.PrincipalARN != ""
	case keyPrincipalAccount:
		return c.PrincipalAccount, nil, c.PrincipalAccount != ""
	case keyPrincipalType:
		return c.PrincipalType, nil, c.PrincipalType != ""
	case keyRequestedRegion:
		return c.RequestedRegion, nil, c.RequestedRegion != ""
	case keyPrincipalTag:
		for _, t := range c.PrincipalTags {
			if strings.EqualFold(t.Key, k.tag) {
				return t.Value, nil, true
			}
		}
	case keySourceIP:
		if c.SourceIP.IsValid() {
			return c.SourceIP.String(), nil, true
		}
	case keySecureTransport:
		return strconv.FormatBool(c.SecureTransport), nil, true
	case keyCurrentTime:
		if !c.CurrentTime.IsZero() {
			return c.CurrentTime.UTC().Format(time.RFC3339), nil, true
		}
	case keyEpochTime:
		if !c.CurrentTime.IsZero() {
			return strconv.FormatInt(c.CurrentTime.Unix(), 10), nil, true
		}
	case keyTokenIssueTime:
		if !c.TokenIssueTime.IsZero() {
			return c.TokenIssueTime.UTC().Format(time.RFC3339), nil, true
		}
	case keyMFAPresent:
		if !c.MFAAuthTime.IsZero() {
			return "true", nil, true
		}
		if !c.TokenIssueTime.IsZero() {
			return "false", nil, true
		}
	case keyMFAAge:
		if !c.MFAAuthTime.IsZero() && !c.CurrentTime.IsZero() {
			return strconv.FormatInt(max(0, int64(c.CurrentTime.Sub(c.MFAAuthTime)/time.Second)), 10), nil, true
		}
	case keyRequest:
		if v := c.Request[k.name]; len(v) > 0 {
			return "", v, true
		}
	}
	// aws:MultiFactorAuthPresent and …Age: long-term access keys never
	// carry MFA, and AWS leaves the keys out of such requests.
	return "", nil, false
}

// each calls fn with every value of k in the request, stopping when fn
// returns true; it reports whether the key is present and whether fn
// returned true.
func (c *Context) each(k key, fn func(string) bool) (present, hit bool) {
	one, many, ok := c.value(k)
	if !ok {
		return false, false
	}
	if many == nil {
		return true, fn(one)
	}
	for _, v := range many {
		if fn(v) {
			return true, true
		}
	}
	return true, false
}
