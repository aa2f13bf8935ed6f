// Package organizations serves AWS Organizations for the deployment's
// account, the organization's management account: the organization, its
// root, the service control policies (SCPs) and where they are attached.
//
// A deployment holds one account today, and SCPs never bind the
// management account (as on AWS), so no decision depends on them yet; they
// are kept, validated and listed as AWS keeps them, ready for member
// accounts. CreateAccount and organizational units are not served.
package organizations

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"iamd"
	"iamd/policy"
)

// Store keeps the organization as one document, read and replaced whole
// (iamd.Store's Organization and UpdateOrganization), and the accounts it
// creates (In).
type Store interface {
	Organization(ctx context.Context) ([]byte, error)
	UpdateOrganization(ctx context.Context, fn func([]byte) ([]byte, error)) error
	In(account string) iamd.Store
}

// Organizations is the organization of a Service's account.
type Organizations struct {
	svc     *iamd.Service
	store   Store
	reader  Reader // where it is read; store without one
	now     func() time.Time
	created func(account string, at time.Time) // OnCreate
	closed  func(account string)               // OnClose
	guard   guardState                         // what Guardrail reads
}

// New returns the organization of svc's account, kept in store.
func New(svc *iamd.Service, store Store) *Organizations {
	return &Organizations{svc: svc, store: store, reader: store, now: time.Now}
}

// Reader reads the organization's document (nil: none).
type Reader interface {
	Organization(ctx context.Context) ([]byte, error)
}

// ReadFrom has g read the organization from r: the node's replica, so
// that the accounts it serves and the SCPs that bind them are known while
// the database is away. Changes still go to the store, and a replica
// holds a change its node made before the change returns.
func (g *Organizations) ReadFrom(r Reader) { g.reader = r }

// SCP is the one policy type served.
const SCP = "SERVICE_CONTROL_POLICY"

// FullAccessID is AWS's managed SCP that allows everything, attached to
// every target when SCPs are enabled.
const FullAccessID = "p-FullAWSAccess"

const fullAccessContent = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// Limits AWS documents for SCPs.
const (
	maxPolicyChars = 5120 // characters of an SCP's content
	maxPerTarget   = 5    // SCPs attached to one root, OU or account
	maxPolicies    = 1000 // policies of one type in an organization
	maxNameLen     = 128
	maxDescription = 512
)

// Org is the stored document.
type Org struct {
	ID          string    `json:"id"`
	RootID      string    `json:"root"`
	FeatureSet  string    `json:"features"`
	CreatedAt   time.Time `json:"created"`
	PolicyTypes []string  `json:"types,omitempty"` // enabled in the root
	Policies    []*Policy `json:"policies,omitempty"`
	// Attached: target ID (root or account) → policy IDs, in order of
	// attachment.
	Attached map[string][]string `json:"attached,omitempty"`
	// Tags: resource ID (a policy, the root, an account) → its tags.
	Tags map[string][]iamd.Tag `json:"tags,omitempty"`
	// Members are the accounts CreateAccount made, in order; Requests
	// are the CreateAccount requests.
	Members  []*Member        `json:"members,omitempty"`
	Requests []*CreateRequest `json:"requests,omitempty"`
}

// Policy is a customer-managed policy of the organization, or FullAWSAccess.
type Policy struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
	Content     string `json:"content"`
	AWSManaged  bool   `json:"-"`
}

var fullAccess = &Policy{ID: FullAccessID, Name: "FullAWSAccess", Description: "Allows access to every operation",
	Type: SCP, Content: fullAccessContent, AWSManaged: true}

// ARN is the organization's ARN.
func (o *Org) ARN(account string) string {
	return "arn:aws:organizations::" + account + ":organization/" + o.ID
}

// RootARN is the root's ARN.
func (o *Org) RootARN(account string) string {
	return "arn:aws:organizations::" + account + ":root/" + o.ID + "/" + o.RootID
}

// AccountARN is an account's ARN in the organization.
func (o *Org) AccountARN(management, account string) string {
	return "arn:aws:organizations::" + management + ":account/" + o.ID + "/" + account
}

