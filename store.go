package iamd

import (
	"context"
	"time"
)

// Account is the one AWS account a store serves.
type Account struct {
	ID        string // 12 digits
	CreatedAt time.Time
	// KeyCheck is a value sealed with the master key on first start; a
	// node whose master key cannot open it must not serve the store.
	KeyCheck []byte
}

// Page asks for one page of a listing. Marker is opaque: the value a previous
// page returned, or "" for the first page.
type Page struct {
	Marker   string
	MaxItems int
}

// Store persists users and access keys. Every method is safe for concurrent
// use. Errors are *Error values with these kinds (test with errors.Is and the
// Err… sentinels); anything else is an internal failure, and Unavailable
// means the database could not be reached. Names are compared
// case-insensitively through FoldName and keep their spelling; listings are
// ordered by byte order of the key named and page without gaps or repeats
// while rows are added.
//
// A method that returns nil has made its change durable.
type Store interface {
	// Init prepares the store and returns the account it belongs to. On first
	// use it records a; later it returns what was recorded, whatever a is.
	// Of a Store made by In it records nothing and returns a with the ID
	// In named and the key check of the database.
	Init(ctx context.Context, a Account) (Account, error)
	// In returns the Store of the account of that ID, in the same
	// database: names are unique within an account, and nothing of
	// another account is found, listed, counted or changed through it.
	// Closing it releases nothing.
	In(account string) Store

	// CreateUser inserts u. AlreadyExists if a user of that folded name exists.
	CreateUser(ctx context.Context, u *User) error
	// GetUser returns the user of that (folded) name. NotFound if none.
	GetUser(ctx context.Context, name string) (*User, error)
	// ListUsers returns users whose path starts with pathPrefix, ordered by
	// folded name, and the marker of the next page ("" on the last page).
	// Invalid if the marker is not one this store returned.
	ListUsers(ctx context.Context, pathPrefix string, p Page) ([]*User, string, error)
	// DeleteUser deletes the user. NotFound if none; Conflict if it still
	// has access keys, inline or attached policies, or is in a group.
	DeleteUser(ctx context.Context, name string) error

	// CreateAccessKey inserts k for k.Owner and fills k.Owner.Name (and
	// k.UserID for a user) from the stored owner. NotFound if the owner is a
	// user or bucket that does not exist; LimitExceeded if the owner already
	// has limit keys; Conflict if a key of that ID exists or ever existed
	// (a deleted key is never created again). The
	// count and the insert are atomic: of N concurrent calls for an owner
	// with no keys, exactly limit succeed.
	CreateAccessKey(ctx context.Context, k *AccessKey, limit int) error
	// GetCredential returns the key with that ID and its owner, with its
	// last use. NotFound if none.
	GetCredential(ctx context.Context, accessKeyID string) (*Credential, error)
	// ListAccessKeys returns owner's keys, with their last use, ordered by
	// creation time, then ID. NotFound if the owner does not exist.
	ListAccessKeys(ctx context.Context, owner Owner, p Page) ([]*AccessKey, string, error)
	// UpdateAccessKey sets the status of owner's key; making it Inactive
	// sets its DisabledAt to at. NotFound if the owner or a key of that ID
	// belonging to it does not exist.
	UpdateAccessKey(ctx context.Context, owner Owner, accessKeyID string, status KeyStatus, at time.Time) error
	// DeleteAccessKey deletes owner's key. NotFound as for UpdateAccessKey.
	DeleteAccessKey(ctx context.Context, owner Owner, accessKeyID string) error
	// CreateBucket inserts b. AlreadyExists if a bucket of that name exists.
	CreateBucket(ctx context.Context, b *Bucket) error
	// GetBucket returns the bucket of that name. NotFound if none.
	GetBucket(ctx context.Context, name string) (*Bucket, error)
	// BucketAccount returns the account of the bucket of that name,
	// whichever account it is (bucket names are the deployment's).
	// NotFound if none.
	BucketAccount(ctx context.Context, name string) (string, error)
	// ListBuckets returns buckets ordered by name.
	ListBuckets(ctx context.Context, p Page) ([]*Bucket, string, error)
	// DeleteBucket deletes the bucket and returns the IDs of the access keys
	// deleted with it. NotFound if none; Conflict if it has access keys and
	// force is false.
	DeleteBucket(ctx context.Context, name string, force bool) ([]string, error)

	// PutOperation records op.
	PutOperation(ctx context.Context, op *Operation) error
	// GetOperation returns the operation of that ID. NotFound if none.
	GetOperation(ctx context.Context, id string) (*Operation, error)
	// ListOperations returns operations, newest first.
	ListOperations(ctx context.Context, p Page) ([]*Operation, string, error)

	// RecordKeyUse stores the last use of each key, keeping the later time
	// where the store already has one. Keys that no longer exist are skipped.
	RecordKeyUse(ctx context.Context, uses []KeyUse) error

	// UpdateUser reads the user, lets fn change its name, path or tags and
	// writes it back, atomically; its keys, groups and policies follow a
	// rename, and the old name is free at once. NotFound if none;
	// AlreadyExists if the new name is taken; fn's error, an *Error, is
	// returned.
	UpdateUser(ctx context.Context, name string, fn func(*User) error) error
	// UpdateBucket is UpdateUser for a bucket's bundle, tags and versioning.
	UpdateBucket(ctx context.Context, name string, fn func(*Bucket) error) error
	// CredentialRows calls fn for every user, by folded name, with its
	// access keys by creation time, streaming them from the database.
	CredentialRows(ctx context.Context, fn func(UserKeys) error) error
	// AccountCounts counts what GetAccountSummary reports.
	AccountCounts(ctx context.Context) (AccountCounts, error)
	// PutCredentialReport replaces the stored credential report;
	// GetCredentialReport returns it (with its content when asked), and
	// ErrNoReport if there is none.
	PutCredentialReport(ctx context.Context, r *CredentialReport) error
	// RewrapSecrets replaces every key's sealed secret with what rewrap
	// returns for it and the account's key check with keyCheck, in one
	// transaction; it returns how many secrets it rewrapped.
	RewrapSecrets(ctx context.Context, keyCheck []byte, rewrap func(id string, sealed []byte) ([]byte, error)) (int, error)
	GetCredentialReport(ctx context.Context, content bool) (*CredentialReport, error)

	PolicyStore

	// Ping checks that the database answers.
	Ping(ctx context.Context) error

	// Close releases the store.
	Close() error
}

