package iamd

import (
	"context"
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"iamd/policy"
)

// An object gateway (an S3 engine such as versitygw) serves the objects of
// buckets and asks iamd about every request it receives: the signing key
// of the access key that signed it, and whether its actions are allowed on
// its resources. iamd decides with the same keys, policies and caches as
// for its own APIs, so a key disabled or a policy changed holds on the
// gateway's next request.

// GatewayAction is what a key must be allowed in order to speak for a
// service that accepts iamd's keys (an object gateway, iamd proxy,
// Keystone's callers): to ask iamd for signing keys and decisions. The
// root may; an IAM user needs it in a policy, on resource "*". A call
// about one service carries it in the condition key DoorServiceKey, so
// that a door's key can be limited to the service it serves:
//
//	"Condition": {"StringEqualsIfExists": {"iamd:Service": "s3"}}
const GatewayAction = "iamd:DecideRequests"

// DoorServiceKey is the condition key that names the signing service a
// door asks about (s3 for an object gateway, execute-api for iamd proxy);
// calls that name no service (the version, the watch) leave it out.
const DoorServiceKey = "iamd:Service"

// Bounds of the time a signed request may carry, as every door checks it:
// MaxClockSkew either way of the clock, and back to MaxPresignedAge for a
// presigned URL (AWS's longest, X-Amz-Expires=604800).
const (
	MaxClockSkew    = 15 * time.Minute
	MaxPresignedAge = 7 * 24 * time.Hour
)

// ownServices are the signing names of iamd's own APIs (and of AWS's that
// iamd may serve). No door is handed a signing key for them or asked to
// decide or verify for them: a key derived for iam signs IAM calls as its
// holder.
var ownServices = map[string]bool{"iam": true, "sts": true, "lightsail": true, "organizations": true, "signin": true, "iamd": true}

// IsOwnService reports whether service (a SigV4 signing name, or the
// service part of an action) is one of iamd's own.
func IsOwnService(service string) bool { return ownServices[strings.ToLower(service)] }

// CheckDoorActions decides whether a door may ask for decisions on
// actions of service: never for iamd's own services, by the service it
// names or by any action's ("service:Action"; a wildcard service is
// refused too). AccessDenied otherwise.
func CheckDoorActions(service string, actions []string) error {
	if IsOwnService(service) {
		return Errorf(AccessDenied, "A door is never asked to decide for %s: it is one of iamd's own services.", service)
	}
	for _, a := range actions {
		if svc, _, ok := strings.Cut(a, ":"); !ok || IsOwnService(svc) || strings.ContainsAny(svc, "*?") {
			return Errorf(AccessDenied, "A door is never asked to decide %.128q: only actions of the services it serves.", a)
		}
	}
	return nil
}

var reScopePart = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// CheckDoorScope decides whether a door may be handed the signing key of a
// (date, region, service) scope at now: never for iamd's own services, and
// only for a date a request can carry now (a presigned URL's, back to
// MaxPresignedAge; nothing ahead beyond MaxClockSkew). AccessDenied or
// Invalid otherwise.
func CheckDoorScope(date, region, service string, now time.Time) error {
	if !reScopePart.MatchString(service) || !reScopePart.MatchString(region) {
		return Errorf(Invalid, "The scope's region and service must be lower-case names.")
	}
	if IsOwnService(service) {
		return Errorf(AccessDenied, "A door is never handed signing keys for %s: it is one of iamd's own services.", service)
	}
	day, err := time.Parse("20060102", date)
	if err != nil || len(date) != 8 {
		return Errorf(Invalid, "The scope's date must be yyyymmdd.")
	}
	earliest := now.Add(-MaxPresignedAge - MaxClockSkew).UTC().Truncate(24 * time.Hour)
	latest := now.Add(MaxClockSkew).UTC().Truncate(24 * time.Hour)
	if day.Before(earliest) || day.After(latest) {
		return Errorf(AccessDenied, "A signing key for %s is not handed out: a request can carry a date from %s to %s.", date,
			earliest.Format("20060102"), latest.Format("20060102"))
	}
	return nil
}

// ObjectStore is the object store Lightsail buckets live in, when iamd is
// configured with one: a bucket is made there before iamd records it, and
// removed there before iamd forgets it.
type ObjectStore interface {
	// CreateBucket makes the bucket. One that exists already and is the
	// store's own (left by an attempt that did not finish) is not an error.
	CreateBucket(ctx context.Context, name string) error
	// DeleteBucket deletes the bucket, and with force its objects first.
	// Conflict (BucketNotEmpty) if it holds objects and force is false; a
	// bucket that does not exist is not an error.
	DeleteBucket(ctx context.Context, name string, force bool) error
	// URL is where clients reach the bucket.
	URL(name string) string
}

// BucketNotEmpty is the Conflict error for deleting a bucket with objects.
func BucketNotEmpty(name string) *Error {
	return Errorf(Conflict, "The bucket %s is not empty. Delete its objects first, or set forceDelete to delete them with the bucket.", name)
}

