package iamd

import (
	"context"
	"time"
)

// UserKeys is a user with its access keys, as the credential report reads them.
type UserKeys struct {
	User User
	Keys []AccessKey // by creation time
	// PasswordChanged is when its console password was last set; zero
	// without one. MFA says whether it has an MFA device enabled.
	PasswordChanged time.Time
	PasswordUsed    time.Time // its last console sign-in; zero if never
	MFA             bool
}

// AccountCounts are what GetAccountSummary counts.
type AccountCounts struct {
	Users, Groups, Policies, PolicyVersions, Roles, RootKeys int
}

// CredentialReport is a generated credential report: CSV.
type CredentialReport struct {
	GeneratedAt time.Time
	Content     []byte
}

// ErrNoReport is the answer for a credential report that was never generated.
var ErrNoReport = &Error{Kind: NotFound, Message: "no credential report"}

// keyStatus is a key's status with the maximum key age applied: an IAM
// user's key older than it is Expired, whatever is stored.
func (s *Service) keyStatus(owner OwnerKind, stored KeyStatus, created time.Time) KeyStatus {
	if s.maxKeyAge > 0 && owner == OwnerUser && s.now().Sub(created) > s.maxKeyAge {
		return StatusExpired
	}
	return stored
}

// credStatus is keyStatus for a cached credential.
func (s *Service) credStatus(c *CachedCredential) KeyStatus {
	owner := OwnerRoot
	switch c.Caller.Kind {
	case CallerUser:
		owner = OwnerUser
	case CallerBucket:
		owner = OwnerBucket
	}
	return s.keyStatus(owner, c.Status, c.Created)
}

// ---- updates and tags ----

// UpdateUser renames a user or changes its path (nil leaves either as it
// is). As in AWS the caller needs iam:UpdateUser on the user both as it
// is and as it will be. Its keys, groups and policies follow; every
// node drops what it cached of the user.
func (s *Service) UpdateUser(ctx context.Context, c *Caller, name string, newName, newPath *string) error {
	if err := s.authorize(ctx, c, "iam:UpdateUser", s.userARN(ctx, c, name)); err != nil {
		return err
	}
	if newName != nil || newPath != nil {
		u, err := s.store.GetUser(ctx, name)
		if err != nil {
			return err
		}
		target := *u
		if newName != nil {
			target.Name = *newName
		}
		if newPath != nil {
			target.Path = *newPath
		}
		if err := s.authorize(ctx, c, "iam:UpdateUser", on(target.ARN(s.account.ID))); err != nil {
			return err
		}
	}
	defer s.forgetAll()
	defer s.forgetPolicies()
	return s.store.UpdateUser(ctx, name, func(u *User) error {
		if newName != nil {
			u.Name = *newName
		}
		if newPath != nil {
			u.Path = *newPath
		}
		return nil
	})
}

// UpdateGroup renames a group or changes its path.
func (s *Service) UpdateGroup(ctx context.Context, c *Caller, name string, newName, newPath *string) error {
	if err := s.authorize(ctx, c, "iam:UpdateGroup", s.groupARN(ctx, c, name)); err != nil {
		return err
	}
	defer s.forgetPolicies()
	return s.store.UpdateGroup(ctx, name, func(g *Group) error {
		if newName != nil {
			g.Name = *newName
		}
		if newPath != nil {
			g.Path = *newPath
		}
		return nil
	})
}

// CheckTagKeys refuses keys in AWS's reserved aws: namespace.
func CheckTagKeys(tags []Tag) error {
	for _, t := range tags {
		if len(t.Key) >= 4 && FoldName(t.Key[:4]) == "aws:" {
			return Errorf(InvalidInput, "Tag keys starting with aws: are reserved for use by AWS: %s", t.Key)
		}
	}
	return nil
}

// TagUser adds or replaces tags of a user; its policies see them
// (aws:PrincipalTag) from the next request.
func (s *Service) TagUser(ctx context.Context, c *Caller, name string, tags []Tag) error {
	if err := s.authorize(ctx, c, "iam:TagUser", s.userARN(ctx, c, name).withTags(tags)); err != nil {
		return err
	}
	if err := CheckTagKeys(tags); err != nil {
		return err
	}
	defer s.forgetAll()
	defer s.forgetPolicies()
	return s.store.UpdateUser(ctx, name, func(u *User) error {
		merged, err := MergeTags(u.Tags, tags)
		u.Tags = merged
		return err
	})
}

// UntagUser removes tags of a user by key.
func (s *Service) UntagUser(ctx context.Context, c *Caller, name string, keys []string) error {
	if err := s.authorize(ctx, c, "iam:UntagUser", s.userARN(ctx, c, name).withoutTags(keys)); err != nil {
		return err
	}
	defer s.forgetAll()
	defer s.forgetPolicies()
	return s.store.UpdateUser(ctx, name, func(u *User) error {
		u.Tags = RemoveTags(u.Tags, keys)
		return nil
	})
}

