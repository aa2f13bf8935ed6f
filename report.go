package iamd

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"sync"
	"time"
)

// The credential report, as AWS's IAM User Guide describes it ("Getting
// credential reports"): one CSV row for the root and one per user, with
// these columns. iamd has no passwords, MFA or signing certificates, so
// those columns hold AWS's values for a user without them.
var reportColumns = []string{"user", "arn", "user_creation_time", "password_enabled", "password_last_used", "password_last_changed",
	"password_next_rotation", "mfa_active",
	"access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date", "access_key_1_last_used_region", "access_key_1_last_used_service",
	"access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date", "access_key_2_last_used_region", "access_key_2_last_used_service",
	"cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated"}

// ReportLife is how long a credential report is current: a newer one is
// generated only after it, and an older one has expired (as AWS's).
const ReportLife = 4 * time.Hour

// Report states, as GenerateCredentialReport answers them.
const (
	ReportStarted    = "STARTED"
	ReportInProgress = "INPROGRESS"
	ReportComplete   = "COMPLETE"
)

var (
	// ErrReportInProgress: the report is being generated.
	ErrReportInProgress = &Error{Kind: NotFound, Message: "Credential report is being generated."}
	// ErrReportExpired: the report is older than ReportLife.
	ErrReportExpired = &Error{Kind: NotFound, Message: "The credential report has expired. To generate a new report, use GenerateCredentialReport."}
)

// reports is this node's generation of the report.
type reports struct {
	mu      sync.Mutex
	running bool
}

// GenerateCredentialReport starts generating the report unless a current
// one exists or this node is generating it, and says which.
func (s *Service) GenerateCredentialReport(ctx context.Context, c *Caller) (string, error) {
	if err := s.authorize(ctx, c, "iam:GenerateCredentialReport", on("*")); err != nil {
		return "", err
	}
	r, err := s.store.GetCredentialReport(ctx, false)
	switch {
	case err == nil && s.now().Sub(r.GeneratedAt) < ReportLife:
		return ReportComplete, nil
	case err != nil && !errors.Is(err, ErrNoReport):
		return "", err
	}
	s.reports.mu.Lock()
	defer s.reports.mu.Unlock()
	if s.reports.running {
		return ReportInProgress, nil
	}
	s.reports.running = true
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if err := s.buildReport(ctx); err != nil {
			s.log.Error("generating the credential report failed", "err", err)
		}
		s.reports.mu.Lock()
		s.reports.running = false
		s.reports.mu.Unlock()
	}()
	return ReportStarted, nil
}

