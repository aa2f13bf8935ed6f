package storetest

import (
	"sync"
	"sync/atomic"
	"testing"

	"iamd"
)

// testAccounts: two accounts of one database. Each has names of its own
// (the same names in both), its own root keys within the limit, its own
// password policy, alias, report rows and counts; nothing of one is found,
// listed, counted, attached or changed through the other's Store; bucket
// names stay the deployment's.
func testAccounts(t *testing.T, a iamd.Store) {
	const other = "210987654321"
	b := a.In(other)
	got, err := b.Init(ctx, iamd.Account{ID: "999999999999", CreatedAt: ts(9)})
	if err != nil || got.ID != other || !got.CreatedAt.Equal(ts(9)) || string(got.KeyCheck) != "\x01\x02\x03" {
		t.Fatalf("Init of another account: %+v %v", got, err)
	}
	if first, err := a.Init(ctx, iamd.Account{}); err != nil || first.ID != "123456789012" {
		t.Fatalf("the first account after another's Init: %+v %v", first, err)
	}

	// The same names in both.
	type made struct {
		user *iamd.User
		key  *iamd.AccessKey
		root *iamd.AccessKey
		pol  *iamd.ManagedPolicy
	}
	var m [2]made
	for i, s := range []iamd.Store{a, b} {
		id := string(rune('A' + i))
		u := &iamd.User{ID: "AIDAACCOUNTUSER" + id, Name: "alice", Path: "/", CreatedAt: ts(1)}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("account %d: CreateUser: %v", i, err)
		}
		k := newKey(iamd.UserOwner("alice"), 2)
		if err := s.CreateAccessKey(ctx, k, 2); err != nil {
			t.Fatalf("account %d: CreateAccessKey: %v", i, err)
		}
		root := newKey(iamd.RootOwner, 3)
		if err := s.CreateAccessKey(ctx, root, 1); err != nil {
			t.Fatalf("account %d: a root key (one allowed, per account): %v", i, err)
		}
		if err := s.CreateGroup(ctx, &iamd.Group{ID: "AGPAACCOUNT" + id, Name: "devs", Path: "/", CreatedAt: ts(1)}); err != nil {
			t.Fatalf("account %d: CreateGroup: %v", i, err)
		}
		if err := s.AddUserToGroup(ctx, "devs", "alice", 10); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateRole(ctx, &iamd.Role{ID: "AROAACCOUNT" + id, Name: "ops", Path: "/", TrustPolicy: "{}", MaxSessionDuration: 3600, CreatedAt: ts(1)}); err != nil {
			t.Fatalf("account %d: CreateRole: %v", i, err)
		}
		p := &iamd.ManagedPolicy{ID: "ANPAACCOUNT" + id, Name: "reader", Path: "/", CreatedAt: ts(1)}
		if err := s.CreatePolicy(ctx, p, `{"Version":"2012-10-17","Statement":[]}`); err != nil {
			t.Fatalf("account %d: CreatePolicy: %v", i, err)
		}
		admin := iamd.AttachedPolicy{ID: "ANPAIWMBCKSKIEE64ZLYK", ARN: "arn:aws:iam::aws:policy/AdministratorAccess"}
		if err := s.AttachPolicy(ctx, iamd.Entity{Kind: iamd.EntityRole, Name: "ops"}, admin, 10); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateInstanceProfile(ctx, &iamd.InstanceProfile{ID: "AIPAACCOUNT" + id, Name: "web", Path: "/", CreatedAt: ts(1)}); err != nil {
			t.Fatalf("account %d: CreateInstanceProfile: %v", i, err)
		}
		if err := s.CreateOIDCProvider(ctx, &iamd.OIDCProvider{ID: "p-acct" + id, URL: "token.example.com", CreatedAt: ts(1)}); err != nil {
			t.Fatalf("account %d: CreateOIDCProvider: %v", i, err)
		}
		serial := "arn:aws:iam::" + []string{"123456789012", other}[i] + ":mfa/phone"
		if err := s.CreateMFADevice(ctx, &iamd.MFADevice{Serial: serial, Name: "phone", Path: "/", Seed: []byte{1}, CreatedAt: ts(1)}); err != nil {
			t.Fatalf("account %d: CreateMFADevice: %v", i, err)
		}
		if err := s.PutPasswordPolicy(ctx, &iamd.PasswordPolicy{MinimumPasswordLength: 8 + i}); err != nil {
			t.Fatal(err)
		}
		m[i] = made{u, k, root, p}
	}
	mustBucket(t, a, "shared-name")
	wantKind(t, "a bucket name another account holds", b.CreateBucket(ctx, &iamd.Bucket{ID: "uuid-b", Name: "shared-name", BundleID: "small_1_0", CreatedAt: ts(1), PrincipalID: "AIDAB"}), iamd.ErrAlreadyExists)
	if err := a.SetAccountAlias(ctx, "tenant-a"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "an alias another account holds", b.SetAccountAlias(ctx, "tenant-a"), iamd.ErrAlreadyExists)
	if err := b.SetAccountAlias(ctx, "tenant-b"); err != nil {
		t.Fatal(err)
	}
	for alias, want := range map[string]string{"tenant-a": "123456789012", "tenant-b": other} {
		if got, err := b.AliasAccount(ctx, alias); err != nil || got != want {
			t.Fatalf("the account of alias %s: %q %v", alias, got, err)
		}
	}
	if _, err := a.AliasAccount(ctx, "nobody"); iamd.KindOf(err) != iamd.NotFound {
		t.Fatalf("an alias nobody has: %v", err)
	}
	// Renamed, the old alias is free; set again, it stays the account's.
	if err := b.SetAccountAlias(ctx, "tenant-b2"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetAccountAlias(ctx, "tenant-b2"); err != nil {
		t.Fatalf("the account's own alias again: %v", err)
	}
	if _, err := a.AliasAccount(ctx, "tenant-b"); iamd.KindOf(err) != iamd.NotFound {
		t.Fatalf("a renamed alias: %v", err)
	}
	// Both accounts take one alias at once, four times each: one has it.
	var wg sync.WaitGroup
	var won atomic.Int32
	for i := range 8 {
		s := []iamd.Store{a, b}[i%2]
		wg.Go(func() {
			if err := s.SetAccountAlias(ctx, "raced"); err == nil {
				won.Add(1)
			} else if iamd.KindOf(err) != iamd.AlreadyExists {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	holder, err := a.AliasAccount(ctx, "raced")
	if err != nil {
		t.Fatal(err)
	}
	if won.Load() != 4 {
		t.Fatalf("%d of 8 took the alias, want the 4 of its holder %s", won.Load(), holder)
	}
	for i, s := range []iamd.Store{a, b} {
		alias, _ := s.AccountAlias(ctx)
		if mine := []string{"123456789012", other}[i] == holder; mine != (alias == "raced") {
			t.Fatalf("account %d's alias %q, the alias's holder %s", i, alias, holder)
		}
	}
	if err := a.SetAccountAlias(ctx, "tenant-a"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetAccountAlias(ctx, "tenant-b"); err != nil {
		t.Fatal(err)
	}

	for i, s := range []iamd.Store{a, b} {
		mine, theirs := m[i], m[1-i]
		// A key is its account's alone.
		if c, err := s.GetCredential(ctx, mine.key.ID); err != nil || c.User.ID != mine.user.ID {
			t.Fatalf("account %d: its own key: %+v %v", i, c, err)
		}
		for _, k := range []*iamd.AccessKey{theirs.key, theirs.root} {
			if _, err := s.GetCredential(ctx, k.ID); iamd.KindOf(err) != iamd.NotFound {
				t.Fatalf("account %d: GetCredential of the other's key %s: %v", i, k.ID, err)
			}
		}
		wantKind(t, "disabling the other's root key", s.UpdateAccessKey(ctx, iamd.RootOwner, theirs.root.ID, iamd.StatusInactive, ts(4)), iamd.ErrNotFound)
		wantKind(t, "deleting the other's user key as alice", s.DeleteAccessKey(ctx, iamd.UserOwner("alice"), theirs.key.ID), iamd.ErrNotFound)
		if keys, _, err := s.ListAccessKeys(ctx, iamd.RootOwner, iamd.Page{MaxItems: 10}); err != nil || len(keys) != 1 || keys[0].ID != mine.root.ID {
			t.Fatalf("account %d: root keys %v %v", i, keys, err)
		}
		// Listings and counts hold one account.
		if us, _, err := s.ListUsers(ctx, "/", iamd.Page{MaxItems: 10}); err != nil || len(us) != 1 || us[0].ID != mine.user.ID {
			t.Fatalf("account %d: ListUsers %v %v", i, us, err)
		}
		if gs, _, err := s.ListGroupsForUser(ctx, "alice", iamd.Page{MaxItems: 10}); err != nil || len(gs) != 1 {
			t.Fatalf("account %d: groups %v %v", i, gs, err)
		}
		if ps, _, err := s.ListPolicies(ctx, iamd.PolicyFilter{PathPrefix: "/"}, iamd.Page{MaxItems: 10}); err != nil || len(ps) != 1 || ps[0].ID != mine.pol.ID {
			t.Fatalf("account %d: ListPolicies %v %v", i, ps, err)
		}
		if n, err := s.CountAttachments(ctx, "ANPAIWMBCKSKIEE64ZLYK"); err != nil || n != 1 {
			t.Fatalf("account %d: AdministratorAccess attached %d times here, %v", i, n, err)
		}
		if es, _, err := s.ListEntitiesForPolicy(ctx, "ANPAIWMBCKSKIEE64ZLYK", nil, "/", iamd.Page{MaxItems: 10}); err != nil || len(es) != 1 {
			t.Fatalf("account %d: entities of AdministratorAccess %v %v", i, es, err)
		}
		wantKind(t, "attaching the other account's policy", s.AttachPolicy(ctx, iamd.Entity{Kind: iamd.EntityUser, Name: "alice"},
			iamd.AttachedPolicy{ID: theirs.pol.ID, ARN: "arn:aws:iam::" + []string{other, "123456789012"}[i] + ":policy/reader"}, 10), iamd.ErrNotFound)
		if ps, err := s.ListOIDCProviders(ctx); err != nil || len(ps) != 1 || ps[0].URL != "token.example.com" {
			t.Fatalf("account %d: providers %+v %v", i, ps, err)
		}
		if ds, err := s.ListMFADevices(ctx, "", nil); err != nil || len(ds) != 1 {
			t.Fatalf("account %d: MFA devices %v %v", i, ds, err)
		}
		theirSerial := "arn:aws:iam::" + []string{other, "123456789012"}[i] + ":mfa/phone"
		if _, err := s.GetMFADevice(ctx, theirSerial); iamd.KindOf(err) != iamd.NotFound {
			t.Fatalf("account %d: the other's MFA device: %v", i, err)
		}
		if pp, err := s.GetPasswordPolicy(ctx); err != nil || pp.MinimumPasswordLength != 8+i {
			t.Fatalf("account %d: password policy %+v %v", i, pp, err)
		}
		if alias, err := s.AccountAlias(ctx); err != nil || alias != []string{"tenant-a", "tenant-b"}[i] {
			t.Fatalf("account %d: alias %q %v", i, alias, err)
		}
		c, err := s.AccountCounts(ctx)
		if err != nil || c.Users != 1 || c.Groups != 1 || c.Policies != 1 || c.PolicyVersions != 1 || c.Roles != 1 || c.RootKeys != 1 {
			t.Fatalf("account %d: counts %+v %v", i, c, err)
		}
		rows := 0
		if err := s.CredentialRows(ctx, func(iamd.UserKeys) error { rows++; return nil }); err != nil || rows != 1 {
			t.Fatalf("account %d: %d credential rows, %v", i, rows, err)
		}
	}
	if _, err := b.GetBucket(ctx, "shared-name"); iamd.KindOf(err) != iamd.NotFound {
		t.Fatalf("the other account's bucket: %v", err)
	}
	if bs, _, err := b.ListBuckets(ctx, iamd.Page{MaxItems: 10}); err != nil || len(bs) != 0 {
		t.Fatalf("the other account's buckets listed: %v %v", bs, err)
	}
	// A deletion in one account leaves the other's namesake.
	if err := b.RemoveUserFromGroup(ctx, "devs", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteAccessKey(ctx, iamd.UserOwner("alice"), m[1].key.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if u, err := a.GetUser(ctx, "ALICE"); err != nil || u.ID != m[0].user.ID {
		t.Fatalf("the first account's alice after the other's went: %+v %v", u, err)
	}
}