// ListUserTags returns a user's tags.
func (s *Service) ListUserTags(ctx context.Context, c *Caller, name string) ([]Tag, error) {
	if err := s.authorize(ctx, c, "iam:ListUserTags", s.userARN(ctx, c, name)); err != nil {
		return nil, err
	}
	u, err := s.store.GetUser(ctx, name)
	if err != nil {
		return nil, err
	}
	return u.Tags, nil
}

// TagPolicy adds or replaces tags of a customer-managed policy.
func (s *Service) TagPolicy(ctx context.Context, c *Caller, arn string, tags []Tag) error {
	p, err := s.customerPolicy(ctx, c, "iam:TagPolicy", arn, TagFacts{Setting: tags})
	if err != nil {
		return err
	}
	if err := CheckTagKeys(tags); err != nil {
		return err
	}
	return s.store.UpdatePolicyTags(ctx, p.Name, func(have []Tag) ([]Tag, error) { return MergeTags(have, tags) })
}

// UntagPolicy removes tags of a customer-managed policy by key.
func (s *Service) UntagPolicy(ctx context.Context, c *Caller, arn string, keys []string) error {
	p, err := s.customerPolicy(ctx, c, "iam:UntagPolicy", arn, TagFacts{Removing: keys})
	if err != nil {
		return err
	}
	return s.store.UpdatePolicyTags(ctx, p.Name, func(have []Tag) ([]Tag, error) { return RemoveTags(have, keys), nil })
}

// ListPolicyTags returns a managed policy's tags (none for AWS-managed ones).
func (s *Service) ListPolicyTags(ctx context.Context, c *Caller, arn string) ([]Tag, error) {
	p, b, err := s.authorizePolicy(ctx, c, "iam:ListPolicyTags", arn, TagFacts{})
	if err != nil || b != nil {
		return nil, err
	}
	return p.Tags, nil
}

// ---- Lightsail bucket updates ----

// TagBucket adds or replaces tags of a bucket.
func (s *Service) TagBucket(ctx context.Context, c *Caller, name string, tags []Tag) (*Operation, error) {
	if err := s.authorize(ctx, c, "lightsail:TagResource", s.bucketARN(ctx, c, name)); err != nil {
		return nil, err
	}
	if err := s.store.UpdateBucket(ctx, name, func(b *Bucket) error {
		merged, err := MergeTags(b.Tags, tags)
		b.Tags = merged
		return err
	}); err != nil {
		return nil, err
	}
	return s.operation(ctx, "TagResource", name)
}

// UntagBucket removes tags of a bucket by key.
func (s *Service) UntagBucket(ctx context.Context, c *Caller, name string, keys []string) (*Operation, error) {
	if err := s.authorize(ctx, c, "lightsail:UntagResource", s.bucketARN(ctx, c, name)); err != nil {
		return nil, err
	}
	if err := s.store.UpdateBucket(ctx, name, func(b *Bucket) error {
		b.Tags = RemoveTags(b.Tags, keys)
		return nil
	}); err != nil {
		return nil, err
	}
	return s.operation(ctx, "UntagResource", name)
}

// UpdateBucketBundle moves a bucket to another bundle (already valid).
func (s *Service) UpdateBucketBundle(ctx context.Context, c *Caller, name, bundleID string) (*Operation, error) {
	if err := s.authorize(ctx, c, "lightsail:UpdateBucketBundle", s.bucketARN(ctx, c, name)); err != nil {
		return nil, err
	}
	if err := s.store.UpdateBucket(ctx, name, func(b *Bucket) error { b.BundleID = bundleID; return nil }); err != nil {
		return nil, err
	}
	return s.operation(ctx, "UpdateBucketBundle", name)
}

// UpdateBucket turns versioning on or off (nil leaves it).
func (s *Service) UpdateBucket(ctx context.Context, c *Caller, name string, versioning *bool) (*Bucket, *Operation, error) {
	if err := s.authorize(ctx, c, "lightsail:UpdateBucket", s.bucketARN(ctx, c, name)); err != nil {
		return nil, nil, err
	}
	if versioning != nil {
		if err := s.store.UpdateBucket(ctx, name, func(b *Bucket) error { b.Versioning = *versioning; return nil }); err != nil {
			return nil, nil, err
		}
	}
	b, err := s.store.GetBucket(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	op, err := s.operation(ctx, "UpdateBucket", name)
	return b, op, err
}

// CheckUserAction authorizes an action on a user (the caller when name is
// "") that iamd answers without state of its own, such as listing SSH
// keys it never holds; with mustExist, a user that does not exist is
// NotFound, as AWS answers.
func (s *Service) CheckUserAction(ctx context.Context, c *Caller, action, name string, mustExist bool) error {
	owner := s.ownerFor(c, name)
	if err := s.authorize(ctx, c, action, s.ownerARN(ctx, c, owner)); err != nil {
		return err
	}
	if mustExist && owner.Kind == OwnerUser {
		_, err := s.store.GetUser(ctx, owner.Name)
		return err
	}
	return nil
}
