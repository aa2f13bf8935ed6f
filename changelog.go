package iamd

import (
	"context"
	"time"
)

// Every change that decisions depend on is logged by the store in the
// transaction that makes it, one entry per entity changed, under a
// sequence number that orders entries as their transactions committed
// (contiguous: seq N committed means every entry before it did). A node's
// replica (package replica) loads what decisions read once, then follows
// the log from the last entry it applied: reading the entries after it
// and, in the same consistent view, the current state of the entities they
// name. Nothing is carried in an entry but what changed, so a replica
// cannot apply a change other than as the database holds it.

// ChangeKind names what a log entry changed.
type ChangeKind string

const (
	ChangeKey    ChangeKind = "key"    // an access key, by its ID
	ChangeUser   ChangeKind = "user"   // a user, its groups or its policies, by the user's ID
	ChangeGroup  ChangeKind = "group"  // a group or its policies
	ChangeRole   ChangeKind = "role"   // a role, its trust or its policies
	ChangePolicy ChangeKind = "policy" // a managed policy or its default version
	ChangeBucket ChangeKind = "bucket" // a Lightsail bucket
	// ChangeProvider is an OpenID Connect provider, by its ID.
	ChangeProvider ChangeKind = "provider"
	// ChangeOrganization is the organization's document (package
	// organizations): its accounts and service control policies.
	ChangeOrganization ChangeKind = "organization"
	// ChangeAll: anything may have changed (the master key was rotated);
	// replicas load everything again.
	ChangeAll ChangeKind = "all"
)

// LogEntry is one entry of the change log.
type LogEntry struct {
	Seq  int64
	Kind ChangeKind
	ID   string
	At   time.Time // when the change was written
}

// KeyRecord is an access key as decisions need it: whose it is, its
// status and its sealed secret.
type KeyRecord struct {
	ID           string
	Owner        OwnerKind
	OwnerID      string // the user's or the bucket's ID; the account's for the root
	Status       KeyStatus
	CreatedAt    time.Time
	DisabledAt   time.Time
	SealedSecret []byte
}

// Attachments are a user's, group's or role's own policies: inline, and
// attached managed ones.
type Attachments struct {
	Inline   []InlinePolicy
	Attached []AttachedPolicy
}

// UserRecord is a user with its groups (by ID) and policies.
type UserRecord struct {
	User
	Account string
	Groups  []string
	Attachments
}

// GroupRecord is a group with its policies.
type GroupRecord struct {
	Group
	Account string
	Attachments
}

// RoleRecord is a role with its policies.
type RoleRecord struct {
	Role
	Account string
	Attachments
}

// PolicyRecord is a customer-managed policy with the document of its
// default version.
type PolicyRecord struct {
	ManagedPolicy
	Account  string
	Document string
}

// Records are the entities decisions read, as the database holds them.
type Records struct {
	Keys      []*KeyRecord
	Users     []*UserRecord
	Groups    []*GroupRecord
	Roles     []*RoleRecord
	Policies  []*PolicyRecord
	Buckets   []*Bucket
	Providers []*OIDCProvider
	// Organization is the organization's document: in full, and in a
	// delta whose entries name it (nil there: it was deleted).
	Organization []byte
}

// Snapshot is everything decisions read, in one consistent view of the
// database, current to log entry Seq.
type Snapshot struct {
	Epoch   string // the log's identity (a new database, or one restored, has another)
	Seq     int64
	Account Account
	Records
}

// Delta is what changed after a position, read in one consistent view:
// the entries after it (at most as many as asked, in order), and the
// current records of every entity they name. An entity named and absent
// from the records was deleted. The records may be newer than the last
// entry read; applying them again later is harmless.
type Delta struct {
	Epoch   string
	Account Account // as recorded (zero before the store's first Init)
	Entries []LogEntry
	// Last is the newest entry in the database when the delta was read
	// (0 for an empty log); Entries may stop before it.
	Last int64
	// Base is the entry at the position asked from, as the database holds
	// it now (nil when pruned, or for position 0): a replica that applied
	// another entry under that number (one a failover lost) loads in full.
	Base *LogEntry
	Records
}

// ChangeLog is implemented by stores that log their changes.
type ChangeLog interface {
	// Snapshot reads everything decisions need.
	Snapshot(ctx context.Context) (*Snapshot, error)
	// ChangesSince reads the entries after seq, at most max of them.
	ChangesSince(ctx context.Context, seq int64, max int) (*Delta, error)
	// OnCommit has fn called after every commit that logged entries,
	// before the write returns to its caller, with a Delta of those entries
	// and the records of what they name, read in the writing transaction
	// (Epoch and Last unset): the node that wrote makes its replica
	// current before answering (read-your-writes), without reading the
	// log back when nothing else came between.
	OnCommit(fn func(ctx context.Context, d *Delta))
}

// ChangeNotifier is implemented by stores that other nodes write too: it
// calls wake whenever the log may have grown (PostgreSQL's NOTIFY), until
// ctx ends. A wake-up is only a hint: replicas poll as well.
type ChangeNotifier interface {
	NotifyChanges(ctx context.Context, wake func())
}

// View is what authentication and authorization read: a node's replica
// (package replica), or a store itself. Its reads answer as the store's
// do; a replica's fail with Unavailable when it is staler than allowed.
type View interface {
	GetCredential(ctx context.Context, accessKeyID string) (*Credential, error)
	GetUser(ctx context.Context, name string) (*User, error)
	GetGroup(ctx context.Context, name string) (*Group, error)
	GetRole(ctx context.Context, name string) (*Role, error)
	GetBucket(ctx context.Context, name string) (*Bucket, error)
	// BucketAccount returns the account whose bucket of that name is,
	// whichever account it is: bucket names are the deployment's.
	// NotFound if no account has one.
	BucketAccount(ctx context.Context, name string) (string, error)
	GetPolicy(ctx context.Context, name string) (*ManagedPolicy, error)
	// GetPolicyVersion of a replica knows the default version only.
	GetPolicyVersion(ctx context.Context, name, version string) (*PolicyVersion, error)
	UserPolicies(ctx context.Context, user string) ([]PolicySource, error)
	RolePolicies(ctx context.Context, role string) ([]PolicySource, error)
	GetOIDCProvider(ctx context.Context, url string) (*OIDCProvider, error)
}

// Replica is a View kept current from the change log, which tells of the
// changes it applies and of its state.
type Replica interface {
	View
	// Account is the account of the data it holds.
	Account() Account
	// Subscribe has c told of every change applied: the keys changed
	// (also those whose owner changed), that policies may have changed,
	// or, on a reload, that anything may have.
	Subscribe(c Changes)
	// Status says how current it is.
	Status() ReplicaStatus
	// In returns the replica of the account of that ID, of the same
	// data: its reads find nothing of another account.
	In(account string) Replica
}

// ReplicaStatus is how current a node's replica is.
type ReplicaStatus struct {
	Seq    int64     // the last log entry applied
	Synced time.Time // when the database last confirmed it current
	// Err is why the database could not be read at the last try (nil:
	// it could).
	Err error
	// Stale: the replica is older than allowed; decisions are refused.
	Stale    bool
	MaxStale time.Duration // 0: no bound
	// Lag is how long the last entry applied took from its commit to
	// here.
	Lag time.Duration
}
