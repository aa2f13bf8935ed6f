package replica

import (
	"context"
	"errors"
	"strings"
	"time"

	"iamd"
)

// The reads of iamd.View, answered from memory as the store answers them,
// for one account (In; the Replica's own methods read its first account's).
// Each fails with Unavailable when the replica is staler than allowed, or
// when what it asks about has a change this node committed and could not
// read back yet (fail closed: a key deleted here stays deleted here).

var (
	_ iamd.Replica = (*Replica)(nil)
	_ iamd.Replica = (*view)(nil)
)

// view is the replica of one account.
type view struct {
	r    *Replica
	acct string // "" for the first account's
}

// In returns the replica of the account of that ID: its reads find
// nothing of another account. What it tells subscribers is every
// account's changes.
func (r *Replica) In(account string) iamd.Replica { return &view{r: r, acct: account} }

// account is the ID of v's account; r.mu is held.
func (v *view) account() string {
	if v.acct != "" {
		return v.acct
	}
	return v.r.st.account.ID
}

// Account is the account v reads, with the database's key check.
func (v *view) Account() iamd.Account {
	a := v.r.Account()
	if v.acct != "" && v.acct != a.ID {
		a = iamd.Account{ID: v.acct, KeyCheck: a.KeyCheck}
	}
	return a
}

func (v *view) Subscribe(c iamd.Changes)       { v.r.Subscribe(c) }
func (v *view) Status() iamd.ReplicaStatus     { return v.r.Status() }
func (v *view) In(account string) iamd.Replica { return v.r.In(account) }

// The Replica's reads are its first account's.

func (r *Replica) own() *view { return &view{r: r} }

func (r *Replica) GetCredential(ctx context.Context, id string) (*iamd.Credential, error) {
	return r.own().GetCredential(ctx, id)
}
func (r *Replica) GetUser(ctx context.Context, name string) (*iamd.User, error) {
	return r.own().GetUser(ctx, name)
}
func (r *Replica) GetGroup(ctx context.Context, name string) (*iamd.Group, error) {
	return r.own().GetGroup(ctx, name)
}
func (r *Replica) GetRole(ctx context.Context, name string) (*iamd.Role, error) {
	return r.own().GetRole(ctx, name)
}
func (r *Replica) GetBucket(ctx context.Context, name string) (*iamd.Bucket, error) {
	return r.own().GetBucket(ctx, name)
}

// Organization returns the organization's document as the replica holds
// it (nil: none): what a node reads of the accounts it serves and the SCPs
// that bind them, also while the database is away.
func (r *Replica) Organization(ctx context.Context) ([]byte, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if err := r.usable("", ""); err != nil {
		return nil, err
	}
	return r.st.org, nil
}

func (r *Replica) BucketAccount(ctx context.Context, name string) (string, error) {
	return r.own().BucketAccount(ctx, name)
}
func (r *Replica) GetOIDCProvider(ctx context.Context, url string) (*iamd.OIDCProvider, error) {
	return r.own().GetOIDCProvider(ctx, url)
}
func (r *Replica) GetPolicy(ctx context.Context, name string) (*iamd.ManagedPolicy, error) {
	return r.own().GetPolicy(ctx, name)
}
func (r *Replica) GetPolicyVersion(ctx context.Context, name, version string) (*iamd.PolicyVersion, error) {
	return r.own().GetPolicyVersion(ctx, name, version)
}
func (r *Replica) UserPolicies(ctx context.Context, name string) ([]iamd.PolicySource, error) {
	return r.own().UserPolicies(ctx, name)
}
func (r *Replica) RolePolicies(ctx context.Context, name string) ([]iamd.PolicySource, error) {
	return r.own().RolePolicies(ctx, name)
}

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

func (v *view) GetCredential(ctx context.Context, id string) (*iamd.Credential, error) {
	return found(v.r, ctx, func() (*iamd.Credential, error) { return v.credential(id) })
}

