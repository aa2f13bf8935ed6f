// Package iamd holds the domain of an AWS-compatible access-key service:
// users, access keys and callers, the Store interface every backend
// implements, and Service, the rules that sit above the store (key format,
// the two-key limit, authorization, last-used tracking, secrets sealed at rest).
//
// It depends on the standard library and its own pure packages only (policy,
// sigv4). Wire protocols (Query/XML, JSON 1.1, the object gateway's) and
// storage engines are packages around it.
package iamd

import (
	"strings"
	"time"
)

// MaxAccessKeysPerOwner is AWS's quota: two access keys per user, Active or
// Inactive alike.
const MaxAccessKeysPerOwner = 2

// Tag is a user tag.
type Tag struct {
	Key   string
	Value string
}

// User is an IAM user.
type User struct {
	ID        string // AIDA…
	Name      string // as created; unique case-insensitively
	Path      string // "/" or "/a/b/"
	CreatedAt time.Time
	Tags      []Tag
	// Boundary is the ARN of the managed policy that bounds what the
	// user's identity policies can grant ("" for none).
	Boundary string `json:",omitempty"`
}

// ARN returns arn:aws:iam::<account>:user<path><name>.
func (u *User) ARN(account string) string {
	return "arn:aws:iam::" + account + ":user" + u.Path + u.Name
}

// FoldName is the key under which names are unique: IAM names are ASCII
// (the pattern [\w+=,.@-]), so lower-casing ASCII is the whole rule.
func FoldName(name string) string { return strings.ToLower(name) }

// KeyStatus is an access key's status.
type KeyStatus string

const (
	StatusActive   KeyStatus = "Active"
	StatusInactive KeyStatus = "Inactive"
	// StatusExpired: an IAM user's key older than the account's maximum
	// key age (Config.MaxKeyAge). It authenticates nothing and cannot be
	// made Active again; it can be deleted.
	StatusExpired KeyStatus = "Expired"
)

// OwnerKind says who an access key belongs to.
type OwnerKind int

const (
	OwnerUser OwnerKind = iota
	OwnerRoot
	OwnerBucket
)

// Owner names the holder of access keys: an IAM user or a bucket by name,
// or the root.
type Owner struct {
	Kind OwnerKind
	Name string // user names match case-insensitively, bucket names exactly
}

// RootOwner is the account's root user.
var RootOwner = Owner{Kind: OwnerRoot}

// UserOwner is the IAM user with the given name.
func UserOwner(name string) Owner { return Owner{Kind: OwnerUser, Name: name} }

// BucketOwner is the bucket with the given name.
func BucketOwner(name string) Owner { return Owner{Kind: OwnerBucket, Name: name} }

// Bucket is a Lightsail-style bucket: a name its access keys are scoped to.
type Bucket struct {
	ID          string // UUID, as in the bucket's ARN
	Name        string
	BundleID    string
	CreatedAt   time.Time
	Tags        []Tag
	Versioning  bool
	PrincipalID string // AIDA…: the identity its access keys sign as
	Account     string // the account it belongs to; its name is the deployment's
}

// ARN returns the bucket's ARN, arn:aws:lightsail:<region>:<account>:Bucket/<ID>.
// It is also the identity its access keys sign as: no IAM user can have
// an ARN of the lightsail service, and a bucket made again under the same
// name has another ID.
func (b *Bucket) ARN(region, account string) string {
	return "arn:aws:lightsail:" + region + ":" + account + ":Bucket/" + b.ID
}

// Operation records a Lightsail change. iamd's changes are synchronous, so
// every operation has Succeeded by the time it is returned.
type Operation struct {
	ID           string // UUID
	ResourceName string
	ResourceType string // "Bucket"
	Type         string // CreateBucket, DeleteBucket, CreateBucketAccessKey, DeleteBucketAccessKey
	CreatedAt    time.Time
}

// AccessKey is a long-term credential. SealedSecret is the secret encrypted
// with the service's Sealer; the plaintext lives only in memory.
type AccessKey struct {
	ID           string // AKIA…
	Owner        Owner  // Name filled with the stored spelling
	UserID       string // AIDA… for OwnerUser
	Status       KeyStatus
	CreatedAt    time.Time
	SealedSecret []byte
	LastUsed     LastUsed
	// DisabledAt is when the key was last made Inactive (zero: never):
	// sessions it asked for before then are refused for good.
	DisabledAt time.Time
}

// LastUsed is when and where a key last authenticated a request.
// The zero value means never.
type LastUsed struct {
	At      time.Time
	Region  string
	Service string
}

// KeyUse is one recorded use of a key, as flushed to the store.
type KeyUse struct {
	AccessKeyID string
	LastUsed
}

// Credential is what authentication needs for a key: the key and its
// owner, a User or a Bucket (both nil for the root).
type Credential struct {
	Key    AccessKey
	User   *User
	Bucket *Bucket
}

// CallerKind says what sort of principal signed a request.
type CallerKind int

const (
	CallerRoot CallerKind = iota
	CallerUser
	CallerBucket // a bucket access key: STS and its bucket only
	CallerRole   // a role's session (sts:AssumeRole)
)

// Caller is an authenticated principal.
type Caller struct {
	Kind        CallerKind
	Account     string
	Region      string // the service's, which a bucket's ARN names
	AccessKeyID string
	User        *User   // for CallerUser
	Bucket      *Bucket // for CallerBucket
	Role        *Role   // for CallerRole
	// Session is set for temporary credentials: a role's session, or a
	// user's or the root's from GetSessionToken.
	Session *Session
	Request RequestInfo
}

// ARN is the caller's ARN as GetCallerIdentity answers it.
func (c *Caller) ARN() string {
	switch c.Kind {
	case CallerUser:
		return c.User.ARN(c.Account)
	case CallerBucket:
		return c.Bucket.ARN(c.Region, c.Account)
	case CallerRole:
		return "arn:aws:sts::" + c.Account + ":assumed-role/" + c.Role.Name + "/" + c.Session.Name
	}
	return "arn:aws:iam::" + c.Account + ":root"
}

// UserID is the caller's unique ID: the user's or bucket principal's AIDA…
// ID, or the account ID for the root.
func (c *Caller) UserID() string {
	switch c.Kind {
	case CallerUser:
		return c.User.ID
	case CallerBucket:
		return c.Bucket.PrincipalID
	case CallerRole:
		return c.Role.ID + ":" + c.Session.Name
	}
	return c.Account
}
