package organizations

import (
	"context"
	"crypto/rand"
	"math/big"
	"regexp"
	"slices"
	"time"

	"iamd"
)

// Member is an account the organization created (CreateAccount). Its
// data is in the deployment's database under its ID; closing it keeps
// the data and stops its keys and sessions.
type Member struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Email    string    `json:"email"`
	JoinedAt time.Time `json:"joined"`
	ClosedAt time.Time `json:"closed,omitzero"`
}

// Open reports whether the account can be used.
func (m *Member) Open() bool { return m.ClosedAt.IsZero() }

// CreateRequest is a CreateAccount request as DescribeCreateAccountStatus
// reports it.
type CreateRequest struct {
	ID          string    `json:"id"` // car-…
	AccountName string    `json:"name"`
	State       string    `json:"state"` // SUCCEEDED or FAILED: accounts are made before CreateAccount answers
	Requested   time.Time `json:"requested"`
	Completed   time.Time `json:"completed"`
	AccountID   string    `json:"account,omitempty"`
	Failure     string    `json:"failure,omitempty"`
}

// AccessRole is the role a new account gets when CreateAccount names none.
const AccessRole = "OrganizationAccountAccessRole"

// administratorAccess is the AWS-managed policy the access role holds.
var administratorAccess = iamd.AttachedPolicy{ID: "ANPAIWMBCKSKIEE64ZLYK", ARN: "arn:aws:iam::aws:policy/AdministratorAccess"}

// maxAccounts bounds the accounts of an organization (AWS's default quota
// is 10 and raised on request; one deployment holds more).
const maxAccounts = 10000

var (
	reEmail    = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)
	reRoleName = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

var (
	errAccountNotFound   = orgErr("AccountNotFoundException", "You specified an account that doesn't exist.")
	errAlreadyClosed     = orgErr("AccountAlreadyClosedException", "You provided an account that is already closed.")
	errRequestNotFound   = orgErr("CreateAccountStatusNotFoundException", "We can't find an create account request with the CreateAccountRequestId that you specified.")
	errOrganizationInUse = orgErr("OrganizationNotEmptyException", "The organization isn't empty. To delete an organization, you must first remove all accounts except the management account.")
	errChildNotFound     = orgErr("ChildNotFoundException", "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.")
)