// ErrNoSuchIdentity is returned to a gateway for a key that does not exist
// or is not Active: the gateway answers InvalidAccessKeyId.
var ErrNoSuchIdentity = &Error{Kind: NotFound, Message: "no identity for the given access key id"}

// ObjectRequest is what a service asks about one request it received: an
// object gateway about an S3 request, iamd proxy about an HTTP API call.
type ObjectRequest struct {
	AccessKeyID  string
	SessionToken string   // for temporary (ASIA…) keys, and only for them
	Service      string   // the service the request was for, recorded as the key's last use; "" is s3
	Actions      []string // s3:GetObject, execute-api:Invoke, …
	Resources    []string // arn:aws:s3:::bucket, arn:aws:s3:::bucket/key, arn:aws:execute-api:…
	// Condition is the request context the gateway sent, by key. Only the
	// keys that describe the request are taken (policy.RequestKeys, and
	// aws:SourceIp and aws:SecureTransport of the client's connection to
	// the gateway); identity keys come from iamd alone.
	Condition map[string][]string
	Region    string // the service's region, recorded as the key's last use
}

// Principal is who signed a decided request.
type Principal struct {
	ARN     string
	ID      string // AIDA…, or the account for the root
	Account string
	// Unconditional is true when no Condition took part in the decisions:
	// the same key, action and resource are decided the same way until a
	// Change (WatchChanges) says otherwise.
	Unconditional bool
}

// DecideObjects decides every action of r on every resource: decisions
// [i][j] is for Resources[i] and Actions[j]. The root may do everything;
// a bucket's key every S3 action on its bucket and the bucket's objects,
// except making or deleting buckets (Lightsail does that), and nothing
// else; an IAM user what its policies allow. It also returns who the
// caller is, and records the key's use for r.Service.
func (s *Service) DecideObjects(ctx context.Context, r ObjectRequest) ([][]policy.Decision, Principal, error) {
	cc, err := s.credential(ctx, r.AccessKeyID, r.SessionToken)
	if err != nil {
		return nil, Principal{}, err
	}
	if r.Service == "" {
		r.Service = "s3"
	}
	c := &cc.Caller
	unconditional := true
	out := make([][]policy.Decision, len(r.Resources))
	for i := range out {
		out[i] = make([]policy.Decision, len(r.Actions))
	}
	switch {
	case c.Kind == CallerRoot && c.Session == nil && s.guard == nil:
		for i := range out {
			for j := range out[i] {
				out[i][j] = policy.Allowed
			}
		}
	case c.Kind == CallerBucket:
		for i, res := range r.Resources {
			for j, a := range r.Actions {
				out[i][j] = bucketKeyDecision(c.Bucket.Name, a, res)
			}
		}
	default:
		d, err := s.decider(ctx, c)
		if err != nil {
			return nil, Principal{}, err
		}
		unconditional = !d.conditional
		pc := d.context(c, s.now())
		pc.SourceIP, pc.SecureTransport, pc.RequestedRegion = netip.Addr{}, false, ""
		pc.Request = map[string][]string{}
		for k, v := range r.Condition {
			switch k = strings.ToLower(k); {
			case k == "aws:sourceip" && len(v) > 0:
				if ip, err := netip.ParseAddr(v[0]); err == nil {
					pc.SourceIP = ip.Unmap()
				}
			case k == "aws:securetransport" && len(v) > 0:
				pc.SecureTransport = v[0] == "true"
			case isRequestKey(k):
				pc.Request[k] = v
			}
		}
		for i, res := range r.Resources {
			for j, a := range r.Actions {
				out[i][j] = d.decide(&policy.Request{Action: a, Resource: res, Context: &pc})
			}
		}
	}
	// Another account's bucket is not the caller's to open by its own
	// policies: its owner's bucket policy must grant it (the gateway
	// decides that).
	for i, res := range r.Resources {
		mine, err := s.ownsResource(ctx, res)
		if err != nil {
			return nil, Principal{}, err
		}
		if !mine {
			for j := range out[i] {
				if out[i][j] == policy.Allowed {
					out[i][j] = policy.ImplicitDeny
				}
			}
		}
	}
	s.RecordUse(r.AccessKeyID, r.Region, r.Service)
	return out, Principal{ARN: c.ARN(), ID: c.UserID(), Account: c.Account, Unconditional: unconditional}, nil
}

// ownsResource reports whether resource is not another account's: an ARN
// that names an account (an API of iamd proxy's) is that account's; an
// S3 bucket (or its objects) is the account's whose bucket it is, one
// iamd does not know the first account's; anything else is the caller's
// own. No resource policy here grants another account's principals: the
// gateway's bucket policies may.
func (s *Service) ownsResource(ctx context.Context, resource string) (bool, error) {
	if parts := strings.SplitN(resource, ":", 6); len(parts) == 6 && parts[4] != "" && !strings.ContainsAny(parts[4], "*?") {
		return parts[4] == s.account.ID, nil
	}
	rest, ok := strings.CutPrefix(resource, "arn:aws:s3:::")
	bucket, _, _ := strings.Cut(rest, "/")
	if !ok || bucket == "" || strings.ContainsAny(bucket, "*?") {
		return true, nil
	}
	if s.replica == nil {
		// Read from the store: an owner is kept for the credential TTL,
		// as keys are.
		if v, ok := s.owners.Load(bucket); ok && s.now().Sub(v.(bucketOwner).loaded) < s.ttl {
			return v.(bucketOwner).mine, nil
		}
	}
	acct, err := s.view.BucketAccount(ctx, bucket)
	mine := acct == s.account.ID
	switch {
	case errors.Is(err, ErrNotFound):
		mine = !s.member
	case err != nil:
		return false, err
	}
	if s.replica == nil && err == nil {
		s.owners.Store(bucket, bucketOwner{mine, s.now()}) // a bucket that exists: one that does not may be made
	}
	return mine, nil
}