// PolicyARN is a policy's ARN; AWS-managed ones belong to "aws".
func (o *Org) PolicyARN(account string, p *Policy) string {
	if p.AWSManaged {
		return "arn:aws:organizations::aws:policy/service_control_policy/" + p.ID
	}
	return "arn:aws:organizations::" + account + ":policy/" + o.ID + "/service_control_policy/" + p.ID
}

func (o *Org) enabled(t string) bool { return slices.Contains(o.PolicyTypes, t) }

// policy returns the policy of that ID, FullAWSAccess included.
func (o *Org) policy(id string) *Policy {
	if id == FullAccessID {
		return fullAccess
	}
	for _, p := range o.Policies {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// Policies lists the policies of type t: FullAWSAccess first for SCPs.
func (o *Org) policiesOf(t string) []*Policy {
	var out []*Policy
	if t == SCP {
		out = append(out, fullAccess)
	}
	for _, p := range o.Policies {
		if p.Type == t {
			out = append(out, p)
		}
	}
	return out
}

// targets lists where policy id is attached, by target ID.
func (o *Org) targets(id string) []string {
	var out []string
	for t, ids := range o.Attached {
		if slices.Contains(ids, id) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// Error is an Organizations exception: its type names it on the wire.
type Error struct {
	Type    string
	Message string
	Reason  string // ConstraintViolationException's and InvalidInputException's
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

func orgErr(typ, msg string) error { return &Error{Type: typ, Message: msg} }

// AWS's texts for these exceptions, from its API reference.
var (
	errNotInUse          = orgErr("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
	errAlreadyIn         = orgErr("AlreadyInOrganizationException", "The AWS account is already a member of an organization.")
	errPolicyNotFound    = orgErr("PolicyNotFoundException", "We can't find a policy with the PolicyId that you specified.")
	errTargetNotFound    = orgErr("TargetNotFoundException", "We can't find a root, OU, account, or policy with the TargetId that you specified.")
	errRootNotFound      = orgErr("RootNotFoundException", "We can't find a root with the RootId that you specified.")
	errDuplicatePolicy   = orgErr("DuplicatePolicyException", "A policy with the same name already exists.")
	errDuplicateAttached = orgErr("DuplicatePolicyAttachmentException", "The selected policy is already attached to the specified target.")
	errNotAttached       = orgErr("PolicyNotAttachedException", "The policy isn't attached to the specified target in the specified root.")
	errInUse             = orgErr("PolicyInUseException", "The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before performing this operation.")
	errTypeNotEnabled    = orgErr("PolicyTypeNotEnabledException", "The specified policy type isn't currently enabled in this root. You can't attach policies of the specified type to entities in a root until you enable that type in the root.")
	errTypeEnabled       = orgErr("PolicyTypeAlreadyEnabledException", "The specified policy type is already enabled.")
	errTypeNotAvailable  = orgErr("PolicyTypeNotAvailableForOrganizationException", "You can't use the specified policy type with the feature set currently enabled for this organization.")
	errConcurrent        = orgErr("ConcurrentModificationException", "The target of the operation is currently being modified by a different request. Try again later.")
)

func invalid(reason, msg string) error {
	return &Error{Type: "InvalidInputException", Message: msg, Reason: reason}
}

func constraint(reason, msg string) error {
	return &Error{Type: "ConstraintViolationException", Message: msg, Reason: reason}
}

// authorize decides organizations:action on resource for c.
func (g *Organizations) authorize(ctx context.Context, c *iamd.Caller, action, resource string) error {
	return g.svc.Authorize(ctx, c, "organizations:"+action, resource)
}

func (g *Organizations) account() string { return g.svc.Account().ID }

// load reads the organization; errNotInUse if there is none.
func (g *Organizations) load(ctx context.Context) (*Org, error) {
	doc, err := g.reader.Organization(ctx)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, errNotInUse
	}
	return decode(doc)
}

func decode(doc []byte) (*Org, error) {
	var o Org
	if err := json.Unmarshal(doc, &o); err != nil {
		return nil, fmt.Errorf("organizations: the stored organization does not decode: %w", err)
	}
	return &o, nil
}

// update changes the organization with fn, atomically.
func (g *Organizations) update(ctx context.Context, fn func(*Org) error) (*Org, error) {
	var out *Org
	err := g.store.UpdateOrganization(ctx, func(doc []byte) ([]byte, error) {
		if doc == nil {
			return nil, errNotInUse
		}
		o, err := decode(doc)
		if err != nil {
			return nil, err
		}
		if err := fn(o); err != nil {
			return nil, err
		}
		out = o
		return json.Marshal(o)
	})
	if iamd.KindOf(err) == iamd.Conflict {
		return nil, errConcurrent
	}
	if err == nil {
		g.changed()
	}
	return out, err
}

// Create makes the organization with the caller's account as its
// management account.
func (g *Organizations) Create(ctx context.Context, c *iamd.Caller, featureSet string) (*Org, error) {
	if err := g.authorize(ctx, c, "CreateOrganization", "*"); err != nil {
		return nil, err
	}
	switch featureSet {
	case "":
		featureSet = "ALL"
	case "ALL", "CONSOLIDATED_BILLING":
	default:
		return nil, invalid("INVALID_ENUM", "You specified an invalid value.")
	}
	o := &Org{ID: "o-" + randomID(10), RootID: "r-" + randomID(4), FeatureSet: featureSet, CreatedAt: g.now().UTC().Truncate(time.Millisecond)}
	err := g.store.UpdateOrganization(ctx, func(doc []byte) ([]byte, error) {
		if doc != nil {
			return nil, errAlreadyIn
		}
		return json.Marshal(o)
	})
	if iamd.KindOf(err) == iamd.Conflict {
		return nil, errAlreadyIn
	}
	if err != nil {
		return nil, err
	}
	g.changed()
	return o, nil
}

// Describe returns the organization.
func (g *Organizations) Describe(ctx context.Context, c *iamd.Caller, action string) (*Org, error) {
	if err := g.authorize(ctx, c, action, "*"); err != nil {
		return nil, err
	}
	return g.load(ctx)
}

// Delete deletes the organization, which holds only its management
// account here, with its policies.
func (g *Organizations) Delete(ctx context.Context, c *iamd.Caller) error {
	if err := g.authorize(ctx, c, "DeleteOrganization", "*"); err != nil {
		return err
	}
	err := g.store.UpdateOrganization(ctx, func(doc []byte) ([]byte, error) {
		if doc == nil {
			return nil, errNotInUse
		}
		o, err := decode(doc)
		if err != nil {
			return nil, err
		}
		// Closed accounts do not hold it: their data stays in the
		// deployment, and no account is made again under their IDs.
		if slices.ContainsFunc(o.Members, (*Member).Open) {
			return nil, errOrganizationInUse
		}
		return nil, nil
	})
	if err == nil {
		g.changed()
	}
	return err
}

// SetPolicyType enables or disables a policy type in the root. Enabling
// SCPs attaches FullAWSAccess to the root and every account, as AWS does;
// disabling them detaches every SCP.
func (g *Organizations) SetPolicyType(ctx context.Context, c *iamd.Caller, rootID, typ string, enable bool) (*Org, error) {
	action := "DisablePolicyType"
	if enable {
		action = "EnablePolicyType"
	}
	o, err := g.load(ctx)
	if err != nil {
		if err := g.authorize(ctx, c, action, "*"); err != nil {
			return nil, err
		}
		return nil, err
	}
	if err := g.authorize(ctx, c, action, o.RootARN(g.account())); err != nil {
		return nil, err
	}
	if typ != SCP {
		if !validType(typ) {
			return nil, invalid("INVALID_ENUM", "You specified an invalid value.")
		}
		return nil, errTypeNotAvailable
	}
	return g.update(ctx, func(o *Org) error {
		if o.RootID != rootID {
			return errRootNotFound
		}
		if o.FeatureSet != "ALL" {
			return errTypeNotAvailable
		}
		switch {
		case enable && o.enabled(typ):
			return errTypeEnabled
		case !enable && !o.enabled(typ):
			return errTypeNotEnabled
		case enable:
			o.PolicyTypes = append(o.PolicyTypes, typ)
			if o.Attached == nil {
				o.Attached = map[string][]string{}
			}
			// FullAWSAccess on the root and every account, as AWS does.
			targets := []string{o.RootID, g.account()}
			for _, m := range o.Members {
				targets = append(targets, m.ID)
			}
			for _, t := range targets {
				o.Attached[t] = append(o.Attached[t], FullAccessID)
			}
		default:
			o.PolicyTypes = slices.DeleteFunc(o.PolicyTypes, func(t string) bool { return t == typ })
			o.Attached = nil
		}
		return nil
	})
}

func validType(t string) bool {
	switch t {
	case "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY", "TAG_POLICY", "BACKUP_POLICY", "AISERVICES_OPT_OUT_POLICY",
		"CHATBOT_POLICY", "DECLARATIVE_POLICY_EC2", "SECURITYHUB_POLICY", "INSPECTOR_POLICY", "UPGRADE_ROLLOUT_POLICY",
		"BEDROCK_POLICY", "S3_POLICY", "NETWORK_SECURITY_DIRECTOR_POLICY":
		return true
	}
	return false
}

// checkPolicy checks a policy's name, description and content as AWS does
// for an SCP: a policy document of at most 5,120 characters, with no
// Principal (an SCP names no one: it bounds the accounts it is attached
// to).
func checkPolicy(name, description, content *string) error {
	if name != nil && *name == "" {
		return invalid("MIN_LENGTH_EXCEEDED", "You provided a string parameter that is shorter than allowed.")
	}
	if name != nil && len(*name) > maxNameLen || description != nil && len(*description) > maxDescription {
		return invalid("MAX_LENGTH_EXCEEDED", "You provided a string parameter that is longer than allowed.")
	}
	if content == nil {
		return nil
	}
	if len(*content) > maxPolicyChars {
		return constraint("POLICY_CONTENT_LIMIT_EXCEEDED", "You have exceeded the maximum size of a policy.")
	}
	// An identity policy's grammar: no Principal, as in an SCP.
	if _, err := policy.Parse(*content); err != nil {
		return orgErr("MalformedPolicyDocumentException", "The provided policy document doesn't meet the requirements of the specified policy type.")
	}
	return nil
}

// maxTags is how many tags a resource of Organizations may have.
const maxTags = 50

// checkTags checks tags as Organizations does: keys of 1–128 characters,
// values of up to 256, no key twice.
func checkTags(tags []iamd.Tag) error {
	seen := map[string]bool{}
	for _, t := range tags {
		if t.Key == "" {
			return invalid("MIN_LENGTH_EXCEEDED", "You provided a string parameter that is shorter than allowed.")
		}
		if len(t.Key) > 128 || len(t.Value) > 256 {
			return invalid("MAX_LENGTH_EXCEEDED", "You provided a string parameter that is longer than allowed.")
		}
		if seen[t.Key] {
			return invalid("DUPLICATE_TAG_KEY", "You specified a tag key more than once.")
		}
		seen[t.Key] = true
	}
	if len(tags) > maxTags {
		return constraint("MAX_TAG_LIMIT_EXCEEDED", "You have exceeded the maximum number of tags allowed on this resource.")
	}
	return nil
}

// CreatePolicy makes a customer-managed SCP.
func (g *Organizations) CreatePolicy(ctx context.Context, c *iamd.Caller, name, description, typ, content string, tags []iamd.Tag) (*Org, *Policy, error) {
	if err := g.authorize(ctx, c, "CreatePolicy", "*"); err != nil {
		return nil, nil, err
	}
	if typ != SCP {
		if !validType(typ) {
			return nil, nil, invalid("INVALID_ENUM", "You specified an invalid value.")
		}
		return nil, nil, errTypeNotAvailable
	}
	if err := checkPolicy(&name, &description, &content); err != nil {
		return nil, nil, err
	}
	if err := checkTags(tags); err != nil {
		return nil, nil, err
	}
	p := &Policy{ID: "p-" + randomID(8), Name: name, Description: description, Type: typ, Content: content}
	o, err := g.update(ctx, func(o *Org) error {
		if o.FeatureSet != "ALL" {
			return errTypeNotAvailable
		}
		for _, q := range o.policiesOf(typ) {
			if q.Name == name {
				return errDuplicatePolicy
			}
		}
		if len(o.policiesOf(typ)) >= maxPolicies {
			return constraint("POLICY_NUMBER_LIMIT_EXCEEDED", "You have attached the maximum number of policies to the entity.")
		}
		o.Policies = append(o.Policies, p)
		if len(tags) > 0 {
			if o.Tags == nil {
				o.Tags = map[string][]iamd.Tag{}
			}
			o.Tags[p.ID] = tags
		}
		return nil
	})
	return o, p, err
}

// Policy returns the policy of that ID.
func (g *Organizations) Policy(ctx context.Context, c *iamd.Caller, id string) (*Org, *Policy, error) {
	return g.findPolicy(ctx, c, "DescribePolicy", id)
}

// findPolicy loads the organization and authorizes action on policy id.
// A refusal names the policy ARN the request would have: it does not tell
// whether the policy exists.
func (g *Organizations) findPolicy(ctx context.Context, c *iamd.Caller, action, id string) (*Org, *Policy, error) {
	o, err := g.load(ctx)
	if err != nil {
		if err := g.authorize(ctx, c, action, "*"); err != nil {
			return nil, nil, err
		}
		return nil, nil, err
	}
	p := o.policy(id)
	resource := o.PolicyARN(g.account(), &Policy{ID: id, AWSManaged: id == FullAccessID})
	if err := g.authorize(ctx, c, action, resource); err != nil {
		return nil, nil, err
	}
	if p == nil {
		return nil, nil, errPolicyNotFound
	}
	return o, p, nil
}

// UpdatePolicy changes a customer-managed SCP's name, description or
// content (nil: unchanged).
func (g *Organizations) UpdatePolicy(ctx context.Context, c *iamd.Caller, id string, name, description, content *string) (*Org, *Policy, error) {
	if _, _, err := g.findPolicy(ctx, c, "UpdatePolicy", id); err != nil {
		return nil, nil, err
	}
	if id == FullAccessID {
		return nil, nil, invalid("IMMUTABLE_POLICY", "You specified a policy that is managed by AWS and can't be modified.")
	}
	if err := checkPolicy(name, description, content); err != nil {
		return nil, nil, err
	}
	var out *Policy
	o, err := g.update(ctx, func(o *Org) error {
		p := o.policy(id)
		if p == nil {
			return errPolicyNotFound
		}
		if name != nil && *name != p.Name {
			for _, q := range o.policiesOf(p.Type) {
				if q.Name == *name {
					return errDuplicatePolicy
				}
			}
			p.Name = *name
		}
		if description != nil {
			p.Description = *description
		}
		if content != nil {
			p.Content = *content
		}
		out = p
		return nil
	})
	return o, out, err
}

// DeletePolicy deletes a customer-managed SCP attached nowhere.
func (g *Organizations) DeletePolicy(ctx context.Context, c *iamd.Caller, id string) error {
	if _, _, err := g.findPolicy(ctx, c, "DeletePolicy", id); err != nil {
		return err
	}
	if id == FullAccessID {
		return invalid("IMMUTABLE_POLICY", "You specified a policy that is managed by AWS and can't be modified.")
	}
	_, err := g.update(ctx, func(o *Org) error {
		if o.policy(id) == nil {
			return errPolicyNotFound
		}
		if len(o.targets(id)) > 0 {
			return errInUse
		}
		o.Policies = slices.DeleteFunc(o.Policies, func(p *Policy) bool { return p.ID == id })
		delete(o.Tags, id)
		return nil
	})
	return err
}

// ListPolicies lists the policies of type typ.
func (g *Organizations) ListPolicies(ctx context.Context, c *iamd.Caller, typ string) (*Org, []*Policy, error) {
	if err := g.authorize(ctx, c, "ListPolicies", "*"); err != nil {
		return nil, nil, err
	}
	if !validType(typ) {
		return nil, nil, invalid("INVALID_ENUM", "You specified an invalid value.")
	}
	o, err := g.load(ctx)
	if err != nil {
		return nil, nil, err
	}
	return o, o.policiesOf(typ), nil
}

// Target is a root or account a policy can be attached to.
type Target struct {
	ID, ARN, Name, Type string
}

// target resolves a target ID: the root or an account.
func (g *Organizations) target(o *Org, id string) (Target, error) {
	switch id {
	case o.RootID:
		return Target{ID: id, ARN: o.RootARN(g.account()), Name: "Root", Type: "ROOT"}, nil
	case g.account():
		return Target{ID: id, ARN: o.AccountARN(g.account(), id), Name: g.account(), Type: "ACCOUNT"}, nil
	}
	if m := o.member(id); m != nil {
		return Target{ID: id, ARN: o.AccountARN(g.account(), id), Name: m.Name, Type: "ACCOUNT"}, nil
	}
	return Target{}, errTargetNotFound
}

// Attach attaches or detaches policy id to target.
func (g *Organizations) Attach(ctx context.Context, c *iamd.Caller, id, targetID string, attach bool) error {
	action := "DetachPolicy"
	if attach {
		action = "AttachPolicy"
	}
	o, p, err := g.findPolicy(ctx, c, action, id)
	if err != nil {
		return err
	}
	t, err := g.target(o, targetID)
	if err != nil {
		if err := g.authorize(ctx, c, action, "*"); err != nil {
			return err
		}
		return err
	}
	if err := g.authorize(ctx, c, action, t.ARN); err != nil {
		return err
	}
	_, err = g.update(ctx, func(o *Org) error {
		if o.policy(id) == nil {
			return errPolicyNotFound
		}
		if !o.enabled(p.Type) {
			return errTypeNotEnabled
		}
		ids := o.Attached[targetID]
		switch {
		case attach && slices.Contains(ids, id):
			return errDuplicateAttached
		case attach && len(ids) >= maxPerTarget:
			return constraint("MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED", "You have attached the maximum number of policies of this type to the entity.")
		case attach:
			if o.Attached == nil {
				o.Attached = map[string][]string{}
			}
			o.Attached[targetID] = append(ids, id)
		case !slices.Contains(ids, id):
			return errNotAttached
		case len(ids) == 1:
			// Every target keeps at least one SCP: without any, nothing
			// would be allowed in it.
			return constraint("MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED", "You can't detach the last policy of this type from the entity.")
		default:
			o.Attached[targetID] = slices.DeleteFunc(slices.Clone(ids), func(s string) bool { return s == id })
		}
		return nil
	})
	return err
}

// PoliciesFor lists the policies of type typ attached to target.
func (g *Organizations) PoliciesFor(ctx context.Context, c *iamd.Caller, targetID, typ string) (*Org, []*Policy, error) {
	o, err := g.load(ctx)
	if err != nil {
		if err := g.authorize(ctx, c, "ListPoliciesForTarget", "*"); err != nil {
			return nil, nil, err
		}
		return nil, nil, err
	}
	t, err := g.target(o, targetID)
	if err != nil {
		if err := g.authorize(ctx, c, "ListPoliciesForTarget", "*"); err != nil {
			return nil, nil, err
		}
		return nil, nil, err
	}
	if err := g.authorize(ctx, c, "ListPoliciesForTarget", t.ARN); err != nil {
		return nil, nil, err
	}
	if !validType(typ) {
		return nil, nil, invalid("INVALID_ENUM", "You specified an invalid value.")
	}
	var out []*Policy
	for _, id := range o.Attached[targetID] {
		if p := o.policy(id); p != nil && p.Type == typ {
			out = append(out, p)
		}
	}
	return o, out, nil
}

// TargetsFor lists where policy id is attached.
func (g *Organizations) TargetsFor(ctx context.Context, c *iamd.Caller, id string) ([]Target, error) {
	o, _, err := g.findPolicy(ctx, c, "ListTargetsForPolicy", id)
	if err != nil {
		return nil, err
	}
	var out []Target
	for _, t := range o.targets(id) {
		if tg, err := g.target(o, t); err == nil {
			out = append(out, tg)
		}
	}
	return out, nil
}

// resourceARN returns the ARN of a taggable resource: a customer-managed
// policy, the root or an account of the organization.
func (g *Organizations) resourceARN(o *Org, id string) (string, error) {
	if p := o.policy(id); p != nil && !p.AWSManaged {
		return o.PolicyARN(g.account(), p), nil
	}
	if t, err := g.target(o, id); err == nil {
		return t.ARN, nil
	}
	return "", errTargetNotFound
}

// Tags returns a resource's tags.
func (g *Organizations) Tags(ctx context.Context, c *iamd.Caller, id string) ([]iamd.Tag, error) {
	o, err := g.taggable(ctx, c, "ListTagsForResource", id)
	if err != nil {
		return nil, err
	}
	return o.Tags[id], nil
}

// taggable loads the organization and authorizes action on resource id.
func (g *Organizations) taggable(ctx context.Context, c *iamd.Caller, action, id string) (*Org, error) {
	o, err := g.load(ctx)
	if err == nil {
		var arn string
		if arn, err = g.resourceARN(o, id); err == nil {
			if err := g.authorize(ctx, c, action, arn); err != nil {
				return nil, err
			}
			return o, nil
		}
	}
	if aerr := g.authorize(ctx, c, action, "*"); aerr != nil {
		return nil, aerr
	}
	return nil, err
}

// Tag adds or replaces tags on a resource; Untag removes keys.
func (g *Organizations) Tag(ctx context.Context, c *iamd.Caller, id string, tags []iamd.Tag, untag []string) error {
	action := "TagResource"
	if untag != nil {
		action = "UntagResource"
	}
	if _, err := g.taggable(ctx, c, action, id); err != nil {
		return err
	}
	if err := checkTags(tags); err != nil {
		return err
	}
	_, err := g.update(ctx, func(o *Org) error {
		if _, err := g.resourceARN(o, id); err != nil {
			return err
		}
		cur := slices.Clone(o.Tags[id])
		for _, t := range tags {
			cur = slices.DeleteFunc(cur, func(x iamd.Tag) bool { return x.Key == t.Key })
			cur = append(cur, t)
		}
		cur = slices.DeleteFunc(cur, func(x iamd.Tag) bool { return slices.Contains(untag, x.Key) })
		if len(cur) > maxTags {
			return constraint("MAX_TAG_LIMIT_EXCEEDED", "You have exceeded the maximum number of tags allowed on this resource.")
		}
		if o.Tags == nil {
			o.Tags = map[string][]iamd.Tag{}
		}
		if o.Tags[id] = cur; len(cur) == 0 {
			delete(o.Tags, id)
		}
		return nil
	})
	return err
}

// Account is an account of the organization.
type Account struct {
	ID, ARN, Name, Email string
	JoinedAt             time.Time
	Created              bool // by CreateAccount; the management account was not
	Closed               bool
}

// Accounts lists the organization's accounts: its management account,
// then those it created, closed ones too (AWS lists them while it keeps
// them).
func (g *Organizations) Accounts(ctx context.Context, c *iamd.Caller) ([]Account, error) {
	if err := g.authorize(ctx, c, "ListAccounts", "*"); err != nil {
		return nil, err
	}
	o, err := g.load(ctx)
	if err != nil {
		return nil, err
	}
	out := []Account{g.management(o)}
	for _, m := range o.Members {
		out = append(out, g.memberAccount(o, m))
	}
	return out, nil
}

func (g *Organizations) management(o *Org) Account {
	return Account{ID: g.account(), ARN: o.AccountARN(g.account(), g.account()), Name: g.account(), JoinedAt: o.CreatedAt}
}

func (g *Organizations) memberAccount(o *Org, m *Member) Account {
	return Account{ID: m.ID, ARN: o.AccountARN(g.account(), m.ID), Name: m.Name, Email: m.Email, JoinedAt: m.JoinedAt, Created: true, Closed: !m.Open()}
}

// Account returns an account of the organization. AccountNotFound for any
// other ID, whether or not such an account exists elsewhere.
func (g *Organizations) Account(ctx context.Context, c *iamd.Caller, id string) (Account, error) {
	o, err := g.load(ctx)
	if err != nil {
		if err := g.authorize(ctx, c, "DescribeAccount", "*"); err != nil {
			return Account{}, err
		}
		return Account{}, err
	}
	if err := g.authorize(ctx, c, "DescribeAccount", o.AccountARN(g.account(), id)); err != nil {
		return Account{}, err
	}
	if m := o.member(id); m != nil {
		return g.memberAccount(o, m), nil
	}
	if id != g.account() {
		return Account{}, errAccountNotFound
	}
	return g.management(o), nil
}

// randomID is n characters of [a-z0-9], the alphabet of Organizations'
// IDs, each drawn without modulo bias.
func randomID(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 0, n)
	b := make([]byte, 2*n)
	for len(out) < n {
		rand.Read(b) // never fails (crypto/rand)
		for _, v := range b {
			// 252 is the largest multiple of 36 a byte holds.
			if v < 252 && len(out) < n {
				out = append(out, alphabet[v%36])
			}
		}
	}
	return string(out)
}
