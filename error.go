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
	// MalformedPolicy: a policy document is not valid or uses what iamd does not evaluate.
	MalformedPolicy
	// ExpiredToken: temporary credentials past their expiry.
	ExpiredToken
	// InvalidIdentityToken: an identity provider's token that does not
	// verify (signature, issuer, audience, times, form).
	InvalidIdentityToken
	// ExpiredIdentityToken: an identity provider's token past its expiry.
	ExpiredIdentityToken
	// IDPRejectedClaim: the provider's token is valid, but a claim it
	// makes cannot be accepted.
	IDPRejectedClaim
	// IDPCommunication: the identity provider's keys could not be had.
	IDPCommunication
	// PasswordPolicyViolation: a password the account's policy refuses.
	PasswordPolicyViolation
	// InvalidAuthenticationCode: an MFA code that is not the device's.
	InvalidAuthenticationCode
	// There is no EntityTemporarilyUnmodifiable: AWS answers it while a
	// change is still spreading through its eventually consistent store;
	// iamd's changes are transactional and visible at once.
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
	ErrMalformed     = &Error{Kind: MalformedPolicy}
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

// KeyDeleted is the Conflict error for creating a key whose ID was
// deleted: a deleted key is never created again.
func KeyDeleted(id string) *Error {
	return Errorf(Conflict, "Access key %s was deleted; a deleted key is never created again.", id)
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

// EntityNotFound is the NotFound error for a user or group name.
func EntityNotFound(e Entity) *Error {
	switch e.Kind {
	case EntityGroup:
		return GroupNotFound(e.Name)
	case EntityRole:
		return RoleNotFound(e.Name)
	}
	return UserNotFound(e.Name)
}

// RoleNotFound is the NotFound error for a role name.
func RoleNotFound(name string) *Error {
	return Errorf(NotFound, "The role with name %s cannot be found.", name)
}

// OIDCProviderNotFound is the NotFound error for a provider's ARN.
func OIDCProviderNotFound(arn string) *Error {
	return Errorf(NotFound, "OpenIDConnect Provider not found for arn %s", arn)
}

// OIDCProviderExists is the AlreadyExists error for a provider's URL.
func OIDCProviderExists(url string) *Error {
	return Errorf(AlreadyExists, "Provider with url https://%s already exists.", url)
}

// RoleExists is the AlreadyExists error for a role name.
// InstanceProfileNotFound is the NotFound error for an instance profile.
func InstanceProfileNotFound(name string) *Error {
	return Errorf(NotFound, "Instance Profile %s cannot be found.", name)
}

// InstanceProfileExists is the AlreadyExists error for an instance profile.
func InstanceProfileExists(name string) *Error {
	return Errorf(AlreadyExists, "Instance Profile %s already exists.", name)
}

func RoleExists(name string) *Error {
	return Errorf(AlreadyExists, "Role with name %s already exists.", name)
}

// GroupNotFound is the NotFound error for a group name.
func GroupNotFound(name string) *Error {
	return Errorf(NotFound, "The group with name %s cannot be found.", name)
}

// GroupExists is the AlreadyExists error for a group name.
func GroupExists(name string) *Error {
	return Errorf(AlreadyExists, "Group with name %s already exists.", name)
}

// PolicyNotFound is the NotFound error for a managed policy's ARN.
func PolicyNotFound(arn string) *Error {
	return Errorf(NotFound, "Policy %s does not exist or is not attachable.", arn)
}

// PolicyExists is the AlreadyExists error for a managed policy's name.
func PolicyExists(name string) *Error {
	return Errorf(AlreadyExists, "A policy called %s already exists. Duplicate names are not allowed.", name)
}

// PolicyVersionNotFound is the NotFound error for a policy version.
func PolicyVersionNotFound(arn, version string) *Error {
	return Errorf(NotFound, "Policy %s version %s does not exist or is not attachable.", arn, version)
}

// InlinePolicyNotFound is the NotFound error for an inline policy.
func InlinePolicyNotFound(e Entity, name string) *Error {
	kind := "user"
	switch e.Kind {
	case EntityGroup:
		kind = "group"
	case EntityRole:
		kind = "role"
	}
	return Errorf(NotFound, "The %s policy with name %s cannot be found.", kind, name)
}

// NotAttached is the NotFound error for detaching a policy that is not attached.
func NotAttached(arn string) *Error {
	return Errorf(NotFound, "Policy %s was not found.", arn)
}

// Conflicts of deleting an entity that still has dependents.
var (
	ErrMustDetach         = Errorf(Conflict, "Cannot delete entity, must detach all policies first.")
	ErrMustDeletePolicies = Errorf(Conflict, "Cannot delete entity, must delete policies first.")
	ErrMustLeaveGroups    = Errorf(Conflict, "Cannot delete entity, must remove user from all groups first.")
	ErrGroupHasUsers      = Errorf(Conflict, "Cannot delete entity, must remove users from group first.")
	ErrRoleInProfile      = Errorf(Conflict, "Cannot delete entity, must remove roles from instance profile first.")
	ErrMustDeleteLogin    = Errorf(Conflict, "Cannot delete entity, must delete login profile first.")
	ErrMustDeleteMFA      = Errorf(Conflict, "Cannot delete entity, must delete MFA device first.")
	ErrMFAInUse           = Errorf(Conflict, "MFA device is still in use.")
	ErrNoPasswordPolicy   = Errorf(NotFound, "The Password Policy with domain name %s cannot be found.", "this account")
	ErrPolicyAttached     = Errorf(Conflict, "Cannot delete a policy attached to entities.")
	ErrPolicyHasVersions  = Errorf(Conflict, "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	ErrDefaultVersion     = Errorf(Conflict, "Cannot delete the default version of a policy.")
)

// LimitError is the LimitExceeded error for one of IAM's quotas.
// InlineSizeExceeded is the LimitExceeded error for inline policies whose
// sizes together pass limit.
func InlineSizeExceeded(e Entity, limit int) *Error {
	what := "user"
	switch e.Kind {
	case EntityGroup:
		what = "group"
	case EntityRole:
		what = "role"
	}
	return Errorf(LimitExceeded, "Maximum policy size of %d bytes exceeded for %s %s", limit, what, e.Name)
}

func LimitError(quota string, limit int) *Error {
	return Errorf(LimitExceeded, "Cannot exceed quota for %s: %d", quota, limit)
}