func (v *view) credential(id string) (*iamd.Credential, error) {
	r := v.r
	r.mu.RLock()
	defer r.mu.RUnlock()
	if err := r.usable(iamd.ChangeKey, id); err != nil {
		return nil, err
	}
	k := r.st.keys[id]
	if k == nil || k.Owner == iamd.OwnerRoot && k.OwnerID != v.account() {
		return nil, iamd.KeyNotFound(id)
	}
	c := &iamd.Credential{Key: iamd.AccessKey{ID: k.ID, Owner: iamd.Owner{Kind: k.Owner}, Status: k.Status, CreatedAt: k.CreatedAt,
		SealedSecret: k.SealedSecret, DisabledAt: k.DisabledAt}}
	switch k.Owner {
	case iamd.OwnerUser:
		u := r.st.users[k.OwnerID]
		if u == nil || u.Account != v.account() {
			return nil, iamd.KeyNotFound(id)
		}
		if err := r.usable(iamd.ChangeUser, u.ID); err != nil {
			return nil, err
		}
		user := u.User
		c.User, c.Key.Owner.Name, c.Key.UserID = &user, u.Name, u.ID
	case iamd.OwnerBucket:
		b := r.st.buckets[k.OwnerID]
		if b == nil || b.Account != v.account() {
			return nil, iamd.KeyNotFound(id)
		}
		bucket := *b
		c.Bucket, c.Key.Owner.Name = &bucket, b.Name
	}
	return c, nil
}

func (v *view) GetUser(ctx context.Context, name string) (*iamd.User, error) {
	return found(v.r, ctx, func() (*iamd.User, error) { return v.getUser(name) })
}

func (v *view) getUser(name string) (*iamd.User, error) {
	r := v.r
	r.mu.RLock()
	defer r.mu.RUnlock()
	u, err := v.user(name)
	if err != nil {
		return nil, err
	}
	user := u.User
	return &user, nil
}

func (v *view) user(name string) (*iamd.UserRecord, error) {
	r := v.r
	u := r.st.users[r.st.userIDs[named(v.account(), name)]]
	if u == nil {
		if err := r.usable("", ""); err != nil {
			return nil, err
		}
		return nil, iamd.UserNotFound(name)
	}
	return u, r.usable(iamd.ChangeUser, u.ID)
}

func (v *view) GetGroup(ctx context.Context, name string) (*iamd.Group, error) {
	return found(v.r, ctx, func() (*iamd.Group, error) { return v.getGroup(name) })
}

func (v *view) getGroup(name string) (*iamd.Group, error) {
	r := v.r
	r.mu.RLock()
	defer r.mu.RUnlock()
	if err := r.usable("", ""); err != nil {
		return nil, err
	}
	g := r.st.groups[r.st.groupIDs[named(v.account(), name)]]
	if g == nil {
		return nil, iamd.GroupNotFound(name)
	}
	group := g.Group
	return &group, r.usable(iamd.ChangeGroup, g.ID)
}

func (v *view) GetRole(ctx context.Context, name string) (*iamd.Role, error) {
	return found(v.r, ctx, func() (*iamd.Role, error) { return v.getRole(name) })
}

func (v *view) getRole(name string) (*iamd.Role, error) {
	r := v.r
	r.mu.RLock()
	defer r.mu.RUnlock()
	ro, err := v.role(name)
	if err != nil {
		return nil, err
	}
	role := ro.Role
	return &role, nil
}

func (v *view) role(name string) (*iamd.RoleRecord, error) {
	r := v.r
	if err := r.usable("", ""); err != nil {
		return nil, err
	}
	ro := r.st.roles[r.st.roleIDs[named(v.account(), name)]]
	if ro == nil {
		return nil, iamd.RoleNotFound(name)
	}
	return ro, r.usable(iamd.ChangeRole, ro.ID)
}

func (v *view) GetBucket(ctx context.Context, name string) (*iamd.Bucket, error) {
	return found(v.r, ctx, func() (*iamd.Bucket, error) { return v.getBucket(name) })
}

