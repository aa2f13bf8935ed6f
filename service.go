package iamd

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"iamd/sigv4"
)

// Config configures a Service.
type Config struct {
	Store Store
	// Replica, when set, is what authentication and authorization read:
	// the node's own copy of what decisions need, kept current from the
	// store's change log (package replica). Without it they read Store,
	// with a cache of CredentialTTL.
	Replica Replica
	Sealer  *Sealer
	Account Account // recorded on first start; the store's recorded one wins
	Region  string  // the region buckets and operations are in (default us-east-1)
	// Now and Rand default to the real clock and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
	// CredentialTTL bounds how long a credential is served from memory
	// before it is read again from the store (default 10s), without a
	// Replica; with one, what is cached is dropped when the replica applies
	// a change to it, and nothing expires otherwise. Changes made through
	// this Service take effect at once.
	CredentialTTL time.Duration
	// FlushInterval is how often key uses are written to the store
	// (default 1s): one batched write, never one per request.
	FlushInterval time.Duration
	Logger        *slog.Logger
	// Objects, when set, is the object store buckets are made in.
	Objects ObjectStore
	// MaxKeyAge, when set, is the age past which an IAM user's access key
	// is Expired. Off (0) by default.
	MaxKeyAge time.Duration
	// Observer, when set, is told what happens inside (metrics).
	Observer Observer
	// Guardrail, when set, bounds the account beyond its own policies
	// (its organization's service control policies).
	Guardrail Guardrail
	// Member says the account is not the deployment's first: a bucket
	// iamd does not know (one of the object store's own) is not its.
	Member bool
	// First, when set, is the deployment's first account's Service, of
	// which this one is another account's: its watchers (WatchChanges,
	// the doors') are told of this one's changes too, where no Replica
	// tells every Service of every change, and it writes this one's key
	// uses with its own, in one batch a second for every account.
	First *Service
}

// Service is the rules of iamd above the store.
type Service struct {
	store   Store
	view    View    // what decisions read: the replica, or the store
	replica Replica // nil without one
	sealer  *Sealer
	account Account
	region  string
	now     func() time.Time
	rand    io.Reader
	ttl     time.Duration
	log     *slog.Logger
	objects ObjectStore

	creds    sync.Map     // access key ID → *CachedCredential
	owners   sync.Map     // bucket name → bucketOwner, without a replica
	credsGen atomic.Int64 // bumped by every invalidation; see Credential
	authz    authz
	sessions sessions
	reports  reports
	changes  changeHub

	maxKeyAge time.Duration
	observe   Observer
	guard     Guardrail // nil: none
	relay     *Service  // Config.First, without a replica
	batch     *Service  // Config.First: who writes key uses
	member    bool      // Config.Member

	usesMu sync.Mutex
	uses   map[string]LastUsed // not yet flushed

	flushEvery time.Duration
	stop       chan struct{}
	done       chan struct{}
	closeOnce  sync.Once
}

