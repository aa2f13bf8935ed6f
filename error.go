package iamd

import (
	"errors"
	"fmt"
)

// Kind classifies a domain error. Each wire protocol maps kinds to its own
// codes and HTTP statuses in one table (iamapi, stsapi, …).
type Kind int

const (
	// Internal is any failure the caller cannot fix; its cause is logged, never sent.
	Internal Kind = iota
	// NotFound: the named entity does not exist.
	NotFound
	// AlreadyExists: an entity with that name (compared case-insensitively) exists.
	AlreadyExists
	// LimitExceeded: a quota such as two access keys per user would be exceeded.
	LimitExceeded
	// Conflict: the entity cannot be deleted while it has dependents.
	Conflict
	// Invalid: a parameter fails its shape (pattern, length, range, required).
	Invalid
	// InvalidInput: a parameter is well-formed but not acceptable here.
	InvalidInput
	// AccessDenied: the caller is authenticated but not allowed to act.
	AccessDenied
	// Unavailable: a dependency (the database) is down; the request may be retried.
	Unavailable
)

// Error is a domain error. Message is safe to show to the client; it never
// holds a secret. Err is an optional cause for the log.
type Error struct {
	Kind    Kind
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error of the same kind, so that
// errors.Is(err, iamd.ErrNotFound) works for every message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Kind == e.Kind
}

// Sentinels for errors.Is.
var (
	ErrNotFound      = &Error{Kind: NotFound}
	ErrAlreadyExists = &Error{Kind: AlreadyExists}
	ErrLimitExceeded = &Error{Kind: LimitExceeded}
	ErrConflict      = &Error{Kind: Conflict}
	ErrInvalid       = &Error{Kind: Invalid}
	ErrInvalidInput  = &Error{Kind: InvalidInput}
	ErrAccessDenied  = &Error{Kind: AccessDenied}
	ErrUnavailable   = &Error{Kind: Unavailable}
)

// Errorf returns an *Error of the given kind with a client-safe message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of err, Internal for anything that is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// MessageOf returns the client-safe message of err, or "" if it has none.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

// Errors that every Store returns, worded once so that backends agree.

// UserNotFound is the NotFound error for a user name.
func UserNotFound(name string) *Error {
	return Errorf(NotFound, "The user with name %s cannot be found.", name)
}

// UserExists is the AlreadyExists error for a user name.
func UserExists(name string) *Error {
	return Errorf(AlreadyExists, "User with name %s already exists.", name)
}

// UserHasKeys is the Conflict error for deleting a user with access keys.
func UserHasKeys() *Error {
	return Errorf(Conflict, "Cannot delete entity, must delete access keys first.")
}

// KeyNotFound is the NotFound error for an access key ID.
func KeyNotFound(id string) *Error {
	return Errorf(NotFound, "The Access Key with id %s cannot be found.", id)
}

// KeyLimit is the LimitExceeded error for the per-owner key quota.
func KeyLimit(o Owner, limit int) *Error {
	if o.Kind == OwnerBucket {
		return Errorf(LimitExceeded, "You can have a maximum of %d access keys per bucket.", limit)
	}
	return Errorf(LimitExceeded, "Cannot exceed quota for AccessKeysPerUser: %d", limit)
}

// OwnerNotFound is the NotFound error for a key owner.
func OwnerNotFound(o Owner) *Error {
	if o.Kind == OwnerBucket {
		return BucketNotFound(o.Name)
	}
	return UserNotFound(o.Name)
}

// BucketNotFound is the NotFound error for a bucket name.
func BucketNotFound(name string) *Error {
	return Errorf(NotFound, "The bucket does not exist: %s", name)
}

// BucketExists is the AlreadyExists error for a bucket name.
func BucketExists(name string) *Error {
	return Errorf(AlreadyExists, "The bucket name %s is already in use.", name)
}

// BucketHasKeys is the Conflict error for deleting a bucket with access keys.
func BucketHasKeys(name string) *Error {
	return Errorf(Conflict, "The bucket %s has access keys. Delete them first, or set forceDelete to delete them with the bucket.", name)
}

// OperationNotFound is the NotFound error for an operation ID.
func OperationNotFound(id string) *Error {
	return Errorf(NotFound, "The operation does not exist: %s", id)
}

// BadMarker is the Invalid error for a marker the store did not issue.
func BadMarker() *Error {
	return Errorf(Invalid, "Invalid Marker.")
}