// GetCredentialReport returns the current report.
func (s *Service) GetCredentialReport(ctx context.Context, c *Caller) (*CredentialReport, error) {
	if err := s.authorize(ctx, c, "iam:GetCredentialReport", on("*")); err != nil {
		return nil, err
	}
	r, err := s.store.GetCredentialReport(ctx, true)
	if errors.Is(err, ErrNoReport) {
		s.reports.mu.Lock()
		running := s.reports.running
		s.reports.mu.Unlock()
		if running {
			return nil, ErrReportInProgress
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if s.now().Sub(r.GeneratedAt) >= ReportLife {
		return nil, ErrReportExpired
	}
	return r, nil
}

const reportTime = "2006-01-02T15:04:05+00:00"

// buildReport writes the report from one streamed query over users and
// their keys, and stores it.
func (s *Service) buildReport(ctx context.Context) error {
	at := s.now().UTC().Truncate(time.Second)
	var buf bytes.Buffer
	if n, err := s.store.AccountCounts(ctx); err == nil {
		buf.Grow((n.Users + 2) * 256) // about a row's size: one allocation, not a doubling series
	}
	w := csv.NewWriter(&buf)
	w.Write(reportColumns)
	row := make([]string, len(reportColumns))
	maxAge := 0
	if pp, err := s.store.GetPasswordPolicy(ctx); err == nil {
		maxAge = pp.MaxPasswordAge
	}
	fill := func(name, arn string, created time.Time, root bool, owner OwnerKind, keys []AccessKey, changed, used time.Time, mfa bool) {
		row = append(row[:0], name, arn, created.UTC().Format(reportTime))
		switch {
		case root:
			row = append(row, "not_supported", "no_information", "not_supported", "not_supported", "false")
		case changed.IsZero():
			row = append(row, "false", "N/A", "N/A", "N/A", boolText(mfa))
		default:
			next, last := "N/A", "no_information" // never signed in with it
			if maxAge > 0 {
				next = changed.AddDate(0, 0, maxAge).UTC().Format(reportTime)
			}
			if !used.IsZero() {
				last = used.UTC().Format(reportTime)
			}
			row = append(row, "true", last, changed.UTC().Format(reportTime), next, boolText(mfa))
		}
		for i := range 2 {
			if i >= len(keys) {
				row = append(row, "false", "N/A", "N/A", "N/A", "N/A")
				continue
			}
			k := keys[i]
			active := s.keyStatus(owner, k.Status, k.CreatedAt) == StatusActive
			lu := s.lastUsed(k.ID, k.LastUsed)
			used, region, service := "N/A", "N/A", "N/A"
			if !lu.At.IsZero() {
				used, region, service = lu.At.UTC().Format(reportTime), lu.Region, lu.Service
			}
			row = append(row, boolText(active), k.CreatedAt.UTC().Format(reportTime), used, region, service)
		}
		row = append(row, "false", "N/A", "false", "N/A")
		w.Write(row)
	}
	rootKeys, _, err := s.store.ListAccessKeys(ctx, RootOwner, Page{MaxItems: MaxAccessKeysPerOwner})
	if err != nil {
		return err
	}
	keys := make([]AccessKey, len(rootKeys))
	for i, k := range rootKeys {
		keys[i] = *k
	}
	fill("<root_account>", "arn:aws:iam::"+s.account.ID+":root", s.account.CreatedAt, true, OwnerRoot, keys, time.Time{}, time.Time{}, false)
	if err := s.store.CredentialRows(ctx, func(uk UserKeys) error {
		fill(uk.User.Name, uk.User.ARN(s.account.ID), uk.User.CreatedAt, false, OwnerUser, uk.Keys, uk.PasswordChanged, uk.PasswordUsed, uk.MFA)
		return nil
	}); err != nil {
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return s.store.PutCredentialReport(ctx, &CredentialReport{GeneratedAt: at, Content: buf.Bytes()})
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// AccountSummary returns GetAccountSummary's map: what iamd counts, and
// the quotas it applies. Quotas iamd does not apply are left out.
func (s *Service) AccountSummary(ctx context.Context, c *Caller) (map[string]int, error) {
	if err := s.authorize(ctx, c, "iam:GetAccountSummary", on("*")); err != nil {
		return nil, err
	}
	n, err := s.store.AccountCounts(ctx)
	if err != nil {
		return nil, err
	}
	present := 0
	if n.RootKeys > 0 {
		present = 1
	}
	return map[string]int{
		"Users": n.Users, "Groups": n.Groups, "Policies": n.Policies, "PolicyVersionsInUse": n.PolicyVersions, "Roles": n.Roles,
		"AccountAccessKeysPresent": present, "AccountMFAEnabled": 0, "AccountPasswordPresent": 0, "AccountSigningCertificatesPresent": 0,
		"MFADevices": 0, "MFADevicesInUse": 0, "ServerCertificates": 0, "InstanceProfiles": 0, "Providers": 0,
		"AccessKeysPerUserQuota": MaxAccessKeysPerOwner, "GroupsPerUserQuota": MaxGroupsPerUser,
		"AttachedPoliciesPerUserQuota": MaxManagedPoliciesPerEntity, "AttachedPoliciesPerGroupQuota": MaxManagedPoliciesPerEntity,
		"AttachedPoliciesPerRoleQuota": MaxManagedPoliciesPerEntity, "PolicySizeQuota": MaxManagedPolicySize,
		"VersionsPerPolicyQuota": MaxPolicyVersions, "UserPolicySizeQuota": MaxUserInlineSize, "GroupPolicySizeQuota": MaxGroupInlineSize,
		"RolePolicySizeQuota": MaxRoleInlineSize, "AssumeRolePolicySizeQuota": MaxTrustPolicySize, "GlobalEndpointTokenVersion": 1,
	}, nil
}
