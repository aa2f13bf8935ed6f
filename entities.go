package iamd

import (
	"io"
	"strings"
	"time"
)

// Group is an IAM group: users that share its policies.
type Group struct {
	ID        string // AGPA…
	Name      string // unique case-insensitively
	Path      string
	CreatedAt time.Time
}

// ARN returns arn:aws:iam::<account>:group<path><name>.
func (g *Group) ARN(account string) string {
	return "arn:aws:iam::" + account + ":group" + g.Path + g.Name
}

// Role is an IAM role: an identity with policies and no keys of its own,
// which principals its trust policy names may assume (sts:AssumeRole).
type Role struct {
	ID          string // AROA…
	Name        string // unique case-insensitively
	Path        string
	Description string
	TrustPolicy string // AssumeRolePolicyDocument
	// TrustIDs binds each of this account's users and roles the trust
	// policy names (by ARN) to its unique ID when the policy was written:
	// the policy trusts that entity, renamed or not, and not another
	// made later under the same name.
	TrustIDs           map[string]string
	MaxSessionDuration int // seconds, 3600–43200
	CreatedAt          time.Time
	Tags               []Tag
	// Boundary is the ARN of the managed policy that bounds what the role's
	// identity policies can grant, and so its sessions' ("" for none).
	Boundary string `json:",omitempty"`
}

// ARN returns arn:aws:iam::<account>:role<path><name>.
func (r *Role) ARN(account string) string {
	return "arn:aws:iam::" + account + ":role" + r.Path + r.Name
}

// Limits of roles, as AWS's.
const (
	MinSessionDuration      = 900
	DefaultSessionDuration  = 3600
	MaxRoleSessionDuration  = 43200
	MaxRoleInlineSize       = 10240 // all of a role's inline policies together
	MaxTrustPolicySize      = 2048
	MaxSessionPolicySize    = 2048
	MaxSessionPolicyARNs    = 10
	MaxUserSessionDuration  = 129600 // GetSessionToken, IAM users
	MaxRootSessionDuration  = 3600   // GetSessionToken, the root
	DefaultUserSessionToken = 43200
)

// ManagedPolicy is a standalone policy that users and groups attach. The
// customer-managed ones live in the store; the AWS-managed ones are built
// in (see AWSManagedPolicies).
type ManagedPolicy struct {
	ID              string // ANPA…
	Name            string // unique case-insensitively
	Path            string
	Description     string
	DefaultVersion  string // "v1", "v2", …
	AttachmentCount int
	BoundaryCount   int // users and roles it bounds (PermissionsBoundaryUsageCount)
	CreatedAt       time.Time
	UpdatedAt       time.Time // when the default version last changed
	Tags            []Tag
	AWSManaged      bool
}

// PolicyFilter selects customer-managed policies in Store.ListPolicies.
type PolicyFilter struct {
	PathPrefix   string // "/" for all
	OnlyAttached bool   // attached to at least one user, group or role
	// OnlyBoundaries: the permissions boundary of at least one user or
	// role (ListPolicies' PolicyUsageFilter=PermissionsBoundary).
	OnlyBoundaries bool
}

// ARN returns the policy's ARN: arn:aws:iam::<account>:policy<path><name>,
// with the account "aws" for AWS-managed policies.
func (p *ManagedPolicy) ARN(account string) string {
	if p.AWSManaged {
		account = "aws"
	}
	return "arn:aws:iam::" + account + ":policy" + p.Path + p.Name
}

// PolicyVersion is one version of a managed policy's document.
type PolicyVersion struct {
	ID        string // "v1", …
	Document  string
	Default   bool
	CreatedAt time.Time
}

// EntityKind says what a policy is attached to or embedded in.
type EntityKind int

const (
	EntityUser EntityKind = iota
	EntityGroup
	EntityRole
)

// Entity names a user, a group or a role.
type Entity struct {
	Kind EntityKind
	Name string
}

// EntityInfo is an entity as listings return it.
type EntityInfo struct {
	Kind EntityKind
	Name string
	ID   string
}

// AttachedPolicy is a managed policy attached to an entity, by ID and ARN.
type AttachedPolicy struct {
	ID  string
	ARN string
}

// Name is the policy's name: the last segment of its ARN.
func (a AttachedPolicy) Name() string { return a.ARN[strings.LastIndexByte(a.ARN, '/')+1:] }

// InlinePolicy is a policy document embedded in one user or group.
type InlinePolicy struct {
	Name     string
	Document string
}