// PolicyStore persists groups, customer-managed policies, and the policies
// attached to or embedded in users and groups. Users and groups are named
// (case-insensitively); managed policies by their case-insensitive name,
// which is unique whatever the path. Every change that can alter what a
// user may do (attaching, detaching, putting or deleting a policy, a new
// default version, group membership) is in the change log of stores that
// keep one (ChangeLog).
type PolicyStore interface {
	// CreateGroup inserts g. AlreadyExists if a group of that name exists.
	CreateGroup(ctx context.Context, g *Group) error
	// GetGroup returns the group. NotFound if none.
	GetGroup(ctx context.Context, name string) (*Group, error)
	// ListGroups lists groups whose path starts with pathPrefix, by folded name.
	ListGroups(ctx context.Context, pathPrefix string, p Page) ([]*Group, string, error)
	// UpdateGroup is UpdateUser for a group's name and path.
	UpdateGroup(ctx context.Context, name string, fn func(*Group) error) error
	// DeleteGroup deletes the group. NotFound if none; Conflict if it has
	// members, inline or attached policies.
	DeleteGroup(ctx context.Context, name string) error
	// AddUserToGroup makes the user a member; already being one is not an
	// error. NotFound if either does not exist; LimitExceeded if the user
	// is in limit groups already.
	AddUserToGroup(ctx context.Context, group, user string, limit int) error
	// RemoveUserFromGroup ends a membership. NotFound if the user, the group
	// or the membership does not exist.
	RemoveUserFromGroup(ctx context.Context, group, user string) error
	// ListGroupUsers lists a group's members by folded name. NotFound if
	// the group does not exist.
	ListGroupUsers(ctx context.Context, group string, p Page) ([]*User, string, error)
	// ListGroupsForUser lists the user's groups by folded name. NotFound if
	// the user does not exist.
	ListGroupsForUser(ctx context.Context, user string, p Page) ([]*Group, string, error)

	// CreatePolicy inserts p with doc as its default version v1.
	// AlreadyExists if a policy of that name exists.
	CreatePolicy(ctx context.Context, p *ManagedPolicy, doc string) error
	// GetPolicy returns the customer-managed policy of that name, with its
	// attachment count. NotFound if none.
	GetPolicy(ctx context.Context, name string) (*ManagedPolicy, error)
	// ListPolicies lists the customer-managed policies f selects, by
	// folded name, with their attachment and boundary counts.
	ListPolicies(ctx context.Context, f PolicyFilter, p Page) ([]*ManagedPolicy, string, error)
	// UpdatePolicyTags replaces the tags of a customer-managed policy with
	// what fn returns for the current ones, atomically. NotFound if none.
	UpdatePolicyTags(ctx context.Context, name string, fn func([]Tag) ([]Tag, error)) error
	// DeletePolicy deletes the policy and its default version. NotFound if
	// none; Conflict if it is attached or has other versions.
	DeletePolicy(ctx context.Context, name string) error
	// CreatePolicyVersion adds a version numbered after every version the
	// policy ever had, and makes it the default when setDefault. NotFound
	// if the policy does not exist; LimitExceeded if it has limit versions.
	CreatePolicyVersion(ctx context.Context, name, doc string, setDefault bool, at time.Time, limit int) (*PolicyVersion, error)
	// GetPolicyVersion returns one version. NotFound if the policy or the
	// version does not exist.
	GetPolicyVersion(ctx context.Context, name, version string) (*PolicyVersion, error)
	// ListPolicyVersions returns the policy's versions, newest first.
	// NotFound if the policy does not exist.
	ListPolicyVersions(ctx context.Context, name string) ([]*PolicyVersion, error)
	// DeletePolicyVersion deletes a version. NotFound as for
	// GetPolicyVersion; Conflict if it is the default version.
	DeletePolicyVersion(ctx context.Context, name, version string) error
	// SetDefaultPolicyVersion makes a version the default. NotFound as for
	// GetPolicyVersion.
	SetDefaultPolicyVersion(ctx context.Context, name, version string, at time.Time) error

	// AttachPolicy attaches a managed policy to e; being attached already
	// (by policy ID, under any ARN) is not an error. A customer-managed policy (one whose ID the store
	// holds) must exist, else NotFound; AWS-managed policies are not in the
	// store and are attached by ID and ARN alone. NotFound if e does not
	// exist; LimitExceeded if e has limit policies attached.
	AttachPolicy(ctx context.Context, e Entity, p AttachedPolicy, limit int) error
	// DetachPolicy detaches the policy of that ARN. NotFound if e does not
	// exist or the policy is not attached to it.
	DetachPolicy(ctx context.Context, e Entity, arn string) error
	// ListAttachedPolicies lists the policies attached to e, by ARN; those
	// whose path starts with pathPrefix. NotFound if e does not exist.
	ListAttachedPolicies(ctx context.Context, e Entity, pathPrefix string, p Page) ([]AttachedPolicy, string, error)
	// ListEntitiesForPolicy lists the users and groups the policy of that
	// ID is attached to, users first, each by folded name; kind, when not
	// nil, keeps one kind only, and pathPrefix filters by entity path.
	ListEntitiesForPolicy(ctx context.Context, policyID string, kind *EntityKind, pathPrefix string, p Page) ([]EntityInfo, string, error)
	// CountAttachments returns how many entities the policy of that ID is
	// attached to.
	CountAttachments(ctx context.Context, policyID string) (int, error)
	// CountBoundaryUses returns how many users and roles have the policy
	// of that ARN as their permissions boundary.
	CountBoundaryUses(ctx context.Context, arn string) (int, error)

	// PutInlinePolicy creates or replaces e's inline policy of that name.
	// NotFound if e does not exist; LimitExceeded if the sizes of all of
	// e's inline policies, this one's new size included, exceed limit.
	PutInlinePolicy(ctx context.Context, e Entity, name, doc string, limit int) error
	// GetInlinePolicy returns e's inline policy. NotFound if e or the
	// policy does not exist.
	GetInlinePolicy(ctx context.Context, e Entity, name string) (*InlinePolicy, error)
	// DeleteInlinePolicy deletes e's inline policy. NotFound as for Get.
	DeleteInlinePolicy(ctx context.Context, e Entity, name string) error
	// ListInlinePolicies lists the names of e's inline policies, by folded
	// name. NotFound if e does not exist.
	ListInlinePolicies(ctx context.Context, e Entity, p Page) ([]string, string, error)

	// CreateRole inserts r. AlreadyExists if a role of that name exists.
	CreateRole(ctx context.Context, r *Role) error
	// GetRole returns the role. NotFound if none.
	GetRole(ctx context.Context, name string) (*Role, error)
	// ListRoles lists roles whose path starts with pathPrefix, by folded name.
	ListRoles(ctx context.Context, pathPrefix string, p Page) ([]*Role, string, error)
	// UpdateRole reads the role, lets fn change its description, trust
	// policy, session duration or tags, and writes it back, atomically.
	// NotFound if none; fn's error, an *Error, is returned.
	UpdateRole(ctx context.Context, name string, fn func(*Role) error) error
	// DeleteRole deletes the role. NotFound if none; Conflict if it has
	// inline or attached policies.
	DeleteRole(ctx context.Context, name string) error
	// RolePolicies returns the role's inline and attached policies, as
	// UserPolicies does. NotFound if the role does not exist.
	RolePolicies(ctx context.Context, role string) ([]PolicySource, error)

	// CreateOIDCProvider inserts p. AlreadyExists if a provider of its URL
	// exists.
	CreateOIDCProvider(ctx context.Context, p *OIDCProvider) error
	// GetOIDCProvider returns the provider of url (host and path, without
	// https://). NotFound if none.
	GetOIDCProvider(ctx context.Context, url string) (*OIDCProvider, error)
	// ListOIDCProviders returns every provider, by URL.
	ListOIDCProviders(ctx context.Context) ([]*OIDCProvider, error)
	// UpdateOIDCProvider reads the provider, lets fn change its client
	// IDs, thumbprints or tags, and writes it back, atomically. NotFound if
	// none; fn's error is returned.
	UpdateOIDCProvider(ctx context.Context, url string, fn func(*OIDCProvider) error) error
	// DeleteOIDCProvider deletes the provider. NotFound if none.
	DeleteOIDCProvider(ctx context.Context, url string) error

	// CreateInstanceProfile inserts p (without a role). AlreadyExists if a
	// profile of that name exists.
	CreateInstanceProfile(ctx context.Context, p *InstanceProfile) error
	// GetInstanceProfile returns the profile of that (folded) name, with
	// its role's name. NotFound if none.
	GetInstanceProfile(ctx context.Context, name string) (*InstanceProfile, error)
	// ListInstanceProfiles lists profiles whose path starts with
	// pathPrefix, by folded name; role, when not "", keeps those holding
	// that role (NotFound if no such role).
	ListInstanceProfiles(ctx context.Context, pathPrefix, role string, p Page) ([]*InstanceProfile, string, error)
	// UpdateInstanceProfileTags lets fn change the profile's tags.
	// NotFound if none.
	UpdateInstanceProfileTags(ctx context.Context, name string, fn func([]Tag) ([]Tag, error)) error
	// SetInstanceProfileRole puts role into the profile (LimitExceeded if
	// it holds one already), or with add false takes it out (NotFound if
	// it does not hold it). NotFound if the profile or role does not exist.
	SetInstanceProfileRole(ctx context.Context, profile, role string, add bool) error
	// DeleteInstanceProfile deletes the profile. NotFound if none;
	// Conflict if it holds a role.
	DeleteInstanceProfile(ctx context.Context, name string) error

	// GetLoginProfile returns the user's login profile. NotFound if the
	// user or its profile does not exist.
	GetLoginProfile(ctx context.Context, user string) (*LoginProfile, error)
	// PutLoginProfile creates (create: AlreadyExists if one exists) or
	// changes (NotFound if none) the user's login profile: fn fills it in.
	// NotFound if the user does not exist.
	PutLoginProfile(ctx context.Context, user string, create bool, fn func(*LoginProfile) error) error
	// DeleteLoginProfile deletes it. NotFound if none.
	DeleteLoginProfile(ctx context.Context, user string) error
	// GetPasswordPolicy returns the account's password policy. NotFound if
	// none is set.
	GetPasswordPolicy(ctx context.Context) (*PasswordPolicy, error)
	// PutPasswordPolicy sets it, or with nil deletes it (NotFound if none).
	PutPasswordPolicy(ctx context.Context, p *PasswordPolicy) error
	// CreateMFADevice inserts d, unassigned. AlreadyExists if a device of
	// that name exists.
	CreateMFADevice(ctx context.Context, d *MFADevice) error
	// GetMFADevice returns the device of that serial number. NotFound if
	// none.
	GetMFADevice(ctx context.Context, serial string) (*MFADevice, error)
	// ListMFADevices lists devices by serial number: user's when user is
	// not "" (NotFound if no such user), else all, or with assigned set,
	// those assigned or not.
	ListMFADevices(ctx context.Context, user string, assigned *bool) ([]*MFADevice, error)
	// UpdateMFADevice lets fn change the device's user, enable time, last
	// step or tags, atomically. NotFound if none, or if fn names a user
	// that does not exist.
	UpdateMFADevice(ctx context.Context, serial string, fn func(*MFADevice) error) error
	// DeleteMFADevice deletes it. NotFound if none; Conflict if assigned.
	DeleteMFADevice(ctx context.Context, serial string) error

	// AccountAlias returns the account's alias, "" for none.
	AccountAlias(ctx context.Context) (string, error)
	// AliasAccount returns the ID of the account, of any in the database,
	// whose alias alias is. NotFound if none.
	AliasAccount(ctx context.Context, alias string) (string, error)
	// SetAccountAlias sets it, or with "" removes it.
	SetAccountAlias(ctx context.Context, alias string) error

	// Organization returns the account's organization (package
	// organizations) as the document that package keeps; nil if none.
	Organization(ctx context.Context) ([]byte, error)
	// UpdateOrganization replaces that document with what fn returns for
	// the current one (nil: none), atomically; nil from fn deletes it.
	// Conflict if another update created it meanwhile.
	UpdateOrganization(ctx context.Context, fn func([]byte) ([]byte, error)) error

	// UserPolicies returns every policy that applies to the user: its
	// inline and attached policies and those of its groups, attached ones
	// with the document of their default version. NotFound if the user
	// does not exist.
	UserPolicies(ctx context.Context, user string) ([]PolicySource, error)
}

// Changes are what a Replica tells its subscribers of the changes it
// applies.
type Changes struct {
	// Key is called with the ID of each access key updated or deleted, or
	// whose owner changed.
	Key func(id string)
	// Policies is called when what some user or role may do may have
	// changed (a policy, a group, a membership, a role).
	Policies func()
	// Reset is called when anything may have changed (the replica was
	// loaded again in full).
	Reset func()
}
