package replica

import (
	"context"
	"errors"
	"strings"
	"time"

	"iamd"
)

// The reads of iamd.View, answered from memory as the store answers them.
// Each fails with Unavailable when the replica is staler than allowed, or
// when what it asks about has a change this node committed and could not
// read back yet (fail closed: a key deleted here stays deleted here).

var _ iamd.Replica = (*Replica)(nil)

// found retries lookup once the log was read, when it found nothing (see
// readThrough).
func found[T any](r *Replica, ctx context.Context, lookup func() (T, error)) (T, error) {
	at := time.Now()
	v, err := lookup()
	if !errors.Is(err, iamd.ErrNotFound) {
		return v, err
	}
	r.readThrough(ctx, at)
	return lookup()
}

func (r *Replica) GetCredential(ctx context.Context, id string) (*iamd.Credential, error) {
	return found(r, ctx, func() (*iamd.Credential, error) { return r.credential(id) })
}

func (r *Replica) credential(id string) (*iamd.Credential, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if err := r.usable(iamd.ChangeKey, id); err != nil {
		return nil, err
	}
	k := r.st.keys[id]
	if k == nil {
		return nil, iamd.KeyNotFound(id)
	}
	c := &iamd.Credential{Key: iamd.AccessKey{ID: k.ID, Owner: iamd.Owner{Kind: k.Owner}, Status: k.Status, CreatedAt: k.CreatedAt,
		SealedSecret: k.SealedSecret, DisabledAt: k.DisabledAt}}
	switch k.Owner {
	case iamd.OwnerUser:
		u := r.st.users[k.OwnerID]
		if u == nil {
			return nil, iamd.KeyNotFound(id)
		}
		if err := r.usable(iamd.ChangeUser, u.ID); err != nil {
			return nil, err
		}
		user := u.User
		c.User, c.Key.Owner.Name, c.Key.UserID = &user, u.Name, u.ID
	case iamd.OwnerBucket:
		b := r.st.buckets[k.OwnerID]
		if b == nil {
			return nil, iamd.KeyNotFound(id)
		}
		bucket := *b
		c.Bucket, c.Key.Owner.Name = &bucket, b.Name
	}
	return c, nil
}

func (r *Replica) GetUser(ctx context.Context, name string) (*iamd.User, error) {
	return found(r, ctx, func() (*iamd.User, error) { return r.getUser(name) })
}

func (r *Replica) getUser(name string) (*iamd.User, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	u, err := r.user(name)
	if err != nil {
		return nil, err
	}
	user := u.User
	return &user, nil
}

func (r *Replica) user(name string) (*iamd.UserRecord, error) {
	u := r.st.users[r.st.userIDs[iamd.FoldName(name)]]
	if u == nil {
		if err := r.usable("", ""); err != nil {
			return nil, err
		}
		return nil, iamd.UserNotFound(name)
	}
	return u, r.usable(iamd.ChangeUser, u.ID)
}

func (r *Replica) GetGroup(ctx context.Context, name string) (*iamd.Group, error) {
	return found(r, ctx, func() (*iamd.Group, error) { return r.getGroup(name) })
}

func (r *Replica) getGroup(name string) (*iamd.Group, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if err := r.usable("", ""); err != nil {
		return nil, err
	}
	g := r.st.groups[r.st.groupIDs[iamd.FoldName(name)]]
	if g == nil {
		return nil, iamd.GroupNotFound(name)
	}
	group := g.Group
	return &group, r.usable(iamd.ChangeGroup, g.ID)
}

func (r *Replica) GetRole(ctx context.Context, name string) (*iamd.Role, error) {
	return found(r, ctx, func() (*iamd.Role, error) { return r.getRole(name) })
}

func (r *Replica) getRole(name string) (*iamd.Role, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ro, err := r.role(name)
	if err != nil {
		return nil, err
	}
	role := ro.Role
	return &role, nil
}

func (r *Replica) role(name string) (*iamd.RoleRecord, error) {
	if err := r.usable("", ""); err != nil {
		return nil, err
	}
	ro := r.st.roles[r.st.roleIDs[iamd.FoldName(name)]]
	if ro == nil {
		return nil, iamd.RoleNotFound(name)
	}
	return ro, r.usable(iamd.ChangeRole, ro.ID)
}

func (r *Replica) GetBucket(ctx context.Context, name string) (*iamd.Bucket, error) {
	return found(r, ctx, func() (*iamd.Bucket, error) { return r.getBucket(name) })
}