// CreateAccount makes a member account: an empty account of the
// deployment whose role roleName (AccessRole when "") trusts the
// management account and holds AdministratorAccess, as AWS makes it. The
// operator assumes that role to create the account's first administrator.
// The account exists when CreateAccount returns: its request has
// SUCCEEDED, or FAILED with AWS's reason when the email is another
// account's.
func (g *Organizations) CreateAccount(ctx context.Context, c *iamd.Caller, email, name, roleName string, tags []iamd.Tag) (*CreateRequest, error) {
	if err := g.authorize(ctx, c, "CreateAccount", "*"); err != nil {
		return nil, err
	}
	switch {
	case len(email) < 6 || len(email) > 64 || !reEmail.MatchString(email):
		return nil, invalid("INVALID_EMAIL_ADDRESS_TARGET", "You provided an invalid email address.")
	case name == "" || len(name) > 50:
		return nil, invalid("INVALID_INPUT", "You provided a value that does not match the required pattern.")
	case roleName != "" && !reRoleName.MatchString(roleName):
		return nil, invalid("INVALID_PATTERN", "You provided a value that does not match the required pattern.")
	}
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	if roleName == "" {
		roleName = AccessRole
	}
	o, err := g.load(ctx)
	if err != nil {
		return nil, err
	}
	now := g.now().UTC().Truncate(time.Millisecond)
	req := &CreateRequest{ID: "car-" + randomID(32), AccountName: name, Requested: now, Completed: now}
	if slices.ContainsFunc(o.Members, func(m *Member) bool { return m.Email == email }) {
		req.State, req.Failure = "FAILED", "EMAIL_ALREADY_EXISTS"
	} else {
		req.State = "SUCCEEDED"
		if req.AccountID, err = g.newAccountID(ctx, o); err != nil {
			return nil, err
		}
		// The account's role first: an account listed is one that can be
		// entered.
		if err := g.provision(ctx, req.AccountID, roleName); err != nil {
			return nil, err
		}
	}
	_, err = g.update(ctx, func(o *Org) error {
		if req.AccountID != "" {
			if len(o.Members)+1 >= maxAccounts {
				return constraint("ACCOUNT_NUMBER_LIMIT_EXCEEDED", "You have reached the limit on the number of accounts in your organization.")
			}
			if slices.ContainsFunc(o.Members, func(m *Member) bool { return m.ID == req.AccountID || m.Email == email }) {
				return errConcurrent
			}
			o.Members = append(o.Members, &Member{ID: req.AccountID, Name: name, Email: email, JoinedAt: now})
			if len(tags) > 0 {
				if o.Tags == nil {
					o.Tags = map[string][]iamd.Tag{}
				}
				o.Tags[req.AccountID] = tags
			}
			if o.enabled(SCP) {
				// A new account starts with FullAWSAccess, as AWS does.
				if o.Attached == nil {
					o.Attached = map[string][]string{}
				}
				o.Attached[req.AccountID] = []string{FullAccessID}
			}
		}
		o.Requests = append(o.Requests, req)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if req.AccountID != "" && g.created != nil {
		g.created(req.AccountID, now)
	}
	return req, nil
}

// newAccountID draws 12 digits no account has: none of o's, and none
// whose data the deployment keeps (an account closed in an organization
// since deleted).
func (g *Organizations) newAccountID(ctx context.Context, o *Org) (string, error) {
	for {
		n, _ := rand.Int(rand.Reader, big.NewInt(900000000000)) // never fails (crypto/rand)
		id := big.NewInt(0).Add(n, big.NewInt(100000000000)).String()
		if id == g.account() || o.member(id) != nil {
			continue
		}
		roles, _, err := g.store.In(id).ListRoles(ctx, "/", iamd.Page{MaxItems: 1})
		if err != nil {
			return "", err
		}
		if len(roles) == 0 { // every account made has its access role
			return id, nil
		}
	}
}

// Parent is the root an account is in: iamd has no organizational units.
func (g *Organizations) Parent(ctx context.Context, c *iamd.Caller, child string) (*Org, error) {
	if err := g.authorize(ctx, c, "ListParents", "*"); err != nil {
		return nil, err
	}
	o, err := g.load(ctx)
	if err != nil {
		return nil, err
	}
	if child != g.account() && o.member(child) == nil {
		return nil, errChildNotFound
	}
	return o, nil
}

// provision makes the new account's access role.
func (g *Organizations) provision(ctx context.Context, account, roleName string) error {
	st := g.store.In(account)
	id, err := iamd.NewRoleID(rand.Reader)
	if err != nil {
		return err
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + g.account() + `:root"},"Action":"sts:AssumeRole"}]}`
	role := &iamd.Role{ID: id, Name: roleName, Path: "/", TrustPolicy: trust, MaxSessionDuration: iamd.DefaultSessionDuration, CreatedAt: g.now().UTC().Truncate(time.Millisecond)}
	if err := st.CreateRole(ctx, role); err != nil {
		return err
	}
	return st.AttachPolicy(ctx, iamd.Entity{Kind: iamd.EntityRole, Name: roleName}, administratorAccess, iamd.MaxManagedPoliciesPerEntity)
}

// member returns the member account of that ID, nil if none.
func (o *Org) member(id string) *Member {
	for _, m := range o.Members {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// CreateStatus returns a CreateAccount request.
func (g *Organizations) CreateStatus(ctx context.Context, c *iamd.Caller, id string) (*CreateRequest, error) {
	if err := g.authorize(ctx, c, "DescribeCreateAccountStatus", "*"); err != nil {
		return nil, err
	}
	o, err := g.load(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range o.Requests {
		if r.ID == id {
			return r, nil
		}
	}
	return nil, errRequestNotFound
}

// CreateStatuses lists the CreateAccount requests in the given states
// (all when none), oldest first.
func (g *Organizations) CreateStatuses(ctx context.Context, c *iamd.Caller, states []string) ([]*CreateRequest, error) {
	if err := g.authorize(ctx, c, "ListCreateAccountStatus", "*"); err != nil {
		return nil, err
	}
	for _, s := range states {
		if s != "IN_PROGRESS" && s != "SUCCEEDED" && s != "FAILED" {
			return nil, invalid("INVALID_ENUM", "You specified an invalid value.")
		}
	}
	o, err := g.load(ctx)
	if err != nil {
		return nil, err
	}
	var out []*CreateRequest
	for _, r := range o.Requests {
		if len(states) == 0 || slices.Contains(states, r.State) {
			out = append(out, r)
		}
	}
	return out, nil
}

// CloseAccount closes a member account: its keys and sessions stop, and
// its data is kept. The management account cannot be closed here.
func (g *Organizations) CloseAccount(ctx context.Context, c *iamd.Caller, id string) error {
	o, err := g.load(ctx)
	if err != nil {
		if err := g.authorize(ctx, c, "CloseAccount", "*"); err != nil {
			return err
		}
		return err
	}
	if err := g.authorize(ctx, c, "CloseAccount", o.AccountARN(g.account(), id)); err != nil {
		return err
	}
	if id == g.account() {
		return constraint("CANNOT_CLOSE_MANAGEMENT_ACCOUNT", "You attempted to close the management account. To close the management account for the organization, you must first either remove or close all member accounts in the organization.")
	}
	_, err = g.update(ctx, func(o *Org) error {
		m := o.member(id)
		switch {
		case m == nil:
			return errAccountNotFound
		case !m.Open():
			return errAlreadyClosed
		}
		m.ClosedAt = g.now().UTC().Truncate(time.Millisecond)
		return nil
	})
	if err == nil && g.closed != nil {
		g.closed(id)
	}
	return err
}

// OpenAccounts returns the member accounts that are open, by ID, with
// when each joined: what the deployment serves besides its first account.
// It reads the organization without authorizing anyone.
func (g *Organizations) OpenAccounts(ctx context.Context) (map[string]time.Time, error) {
	o, err := g.load(ctx)
	if err == errNotInUse {
		return map[string]time.Time{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(o.Members))
	for _, m := range o.Members {
		if m.Open() {
			out[m.ID] = m.JoinedAt
		}
	}
	return out, nil
}

// OnCreate has fn told of each account created through g, and OnClose of
// each closed, at once.
func (g *Organizations) OnCreate(fn func(account string, at time.Time)) { g.created = fn }
func (g *Organizations) OnClose(fn func(account string))                { g.closed = fn }