func (v *view) getBucket(name string) (*iamd.Bucket, error) {
	r := v.r
	r.mu.RLock()
	defer r.mu.RUnlock()
	if err := r.usable("", ""); err != nil {
		return nil, err
	}
	b := r.st.buckets[r.st.bucketIDs[name]]
	if b == nil || b.Account != v.account() {
		return nil, iamd.BucketNotFound(name)
	}
	bucket := *b
	return &bucket, r.usable(iamd.ChangeBucket, b.ID)
}

// BucketAccount answers from memory alone, without reading the log
// through when it finds none: a bucket the replica does not know is one
// of the object store's own (the first account's), asked about on every
// request for it.
func (v *view) BucketAccount(ctx context.Context, name string) (string, error) {
	r := v.r
	r.mu.RLock()
	defer r.mu.RUnlock()
	if err := r.usable("", ""); err != nil {
		return "", err
	}
	b := r.st.buckets[r.st.bucketIDs[name]]
	if b == nil {
		return "", iamd.BucketNotFound(name)
	}
	return b.Account, r.usable(iamd.ChangeBucket, b.ID)
}

func (v *view) GetOIDCProvider(ctx context.Context, url string) (*iamd.OIDCProvider, error) {
	return found(v.r, ctx, func() (*iamd.OIDCProvider, error) { return v.getProvider(url) })
}

func (v *view) getProvider(url string) (*iamd.OIDCProvider, error) {
	r := v.r
	r.mu.RLock()
	defer r.mu.RUnlock()
	if err := r.usable("", ""); err != nil {
		return nil, err
	}
	p := r.st.providers[r.st.providerIDs[v.account()+"/"+url]]
	if p == nil {
		return nil, iamd.Errorf(iamd.NotFound, "OpenIDConnect Provider not found for url %s", url)
	}
	provider := *p
	return &provider, r.usable(iamd.ChangeProvider, p.ID)
}

func (v *view) GetPolicy(ctx context.Context, name string) (*iamd.ManagedPolicy, error) {
	return found(v.r, ctx, func() (*iamd.ManagedPolicy, error) { return v.getPolicy(name) })
}

func (v *view) getPolicy(name string) (*iamd.ManagedPolicy, error) {
	r := v.r
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, err := v.policy(name)
	if err != nil {
		return nil, err
	}
	mp := p.ManagedPolicy
	return &mp, nil
}

func (v *view) policy(name string) (*iamd.PolicyRecord, error) {
	r := v.r
	if err := r.usable("", ""); err != nil {
		return nil, err
	}
	p := r.st.policies[r.st.policyIDs[named(v.account(), name)]]
	if p == nil {
		return nil, iamd.Errorf(iamd.NotFound, "Policy %s does not exist.", name)
	}
	return p, r.usable(iamd.ChangePolicy, p.ID)
}

// GetPolicyVersion knows a policy's default version only, the one
// decisions read.
func (v *view) GetPolicyVersion(ctx context.Context, name, version string) (*iamd.PolicyVersion, error) {
	r := v.r
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, err := v.policy(name)
	if err != nil {
		return nil, err
	}
	if version != p.DefaultVersion {
		return nil, iamd.Errorf(iamd.NotFound, "Policy %s version %s does not exist.", name, version)
	}
	return &iamd.PolicyVersion{ID: p.DefaultVersion, Document: p.Document, Default: true, CreatedAt: p.UpdatedAt}, nil
}

func (v *view) UserPolicies(ctx context.Context, name string) ([]iamd.PolicySource, error) {
	return found(v.r, ctx, func() ([]iamd.PolicySource, error) { return v.userPolicies(name) })
}

func (v *view) userPolicies(name string) ([]iamd.PolicySource, error) {
	r := v.r
	r.mu.RLock()
	defer r.mu.RUnlock()
	u, err := v.user(name)
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

func (v *view) RolePolicies(ctx context.Context, name string) ([]iamd.PolicySource, error) {
	return found(v.r, ctx, func() ([]iamd.PolicySource, error) { return v.rolePolicies(name) })
}

func (v *view) rolePolicies(name string) ([]iamd.PolicySource, error) {
	r := v.r
	r.mu.RLock()
	defer r.mu.RUnlock()
	ro, err := v.role(name)
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