func (r *Replica) getBucket(name string) (*iamd.Bucket, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if err := r.usable("", ""); err != nil {
		return nil, err
	}
	b := r.st.buckets[r.st.bucketIDs[name]]
	if b == nil {
		return nil, iamd.BucketNotFound(name)
	}
	bucket := *b
	return &bucket, r.usable(iamd.ChangeBucket, b.ID)
}

func (r *Replica) GetOIDCProvider(ctx context.Context, url string) (*iamd.OIDCProvider, error) {
	return found(r, ctx, func() (*iamd.OIDCProvider, error) { return r.getProvider(url) })
}

func (r *Replica) getProvider(url string) (*iamd.OIDCProvider, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if err := r.usable("", ""); err != nil {
		return nil, err
	}
	p := r.st.providers[r.st.providerIDs[url]]
	if p == nil {
		return nil, iamd.Errorf(iamd.NotFound, "OpenIDConnect Provider not found for url %s", url)
	}
	provider := *p
	return &provider, r.usable(iamd.ChangeProvider, p.ID)
}

func (r *Replica) GetPolicy(ctx context.Context, name string) (*iamd.ManagedPolicy, error) {
	return found(r, ctx, func() (*iamd.ManagedPolicy, error) { return r.getPolicy(name) })
}

func (r *Replica) getPolicy(name string) (*iamd.ManagedPolicy, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, err := r.policy(name)
	if err != nil {
		return nil, err
	}
	mp := p.ManagedPolicy
	return &mp, nil
}

func (r *Replica) policy(name string) (*iamd.PolicyRecord, error) {
	if err := r.usable("", ""); err != nil {
		return nil, err
	}
	p := r.st.policies[r.st.policyIDs[iamd.FoldName(name)]]
	if p == nil {
		return nil, iamd.Errorf(iamd.NotFound, "Policy %s does not exist.", name)
	}
	return p, r.usable(iamd.ChangePolicy, p.ID)
}

// GetPolicyVersion knows a policy's default version only, the one
// decisions read.
func (r *Replica) GetPolicyVersion(ctx context.Context, name, version string) (*iamd.PolicyVersion, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, err := r.policy(name)
	if err != nil {
		return nil, err
	}
	if version != p.DefaultVersion {
		return nil, iamd.Errorf(iamd.NotFound, "Policy %s version %s does not exist.", name, version)
	}
	return &iamd.PolicyVersion{ID: p.DefaultVersion, Document: p.Document, Default: true, CreatedAt: p.UpdatedAt}, nil
}

func (r *Replica) UserPolicies(ctx context.Context, name string) ([]iamd.PolicySource, error) {
	return found(r, ctx, func() ([]iamd.PolicySource, error) { return r.userPolicies(name) })
}

func (r *Replica) userPolicies(name string) ([]iamd.PolicySource, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	u, err := r.user(name)
	if err != nil {
		return nil, err
	}
	if err := r.usablePolicies(); err != nil {
		return nil, err
	}
	out := r.sources(nil, iamd.Entity{Kind: iamd.EntityUser, Name: u.Name}, &u.Attachments)
	for _, gid := range u.Groups {
		if g := r.st.groups[gid]; g != nil {
			out = r.sources(out, iamd.Entity{Kind: iamd.EntityGroup, Name: g.Name}, &g.Attachments)
		}
	}
	return out, nil
}

func (r *Replica) RolePolicies(ctx context.Context, name string) ([]iamd.PolicySource, error) {
	return found(r, ctx, func() ([]iamd.PolicySource, error) { return r.rolePolicies(name) })
}

func (r *Replica) rolePolicies(name string) ([]iamd.PolicySource, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ro, err := r.role(name)
	if err != nil {
		return nil, err
	}
	if err := r.usablePolicies(); err != nil {
		return nil, err
	}
	return r.sources(nil, iamd.Entity{Kind: iamd.EntityRole, Name: ro.Name}, &ro.Attachments), nil
}

// sources appends the policies of e as the store lists them: inline ones
// with their documents, attached ones with their default version's (none
// for AWS-managed policies, which are not in the store).
func (r *Replica) sources(out []iamd.PolicySource, e iamd.Entity, a *iamd.Attachments) []iamd.PolicySource {
	for _, p := range a.Inline {
		out = append(out, iamd.PolicySource{Entity: e, Inline: true, Name: p.Name, Document: p.Document})
	}
	for _, ap := range a.Attached {
		src := iamd.PolicySource{Entity: e, Policy: ap}
		if p := r.st.policies[ap.ID]; p != nil && !strings.HasPrefix(ap.ARN, "arn:aws:iam::aws:") {
			src.Document = p.Document
		}
		out = append(out, src)
	}
	return out
}