// bucketOwner is whether a bucket is the account's, as read at loaded.
type bucketOwner struct {
	mine   bool
	loaded time.Time
}

func isRequestKey(k string) bool {
	for _, rk := range policy.RequestKeys {
		if k == rk {
			return true
		}
	}
	return false
}

// bucketKeyDecision is the fixed scope of a bucket's access key: every S3
// action on arn:aws:s3:::<bucket> and arn:aws:s3:::<bucket>/…, except
// making and deleting buckets, which Lightsail's API does.
func bucketKeyDecision(bucket, action, resource string) policy.Decision {
	a := strings.ToLower(action)
	if !strings.HasPrefix(a, "s3:") || a == "s3:createbucket" || a == "s3:deletebucket" {
		return policy.ImplicitDeny
	}
	arn := "arn:aws:s3:::" + bucket
	if resource == arn || strings.HasPrefix(resource, arn+"/") {
		return policy.Allowed
	}
	return policy.ImplicitDeny
}

// Identity is what a gateway learns of an access key ID: whether it
// exists, and the ARN of its holder.
type Identity struct {
	Found bool
	ARN   string
}

// ResolveIdentities resolves access key IDs, one Identity per ID, in order.
// Inactive keys resolve too: they name a principal all the same.
func (s *Service) ResolveIdentities(ctx context.Context, ids []string) ([]Identity, error) {
	out := make([]Identity, len(ids))
	for i, id := range ids {
		c, err := s.Credential(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[i] = Identity{Found: true, ARN: c.Caller.ARN()}
	}
	return out, nil
}

// InvalidPrincipals returns those of the principals a bucket policy names
// that are no principal of this account: valid are the account ID, its
// root ARN, the exact ARN of one of its users or roles (path and case
// included), a session ARN of one of its roles and the ARN of one of its
// buckets.
func (s *Service) InvalidPrincipals(ctx context.Context, principals []string) ([]string, error) {
	invalid := []string{}
	for _, p := range principals {
		ok, err := s.isPrincipal(ctx, p)
		if err != nil {
			return nil, err
		}
		if !ok {
			invalid = append(invalid, p)
		}
	}
	return invalid, nil
}

var reSessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func (s *Service) isPrincipal(ctx context.Context, p string) (bool, error) {
	acct := s.account.ID
	if p == acct || p == "arn:aws:iam::"+acct+":root" {
		return true, nil
	}
	if strings.HasPrefix(p, "arn:aws:iam::"+acct+":user/") || strings.HasPrefix(p, "arn:aws:iam::"+acct+":role/") {
		id, err := s.principalEntityID(ctx, p)
		return id != "", err
	}
	if rest, ok := strings.CutPrefix(p, "arn:aws:sts::"+acct+":assumed-role/"); ok {
		// The role must exist; the session need not.
		role, session, ok := strings.Cut(rest, "/")
		if !ok || role == "" || !reSessionName.MatchString(session) {
			return false, nil
		}
		r, err := s.view.GetRole(ctx, role)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return err == nil && r.Name == role, err
	}
	if id, ok := strings.CutPrefix(p, "arn:aws:lightsail:"+s.region+":"+acct+":Bucket/"); ok && id != "" {
		// Buckets are few; a bucket policy naming one is rare.
		for marker := ""; ; {
			bs, next, err := s.store.ListBuckets(ctx, Page{Marker: marker, MaxItems: 100})
			if err != nil {
				return false, err
			}
			for _, b := range bs {
				if b.ID == id {
					return true, nil
				}
			}
			if next == "" {
				return false, nil
			}
			marker = next
		}
	}
	return false, nil
}

// RootSigningCredential returns an Active key of the root and its secret,
// with which iamd signs its own calls to the object store (which checks
// them through the gateway like any other). It never leaves the process.
func (s *Service) RootSigningCredential(ctx context.Context) (id string, secret []byte, err error) {
	keys, _, err := s.store.ListAccessKeys(ctx, RootOwner, Page{MaxItems: MaxAccessKeysPerOwner})
	if err != nil {
		return "", nil, err
	}
	for _, k := range keys {
		if k.Status != StatusActive {
			continue
		}
		c, err := s.Credential(ctx, k.ID)
		if err != nil {
			return "", nil, err
		}
		return k.ID, c.Secret, nil
	}
	return "", nil, Errorf(Unavailable, "the root has no Active access key to sign object-store calls with")
}
