package server

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"iamd"
	"iamd/accounts"
	"iamd/awsjson"
	"iamd/awsquery"
	"iamd/federation"
	"iamd/iamapi"
	"iamd/instanceprofiles"
	"iamd/lightsailapi"
	"iamd/organizations"
	"iamd/people"
	"iamd/stsapi"
)

// Parts are what serves one account: its Service and the doors that
// hold it.
type Parts struct {
	Service          *iamd.Service
	Federation       *federation.Federation
	InstanceProfiles *instanceprofiles.Profiles
	People           *people.People
	Accounts         *accounts.Accounts
}

// tenant is the APIs of one account.
type tenant struct {
	svc       *iamd.Service
	iam, sts  queryService
	stsAPI    *stsapi.API
	lightsail *lightsailapi.API
	json      []jsonService // Lightsail first
}

func newTenant(p Parts, bundles []lightsailapi.Bundle, roles iamd.Accounts, orgs jsonAPI) *tenant {
	t := &tenant{
		svc:       p.Service,
		iam:       queryService{"iam", awsquery.NamespaceIAM, iamapi.New(p.Service, iamapi.Parts{Federation: p.Federation, InstanceProfiles: p.InstanceProfiles, People: p.People, Accounts: p.Accounts}), iamapi.ErrorResponse},
		stsAPI:    stsapi.New(p.Service, p.Federation, p.People).WithRoles(roles),
		lightsail: lightsailapi.New(p.Service, bundles),
	}
	t.sts = queryService{"sts", awsquery.NamespaceSTS, t.stsAPI, stsapi.ErrorResponse}
	t.json = []jsonService{
		{"lightsail", lightsailapi.TargetPrefix, t.lightsail, lightsailapi.ErrorResponse},
		{organizations.SigningName, organizations.TargetPrefix, orgs, organizations.ErrorResponse},
	}
	return t
}

// query is the API of the Query service named.
func (t *tenant) query(name string) queryService {
	if name == "sts" {
		return t.sts
	}
	return t.iam
}

// jsonAPI is a JSON service's operations.
type jsonAPI interface {
	Do(ctx context.Context, c *iamd.Caller, operation string, body []byte) (any, error)
}

// jsonOf is t's API of the JSON service js.
func (t *tenant) jsonOf(js jsonService) jsonAPI {
	for _, j := range t.json {
		if j.prefix == js.prefix {
			return j.api
		}
	}
	return js.api
}

// notManagement answers Organizations for a member account, as AWS does
// for an operation only the management account may call.
type notManagement struct{}

func (notManagement) Do(context.Context, *iamd.Caller, string, []byte) (any, error) {
	return nil, &awsjson.Error{Status: http.StatusBadRequest, Type: "AccessDeniedException",
		Message: "You don't have permissions to access this resource."}
}

// tenants are the accounts a Server serves besides the first.
type tenants struct {
	set   iamd.Accounts // nil: one account
	parts func(*iamd.Service) Parts
	mu    sync.RWMutex
	byID  map[string]*tenant
}

// tenantOf returns the APIs of the account a key ID is for (see
// iamd.Accounts.ForKey).
func (s *Server) tenantOf(ctx context.Context, keyID string) *tenant {
	if s.others.set == nil {
		return s.first
	}
	return s.tenantFor(s.others.set.ForKey(ctx, keyID))
}

// tenantOfARN is tenantOf for the account an ARN names.
func (s *Server) tenantOfARN(ctx context.Context, arn string) (*tenant, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || s.others.set == nil || parts[4] == s.first.svc.Account().ID {
		return s.first, nil
	}
	return s.tenant(ctx, parts[4])
}

// tenant returns the APIs of an open account other than the first; a
// NotFound error for any other.
func (s *Server) tenant(ctx context.Context, acct string) (*tenant, error) {
	svc, err := s.others.set.Service(ctx, acct)
	if err != nil {
		return nil, err
	}
	return s.tenantFor(svc), nil
}

// tenantFor returns the APIs of svc's account, made once per Service.
func (s *Server) tenantFor(svc *iamd.Service) *tenant {
	if svc == s.first.svc {
		return s.first
	}
	acct := svc.Account().ID
	s.others.mu.RLock()
	t := s.others.byID[acct]
	s.others.mu.RUnlock()
	if t != nil && t.svc == svc {
		return t
	}
	s.others.mu.Lock()
	defer s.others.mu.Unlock()
	if t := s.others.byID[acct]; t != nil && t.svc == svc {
		return t
	}
	t = newTenant(s.others.parts(svc), s.bundles, s.roles, notManagement{})
	if s.others.byID == nil {
		s.others.byID = map[string]*tenant{}
	}
	s.others.byID[acct] = t
	return t
}