// PolicySource is one document that applies to a user, as the store
// returns it for authorization: an inline policy or the default version of
// a managed one, the user's own or one of its groups'. Document is "" for
// AWS-managed policies, whose documents are built in.
type PolicySource struct {
	Entity   Entity // the user or the group it comes from
	Inline   bool
	Name     string // the inline policy's name
	Policy   AttachedPolicy
	Document string
}

// Limits of AWS IAM's default quotas that iamd applies.
const (
	MaxManagedPoliciesPerEntity = 10   // attached to one user or group
	MaxGroupsPerUser            = 10   //
	MaxPolicyVersions           = 5    // versions of one managed policy
	MaxManagedPolicySize        = 6144 // characters, white space not counted
	MaxUserInlineSize           = 2048 // all of a user's inline policies together
	MaxGroupInlineSize          = 5120 // all of a group's inline policies together
)

// PolicySize is a document's size as IAM counts it: characters other than
// white space.
func PolicySize(doc string) int {
	n := 0
	for _, r := range doc {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}

// NewGroupID returns "AGPA" and 17 characters of [A-Z2-7].
func NewGroupID(r io.Reader) (string, error) { return randomID(r, "AGPA", 17) }

// NewPolicyID returns "ANPA" and 17 characters of [A-Z2-7].
func NewPolicyID(r io.Reader) (string, error) { return randomID(r, "ANPA", 17) }

// OIDCProvider is an OpenID Connect identity provider the account trusts
// (IAM's CreateOpenIDConnectProvider): a token it issued, for one of its
// client IDs, may be exchanged for a role's temporary credentials
// (AssumeRoleWithWebIdentity) where the role's trust policy allows it.
type OIDCProvider struct {
	ID      string // internal
	Account string // the account it belongs to
	// URL is the issuer without https://: host and path, as the ARN ends
	// and as the provider's condition keys begin (host/path:sub).
	URL string
	// ClientIDs are the audiences (aud) accepted.
	ClientIDs []string
	// Thumbprints are SHA-1 fingerprints (40 hex digits, lower case) of
	// certificates the provider's TLS chain may present, trusted when the
	// system's roots do not vouch for it (as AWS uses them).
	Thumbprints []string
	CreatedAt   time.Time
	Tags        []Tag
}

// ARN is the provider's ARN in account.
func (p *OIDCProvider) ARN(account string) string {
	return "arn:aws:iam::" + account + ":oidc-provider/" + p.URL
}

// InstanceProfile is a container for one role, which AWS hands to EC2
// instances; iamd keeps them so that templates written for AWS, which make
// them beside their roles, apply unchanged.
type InstanceProfile struct {
	ID        string // AIPA…
	Name      string // unique case-insensitively
	Path      string
	CreatedAt time.Time
	Tags      []Tag
	Role      string // the name of its role, "" for none
}

// ARN returns arn:aws:iam::<account>:instance-profile<path><name>.
func (p *InstanceProfile) ARN(account string) string {
	return "arn:aws:iam::" + account + ":instance-profile" + p.Path + p.Name
}

// LoginProfile is a user's console password: its hash (argon2id, in the
// PHC string format), never the password.
type LoginProfile struct {
	Hash          string
	CreatedAt     time.Time
	ChangedAt     time.Time
	ResetRequired bool
	// LastUsedAt is when the password last signed the user in to the
	// console; zero if never.
	LastUsedAt time.Time
	// History are the hashes of the passwords it had before, newest first,
	// as many as the password policy's reuse prevention remembers.
	History []string
}

// PasswordPolicy is the account's password policy, as
// UpdateAccountPasswordPolicy sets it; zero fields are AWS's defaults.
type PasswordPolicy struct {
	MinimumPasswordLength      int  `json:"min,omitempty"`
	RequireSymbols             bool `json:"sym,omitempty"`
	RequireNumbers             bool `json:"num,omitempty"`
	RequireUppercaseCharacters bool `json:"up,omitempty"`
	RequireLowercaseCharacters bool `json:"low,omitempty"`
	AllowUsersToChangePassword bool `json:"change,omitempty"`
	MaxPasswordAge             int  `json:"age,omitempty"` // days; 0 for none
	PasswordReusePrevention    int  `json:"reuse,omitempty"`
	HardExpiry                 bool `json:"hard,omitempty"`
}

// MFADevice is a virtual MFA device: a TOTP seed (sealed with the master
// key) and, once enabled, its user.
type MFADevice struct {
	Serial    string // arn:aws:iam::<account>:mfa<path><name>
	Name      string
	Path      string
	User      string // the name of its user, "" while unassigned
	Seed      []byte // sealed
	CreatedAt time.Time
	EnabledAt time.Time
	LastStep  int64 // the last TOTP time step accepted: a code is good once
	Tags      []Tag
}
