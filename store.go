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
	Init(ctx context.Context, a Account) (Account, error)

	// CreateUser inserts u. AlreadyExists if a user of that folded name exists.
	CreateUser(ctx context.Context, u *User) error
	// GetUser returns the user of that (folded) name. NotFound if none.
	GetUser(ctx context.Context, name string) (*User, error)
	// ListUsers returns users whose path starts with pathPrefix, ordered by
	// folded name, and the marker of the next page ("" on the last page).
	// Invalid if the marker is not one this store returned.
	ListUsers(ctx context.Context, pathPrefix string, p Page) ([]*User, string, error)
	// DeleteUser deletes the user. NotFound if none; Conflict if it still
	// has access keys.
	DeleteUser(ctx context.Context, name string) error

	// CreateAccessKey inserts k for k.Owner and fills k.Owner.Name (and
	// k.UserID for a user) from the stored owner. NotFound if the owner is a
	// user or bucket that does not exist; LimitExceeded if the owner already has limit keys. The
	// count and the insert are atomic: of N concurrent calls for an owner
	// with no keys, exactly limit succeed.
	CreateAccessKey(ctx context.Context, k *AccessKey, limit int) error
	// GetCredential returns the key with that ID and its owner, with its
	// last use. NotFound if none.
	GetCredential(ctx context.Context, accessKeyID string) (*Credential, error)
	// ListAccessKeys returns owner's keys, with their last use, ordered by
	// creation time, then ID. NotFound if the owner does not exist.
	ListAccessKeys(ctx context.Context, owner Owner, p Page) ([]*AccessKey, string, error)
	// UpdateAccessKey sets the status of owner's key. NotFound if the owner
	// or a key of that ID belonging to it does not exist.
	UpdateAccessKey(ctx context.Context, owner Owner, accessKeyID string, status KeyStatus) error
	// DeleteAccessKey deletes owner's key. NotFound as for UpdateAccessKey.
	DeleteAccessKey(ctx context.Context, owner Owner, accessKeyID string) error
	// CreateBucket inserts b. AlreadyExists if a bucket of that name exists.
	CreateBucket(ctx context.Context, b *Bucket) error
	// GetBucket returns the bucket of that name. NotFound if none.
	GetBucket(ctx context.Context, name string) (*Bucket, error)
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

	// Close releases the store.
	Close() error
}

// KeyWatcher is implemented by stores that several iamd nodes share. A
// node caches credentials; the watcher tells it when another node changed
// or deleted a key, so that revocation spreads at once rather than when
// the cache entry expires.
type KeyWatcher interface {
	// WatchKeys calls changed with the ID of each access key that is
	// updated or deleted, by any node, and reset whenever changes may have
	// been missed (the watch was lost and re-established). It returns when
	// ctx is done.
	WatchKeys(ctx context.Context, changed func(id string), reset func())
}