// NewService opens the service on cfg.Store: it initializes the store and
// starts the background flush of key uses. Close stops it.
func NewService(ctx context.Context, cfg Config) (*Service, error) {
	s := &Service{
		store:      cfg.Store,
		view:       cfg.Store,
		replica:    cfg.Replica,
		sealer:     cfg.Sealer,
		region:     cfg.Region,
		now:        cfg.Now,
		rand:       cfg.Rand,
		ttl:        cfg.CredentialTTL,
		log:        cfg.Logger,
		objects:    cfg.Objects,
		maxKeyAge:  cfg.MaxKeyAge,
		observe:    cfg.Observer,
		guard:      cfg.Guardrail,
		member:     cfg.Member,
		uses:       make(map[string]LastUsed),
		flushEvery: cfg.FlushInterval,
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.replica != nil {
		s.view = s.replica
		s.ttl = 0 // no expiry: the replica says what changed
	} else {
		s.relay = cfg.First
		if s.ttl <= 0 {
			s.ttl = 10 * time.Second
		}
	}
	if s.flushEvery <= 0 {
		s.flushEvery = time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.observe == nil {
		s.observe = noObserver{}
	}
	acct := cfg.Account
	var err error
	if acct.CreatedAt.IsZero() {
		acct.CreatedAt = s.now().UTC().Truncate(time.Millisecond)
	}
	if acct.KeyCheck, err = s.sealer.Seal(keyCheckID, []byte(keyCheckText)); err != nil {
		return nil, err
	}
	if acct, err = s.store.Init(ctx, acct); err != nil {
		// A node restarted while its database is away serves from its
		// replica's snapshot, which holds the account.
		if KindOf(err) != Unavailable || s.replica == nil || s.replica.Account().ID == "" {
			return nil, err
		}
		acct = s.replica.Account()
		s.store = s.store.In(acct.ID) // the account the database recorded
		s.log.Warn("the database is unavailable: serving from the replica", "err", err)
	}
	if text, err := s.sealer.Open(keyCheckID, acct.KeyCheck); err != nil || string(text) != keyCheckText {
		return nil, ErrWrongMasterKey
	}
	s.account = acct
	if s.batch = cfg.First; s.batch == nil {
		go s.flushLoop()
	} else {
		close(s.done) // the first account's Service writes the uses
	}
	if s.replica != nil {
		// A change the replica applies drops what was cached of it.
		s.replica.Subscribe(Changes{Key: s.forget, Policies: s.forgetPolicies, Reset: func() {
			s.forgetAll()
			s.forgetPolicies()
		}})
	}
	return s, nil
}

const (
	keyCheckID   = "iamd-master-key-check"
	keyCheckText = "iamd"
)

// ErrWrongMasterKey is returned by NewService when the store's secrets were
// sealed under another master key.
var ErrWrongMasterKey = errors.New("the master key does not open this database's secrets: use the master key it was created with")

// Account returns the account the service serves.
func (s *Service) Account() Account { return s.account }

// Region returns the region the service is in.
func (s *Service) Region() string { return s.region }

// Close writes pending key uses and stops the background work. It does not
// close the store.
func (s *Service) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

func (s *Service) timestamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// ---- users ----

// CreateUser creates an IAM user. Its name and path are already valid.
func (s *Service) CreateUser(ctx context.Context, c *Caller, name, path string, tags []Tag, opts ...CreateOption) (*User, error) {
	if path == "" {
		path = "/"
	}
	o := applyCreate(opts)
	if err := s.authorize(ctx, c, "iam:CreateUser", on(s.arn("user"+path+name)).withTags(tags).bounding(o.boundary)); err != nil {
		return nil, err
	}
	var err error
	if o.boundary != "" {
		if o.boundary, err = s.boundaryARN(ctx, o.boundary); err != nil {
			return nil, err
		}
	}
	id, err := NewUserID(s.rand)
	if err != nil {
		return nil, err
	}
	u := &User{ID: id, Name: name, Path: path, CreatedAt: s.timestamp(), Tags: tags, Boundary: o.boundary}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// GetUser returns the named user, or the caller's own when name is "". For
// the root it returns a User whose ID is the account and Name is "".
func (s *Service) GetUser(ctx context.Context, c *Caller, name string) (*User, error) {
	owner := s.ownerFor(c, name)
	if err := s.authorize(ctx, c, "iam:GetUser", s.ownerARN(ctx, c, owner)); err != nil {
		return nil, err
	}
	if owner.Kind != OwnerUser {
		return &User{ID: s.account.ID, CreatedAt: s.account.CreatedAt}, nil
	}
	return s.store.GetUser(ctx, owner.Name)
}

// ListUsers lists users whose path starts with pathPrefix.
func (s *Service) ListUsers(ctx context.Context, c *Caller, pathPrefix string, p Page) ([]*User, string, error) {
	if pathPrefix == "" {
		pathPrefix = "/"
	}
	if err := s.authorize(ctx, c, "iam:ListUsers", on(s.arn("user"+pathPrefix))); err != nil {
		return nil, "", err
	}
	return s.store.ListUsers(ctx, pathPrefix, p)
}

// DeleteUser deletes a user that has no access keys.
func (s *Service) DeleteUser(ctx context.Context, c *Caller, name string) error {
	if err := s.authorize(ctx, c, "iam:DeleteUser", s.userARN(ctx, c, name)); err != nil {
		return err
	}
	return s.store.DeleteUser(ctx, name)
}

// ---- access keys ----

// CreateAccessKey creates an Active key for the named user, or for the
// caller when userName is "". It returns the key and its secret; the secret
// is never available again.
func (s *Service) CreateAccessKey(ctx context.Context, c *Caller, userName string) (*AccessKey, string, error) {
	owner := s.ownerFor(c, userName)
	if err := s.authorize(ctx, c, "iam:CreateAccessKey", s.ownerARN(ctx, c, owner)); err != nil {
		return nil, "", err
	}
	return s.newKey(ctx, owner, "", "")
}

// newKey creates a key for owner; id and secret are generated when "".
func (s *Service) newKey(ctx context.Context, owner Owner, id, secret string) (*AccessKey, string, error) {
	var err error
	if secret == "" {
		if secret, err = NewSecret(s.rand); err != nil {
			return nil, "", err
		}
	}
	// A generated ID has 39 random bits beside its account's: one that
	// exists or existed (Conflict) is drawn again.
	for tries := 0; ; tries++ {
		kid := id
		if kid == "" {
			if kid, err = NewAccessKeyID(s.rand, s.account.ID); err != nil {
				return nil, "", err
			}
		}
		sealed, err := s.sealer.Seal(kid, []byte(secret))
		if err != nil {
			return nil, "", err
		}
		k := &AccessKey{ID: kid, Owner: owner, Status: StatusActive, CreatedAt: s.timestamp(), SealedSecret: sealed}
		err = s.store.CreateAccessKey(ctx, k, MaxAccessKeysPerOwner)
		switch {
		case err == nil:
			return k, secret, nil
		case id == "" && KindOf(err) == Conflict && tries < 3:
			continue
		}
		return nil, "", err
	}
}

// ListAccessKeys lists the keys of the named user, or of the caller.
func (s *Service) ListAccessKeys(ctx context.Context, c *Caller, userName string, p Page) ([]*AccessKey, string, error) {
	owner := s.ownerFor(c, userName)
	if err := s.authorize(ctx, c, "iam:ListAccessKeys", s.ownerARN(ctx, c, owner)); err != nil {
		return nil, "", err
	}
	keys, next, err := s.store.ListAccessKeys(ctx, owner, p)
	for _, k := range keys {
		k.Status = s.keyStatus(k.Owner.Kind, k.Status, k.CreatedAt)
	}
	return keys, next, err
}

// UpdateAccessKey makes a key Active or Inactive. The change is seen by the
// next request this node authenticates.
func (s *Service) UpdateAccessKey(ctx context.Context, c *Caller, userName, id string, status KeyStatus) error {
	owner := s.ownerFor(c, userName)
	if err := s.authorize(ctx, c, "iam:UpdateAccessKey", s.ownerARN(ctx, c, owner)); err != nil {
		return err
	}
	if s.maxKeyAge > 0 && owner.Kind == OwnerUser {
		if cred, err := s.store.GetCredential(ctx, id); err == nil && cred.Key.Owner == owner && s.keyStatus(owner.Kind, StatusActive, cred.Key.CreatedAt) == StatusExpired {
			return Errorf(InvalidInput, "The access key %s is older than the account's maximum key age: it is Expired and cannot be made %s; delete it and create a new one.", id, status)
		}
	}
	err := s.store.UpdateAccessKey(ctx, owner, id, status, s.timestamp())
	s.forget(id)
	return err
}

// DeleteAccessKey deletes a key. The next request signed with it is refused.
func (s *Service) DeleteAccessKey(ctx context.Context, c *Caller, userName, id string) error {
	owner := s.ownerFor(c, userName)
	if err := s.authorize(ctx, c, "iam:DeleteAccessKey", s.ownerARN(ctx, c, owner)); err != nil {
		return err
	}
	err := s.store.DeleteAccessKey(ctx, owner, id)
	s.forget(id)
	return err
}

// GetAccessKeyLastUsed returns the key's owner and its last use, including
// uses not yet flushed to the store.
func (s *Service) GetAccessKeyLastUsed(ctx context.Context, c *Caller, id string) (Owner, LastUsed, error) {
	cred, err := s.store.GetCredential(ctx, id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			// Only a caller allowed on every user learns that a key
			// does not exist.
			if err := s.authorize(ctx, c, "iam:GetAccessKeyLastUsed", on(s.arn("user/*"))); err != nil {
				return Owner{}, LastUsed{}, err
			}
		}
		return Owner{}, LastUsed{}, err
	}
	// A refusal names user/*, as for a key that does not exist: it must not
	// tell who owns the key.
	r := s.ownerARN(ctx, c, cred.Key.Owner)
	r.requested = s.arn("user/*")
	if err := s.authorize(ctx, c, "iam:GetAccessKeyLastUsed", r); err != nil {
		return Owner{}, LastUsed{}, err
	}
	return cred.Key.Owner, s.lastUsed(id, cred.Key.LastUsed), nil
}

// lastUsed returns the later of stored and not yet flushed uses of key id.
func (s *Service) lastUsed(id string, stored LastUsed) LastUsed {
	if s.batch != nil {
		return s.batch.lastUsed(id, stored)
	}
	s.usesMu.Lock()
	defer s.usesMu.Unlock()
	if p, ok := s.uses[id]; ok && p.At.After(stored.At) {
		return p
	}
	return stored
}

// AccessKeyAccount returns the account a key belongs to (STS
// GetAccessKeyInfo): this account for its keys, the account a
// new-generation key names for others; InvalidInput for an older key
// iamd does not know.
func (s *Service) AccessKeyAccount(ctx context.Context, c *Caller, id string) (string, error) {
	if err := s.authorize(ctx, c, "sts:GetAccessKeyInfo", on("*")); err != nil {
		return "", err
	}
	if s.issuedSessionKey(id) {
		return s.account.ID, nil
	}
	if _, err := s.view.GetCredential(ctx, id); err != nil {
		if !errors.Is(err, ErrNotFound) {
			return "", err
		}
		// Not one of this account's: a new-generation key names its
		// account, as AWS answers for any key.
		if account, ok := KeyAccount(id); ok {
			return account, nil
		}
		return "", Errorf(InvalidInput, "The access key %s was not issued by this service.", id)
	}
	return s.account.ID, nil
}

// ---- root bootstrap ----

// EnsureRootKey makes sure the root has the key id with secret, creating it
// if it never existed; a key of that ID that was deleted is not created
// again (Conflict). A key of that ID that exists for someone else is an error;
// one that exists for the root gets the given secret and is made Active.
func (s *Service) EnsureRootKey(ctx context.Context, id, secret string) error {
	cred, err := s.store.GetCredential(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		_, _, err = s.newKey(ctx, RootOwner, id, secret)
		if !errors.Is(err, ErrConflict) {
			return err
		}
		// Another node starting at the same moment may have made it:
		// then it exists now, as asked. Otherwise it was deleted through
		// the API (after a leak, say), and it stays dead.
		if cred, err = s.store.GetCredential(ctx, id); errors.Is(err, ErrNotFound) {
			return Errorf(Conflict, "the root key %s was deleted and is not created again; set a new key ID and secret, or unset both to use <data-dir>/root-credentials", id)
		} else if err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if cred.Key.Owner.Kind != OwnerRoot {
		return Errorf(Conflict, "access key %s belongs to user %s, not to the root", id, cred.Key.Owner.Name)
	}
	have, err := s.sealer.Open(id, cred.Key.SealedSecret)
	if err != nil {
		return Errorf(Internal, "the root key %s does not decrypt with this master key", id)
	}
	if string(have) != secret || cred.Key.Status != StatusActive {
		return Errorf(Conflict, "the root key %s exists with another secret or is Inactive; delete it first", id)
	}
	return nil
}

// BootstrapRoot creates a root key when the root has none, returning it and
// its secret; it returns nil when the root already has a key.
func (s *Service) BootstrapRoot(ctx context.Context) (*AccessKey, string, error) {
	keys, _, err := s.store.ListAccessKeys(ctx, RootOwner, Page{MaxItems: 1})
	if err != nil || len(keys) > 0 {
		return nil, "", err
	}
	return s.newKey(ctx, RootOwner, "", "")
}

// DeleteRootKey removes a root key; used to undo a bootstrap that could
// not be written out.
func (s *Service) DeleteRootKey(ctx context.Context, id string) error {
	s.forget(id)
	return s.store.DeleteAccessKey(ctx, RootOwner, id)
}

// ---- ownership and authorization ----

// ownerFor resolves an optional user name: "" means the caller itself.
func (s *Service) ownerFor(c *Caller, userName string) Owner {
	switch {
	case userName != "":
		return UserOwner(userName)
	case c.Kind == CallerUser:
		return UserOwner(c.User.Name)
	case c.Kind == CallerBucket:
		return BucketOwner(c.Bucket.Name)
	}
	return RootOwner
}

// ---- authentication support ----

// CachedCredential is a credential as authentication uses it: the caller it
// stands for, its status and its plaintext secret, with a slot for the
// signing key derived for the last scope it signed with.
type CachedCredential struct {
	Caller   Caller
	Status   KeyStatus // as stored: Active or Inactive
	Created  time.Time
	Disabled time.Time // when last made Inactive; zero: never
	Secret   []byte
	loaded   time.Time

	derived atomic.Pointer[derivedKey]
}

type derivedKey struct {
	scope string
	key   []byte
}

// DerivedKey returns the value derive computes for scope, computing it only
// when the scope differs from the last one asked for. It takes no lock.
func (c *CachedCredential) DerivedKey(scope string, derive func() []byte) []byte {
	if d := c.derived.Load(); d != nil && d.scope == scope {
		return d.key
	}
	d := &derivedKey{scope: strings.Clone(scope), key: derive()}
	c.derived.Store(d)
	return d.key
}

// SigningKeyFor returns the credential of the key that signed a and its
// SigV4 signing key for a's scope, derived once per scope (see
// DerivedKey). ErrNoSuchIdentity if the key does not exist or is not
// Active, if a long-term key comes with a session token or a temporary
// one without its own; ErrExpiredToken for an expired session. It is the
// one lookup behind every signature iamd checks or helps check: its own
// APIs', an object gateway's, a proxy's. The secret never leaves iamd.
func (s *Service) SigningKeyFor(ctx context.Context, a *sigv4.Auth) (*CachedCredential, []byte, error) {
	c, err := s.credential(ctx, a.AccessKeyID, a.SecurityToken)
	if err != nil {
		return nil, nil, err
	}
	scope := a.Scope
	if scope == "" {
		scope = a.Date + "/" + a.Region + "/" + a.Service + "/aws4_request"
	}
	return c, c.DerivedKey(scope, func() []byte { return sigv4.SigningKey(c.Secret, a.Date, a.Region, a.Service) }), nil
}

// CheckStringToSign authenticates a request that another service received
// and iamd never sees, from the SigV4 string to sign that service built and
// the signature the client sent (Keystone's s3tokens works this way). The
// request time may lie up to maxAge in the past (a presigned URL's life)
// and 15 minutes in the future; the service checks the rest of the request
// itself. It returns the signer and the parsed scope, and records the use.
func (s *Service) CheckStringToSign(ctx context.Context, accessKeyID string, sts []byte, signature string, maxAge time.Duration) (*CachedCredential, *sigv4.Auth, error) {
	a, err := sigv4.ParseStringToSign(sts)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	if a.Time.After(now.Add(15*time.Minute)) || a.Time.Before(now.Add(-maxAge-15*time.Minute)) {
		return nil, nil, &sigv4.Error{Code: sigv4.CodeExpired, Message: "Signature expired: " + a.AmzDate + " is outside the accepted window."}
	}
	a.AccessKeyID = accessKeyID
	c, key, err := s.SigningKeyFor(ctx, a)
	if err != nil {
		return nil, nil, err
	}
	if !sigv4.CheckStringToSign(sts, signature, key) {
		return nil, nil, &sigv4.Error{Code: sigv4.CodeSignatureMismatch, Message: sigv4.MismatchMessage}
	}
	s.RecordUse(accessKeyID, a.Region, a.Service)
	return c, a, nil
}

// forget drops a key's cached credential, so that its next request reads
// the store.
func (s *Service) forget(id string) {
	s.credsGen.Add(1)
	s.creds.Delete(id)
	s.tell(Change{Key: id})
}

// forgetAll drops every cached credential.
func (s *Service) forgetAll() {
	s.credsGen.Add(1)
	s.creds.Clear()
	s.tell(Change{All: true})
}

// ForgetAll drops every cached credential and policy and tells watchers
// that anything may have changed: an account of the deployment closed.
func (s *Service) ForgetAll() {
	s.forgetAll()
	s.forgetPolicies()
}

// tell tells the watchers of c, and those of the Service watched.
func (s *Service) tell(c Change) {
	s.changes.publish(c)
	if s.relay != nil {
		s.relay.changes.publish(c)
	}
}

// Credential returns the credential for an access key ID, from memory when
// fresh. NotFound if there is no such key; Inactive keys are returned with
// their status so that the caller can refuse them.
func (s *Service) Credential(ctx context.Context, id string) (*CachedCredential, error) {
	if v, ok := s.creds.Load(id); ok {
		cc := v.(*CachedCredential)
		if s.ttl == 0 || s.now().Sub(cc.loaded) < s.ttl {
			s.observe.CredentialLookup(true)
			return cc, nil
		}
	}
	s.observe.CredentialLookup(false)
	// A change committed while this read is in flight must not be undone
	// by caching what the read returned: cache only if no key was
	// invalidated meanwhile.
	gen := s.credsGen.Load()
	cred, err := s.view.GetCredential(ctx, id)
	if err != nil {
		return nil, err
	}
	secret, err := s.sealer.Open(id, cred.Key.SealedSecret)
	if err != nil {
		return nil, &Error{Kind: Internal, Message: "cannot decrypt the secret of " + id, Err: err}
	}
	cc := &CachedCredential{
		Caller:   Caller{Kind: CallerRoot, Account: s.account.ID, Region: s.region, AccessKeyID: id},
		Status:   cred.Key.Status,
		Created:  cred.Key.CreatedAt,
		Disabled: cred.Key.DisabledAt,
		Secret:   secret,
		loaded:   s.now(),
	}
	switch {
	case cred.User != nil:
		cc.Caller.Kind, cc.Caller.User = CallerUser, cred.User
	case cred.Bucket != nil:
		cc.Caller.Kind, cc.Caller.Bucket = CallerBucket, cred.Bucket
	}
	if s.credsGen.Load() == gen {
		s.creds.Store(id, cc)
	}
	return cc, nil
}

// RecordUse notes that key id authenticated a request for service in region.
// It only touches memory; uses are flushed to the store in batches.
func (s *Service) RecordUse(id, region, service string) {
	if IsSessionKey(id) {
		return // temporary keys have no record to update
	}
	if s.batch != nil {
		s.batch.RecordUse(id, region, service)
		return
	}
	now := s.now().UTC().Truncate(time.Second)
	s.usesMu.Lock()
	p, ok := s.uses[id]
	if !ok || !p.At.Equal(now) || p.Region != region || p.Service != service {
		s.uses[id] = LastUsed{At: now, Region: region, Service: service}
	}
	s.usesMu.Unlock()
}

// FlushUses writes pending key uses to the store in one batch. A use stays
// in memory, visible to lastUsed, until the store holds it: a read during
// the write must not see neither.
func (s *Service) FlushUses(ctx context.Context) error {
	s.usesMu.Lock()
	if len(s.uses) == 0 {
		s.usesMu.Unlock()
		return nil
	}
	batch := make([]KeyUse, 0, len(s.uses))
	for id, lu := range s.uses {
		batch = append(batch, KeyUse{AccessKeyID: id, LastUsed: lu})
	}
	s.usesMu.Unlock()
	if err := s.store.RecordKeyUse(ctx, batch); err != nil {
		s.observe.KeyUseFlush(len(batch), err)
		return err
	}
	s.observe.KeyUseFlush(len(batch), nil)
	s.usesMu.Lock()
	for _, u := range batch {
		// A newer use that arrived meanwhile waits for the next batch.
		if s.uses[u.AccessKeyID] == u.LastUsed {
			delete(s.uses, u.AccessKeyID)
		}
	}
	s.usesMu.Unlock()
	return nil
}

func (s *Service) flushLoop() {
	defer close(s.done)
	t := time.NewTicker(s.flushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.FlushUses(context.Background()); err != nil {
				s.log.Warn("recording key use failed; will retry", "err", err)
			}
		case <-s.stop:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.FlushUses(ctx); err != nil {
				s.log.Warn("recording key use at shutdown failed", "err", err)
			}
			cancel()
			return
		}
	}
}

// Readiness says whether the node serves and in what state, as /readyz
// answers: ready with the database ("ok"); ready without it, deciding
// from its replica ("degraded: …", the reason and how old the replica
// is); or not ready (the database does not answer and there is no
// replica, or the replica is older than allowed). The words hold no
// detail of the database (its address, its errors): the log has them.
func (s *Service) Readiness(ctx context.Context) (ready bool, words string) {
	pingErr := s.store.Ping(ctx)
	var st ReplicaStatus
	if s.replica != nil {
		st = s.replica.Status()
	}
	if st.MaxStale == 0 {
		// No replica, or one of the node's own database (SQLite), which
		// is no use without it.
		if pingErr != nil {
			return false, "not ready: the database does not answer"
		}
		return true, "ok"
	}
	age := s.now().Sub(st.Synced).Truncate(time.Second)
	switch {
	case st.Stale:
		return false, fmt.Sprintf("not ready: the database has not confirmed this node's replica for %s, longer than the %s allowed (max stale); decisions are refused", age, st.MaxStale)
	case pingErr != nil || st.Err != nil:
		return true, fmt.Sprintf("degraded: the database is unreachable; deciding from this node's replica (entry %d, confirmed %s ago; refused after %s); writes are refused", st.Seq, age, st.MaxStale)
	}
	return true, "ok"
}
