package storetest

import (
	"testing"

	"iamd"
)

// UpgradeSchema is the schema version before accounts: a database of that
// version holds one account.
const UpgradeSchema = 15

// UpgradeRows are rows a single-account database of UpgradeSchema holds,
// in SQL both engines run.
const UpgradeRows = `INSERT INTO meta(k, v) VALUES ('account_id', '123456789012'), ('account_created_at', '0'), ('key_check', 'AQID'), ('account_alias', 'old-alias');
INSERT INTO users(id, name, name_fold, path, created_at, boundary) VALUES ('AIDAOLDUSER0000000001', 'Bob', 'bob', '/team/', 0, 'arn:aws:iam::123456789012:policy/bound');
INSERT INTO access_keys(id, owner_kind, owner_id, status, created_at, secret) VALUES ('AKIAOLDKEY0000000001', 0, 'AIDAOLDUSER0000000001', 'Active', 0, '\x01');
INSERT INTO access_keys(id, owner_kind, owner_id, status, created_at, secret) VALUES ('AKIAOLDROOT000000001', 1, NULL, 'Active', 0, '\x02');
INSERT INTO policies(id, name, name_fold, path, description, default_version, next_version, created_at, updated_at) VALUES ('ANPAOLDPOLICY0000001', 'bound', 'bound', '/', '', 1, 2, 0, 0);
INSERT INTO policy_versions(policy_id, num, document, created_at) VALUES ('ANPAOLDPOLICY0000001', 1, '{"Version":"2012-10-17","Statement":[]}', 0);
INSERT INTO attached_policies(entity_kind, entity_id, policy_arn, policy_id) VALUES (0, 'AIDAOLDUSER0000000001', 'arn:aws:iam::aws:policy/ReadOnlyAccess', 'ANPAILL3HVNFSB6DCOWYQ');
INSERT INTO buckets(id, name, bundle_id, created_at, principal_id) VALUES ('uuid-old', 'old-bucket', 'small_1_0', 0, 'AIDAOLDBUCKET');
INSERT INTO oidc_providers(id, url, client_ids, thumbprints, created_at) VALUES ('p-old', 'token.example.com', '[]', '[]', 0);
INSERT INTO password_policy(id, policy) VALUES (1, '{"min":12}');`

// TestUpgrade checks a store opened on a database of UpgradeSchema holding
// UpgradeRows: everything is the first account's, under the same names,
// IDs and ARNs, and keys made before still authenticate.
func TestUpgrade(t *testing.T, s iamd.Store) {
	t.Helper()
	a, err := s.Init(ctx, iamd.Account{ID: "999999999999"})
	if err != nil || a.ID != "123456789012" {
		t.Fatalf("the account after the upgrade: %+v %v", a, err)
	}
	c, err := s.GetCredential(ctx, "AKIAOLDKEY0000000001")
	if err != nil || c.User == nil || c.User.Name != "Bob" || c.User.ARN(a.ID) != "arn:aws:iam::123456789012:user/team/Bob" {
		t.Fatalf("the user's old key: %+v %v", c, err)
	}
	if c, err := s.GetCredential(ctx, "AKIAOLDROOT000000001"); err != nil || c.Key.Owner.Kind != iamd.OwnerRoot {
		t.Fatalf("the root's old key: %+v %v", c, err)
	}
	if keys, _, err := s.ListAccessKeys(ctx, iamd.RootOwner, iamd.Page{MaxItems: 10}); err != nil || len(keys) != 1 {
		t.Fatalf("the root's keys: %v %v", keys, err)
	}
	if u, err := s.GetUser(ctx, "BOB"); err != nil || u.ID != "AIDAOLDUSER0000000001" {
		t.Fatalf("GetUser: %+v %v", u, err)
	}
	if p, err := s.GetPolicy(ctx, "bound"); err != nil || p.BoundaryCount != 1 {
		t.Fatalf("the boundary policy: %+v %v", p, err)
	}
	if n, err := s.CountAttachments(ctx, "ANPAILL3HVNFSB6DCOWYQ"); err != nil || n != 1 {
		t.Fatalf("an AWS-managed policy's attachment: %d %v", n, err)
	}
	if b, err := s.GetBucket(ctx, "old-bucket"); err != nil || b.ID != "uuid-old" {
		t.Fatalf("the bucket: %+v %v", b, err)
	}
	if p, err := s.GetOIDCProvider(ctx, "token.example.com"); err != nil || p.URL != "token.example.com" {
		t.Fatalf("the OIDC provider: %+v %v", p, err)
	}
	if pp, err := s.GetPasswordPolicy(ctx); err != nil || pp.MinimumPasswordLength != 12 {
		t.Fatalf("the password policy: %+v %v", pp, err)
	}
	if alias, err := s.AccountAlias(ctx); err != nil || alias != "old-alias" {
		t.Fatalf("the alias: %q %v", alias, err)
	}
	if acct, err := s.AliasAccount(ctx, "old-alias"); err != nil || acct != "123456789012" {
		t.Fatalf("the alias's account: %q %v", acct, err)
	}
	// Another account sees none of it.
	o := s.In("210987654321")
	if _, err := o.GetCredential(ctx, "AKIAOLDKEY0000000001"); iamd.KindOf(err) != iamd.NotFound {
		t.Fatalf("the old key through another account: %v", err)
	}
	if _, err := o.GetUser(ctx, "bob"); iamd.KindOf(err) != iamd.NotFound {
		t.Fatalf("the old user through another account: %v", err)
	}
}
