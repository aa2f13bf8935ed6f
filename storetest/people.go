package storetest

import (
	"slices"
	"testing"
	"time"

	"iamd"
)

// testPeople: login profiles (one per user, kept with its history), the
// password policy (set, replaced, deleted), and MFA devices (assigned to
// a user and back); a user with either is not deleted.
func testPeople(t *testing.T, s iamd.Store) {
	mustUser(t, s, "ann", "/")
	_, err := s.GetLoginProfile(ctx, "ann")
	wantKind(t, "no login profile yet", err, iamd.ErrNotFound)
	_, err = s.GetLoginProfile(ctx, "nobody")
	wantKind(t, "a missing user's login profile", err, iamd.ErrNotFound)
	set := func(hash string) func(*iamd.LoginProfile) error {
		return func(p *iamd.LoginProfile) error {
			if p.Hash != "" {
				p.History = append([]string{p.Hash}, p.History...)
			}
			p.Hash, p.ChangedAt, p.ResetRequired = hash, ts(7), true
			if p.CreatedAt.IsZero() {
				p.CreatedAt = ts(6)
			}
			return nil
		}
	}
	if err := s.PutLoginProfile(ctx, "ann", true, set("h1")); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "a second login profile", s.PutLoginProfile(ctx, "ANN", true, set("h2")), iamd.ErrAlreadyExists)
	wantKind(t, "changing a missing one", s.PutLoginProfile(ctx, "nobody", false, set("h2")), iamd.ErrNotFound)
	if err := s.PutLoginProfile(ctx, "ann", false, set("h2")); err != nil {
		t.Fatal(err)
	}
	p, err := s.GetLoginProfile(ctx, "ann")
	if err != nil || p.Hash != "h2" || !slices.Equal(p.History, []string{"h1"}) || !p.ResetRequired || !p.CreatedAt.Equal(ts(6)) || !p.ChangedAt.Equal(ts(7)) {
		t.Fatalf("GetLoginProfile: %+v %v", p, err)
	}
	if !p.LastUsedAt.IsZero() {
		t.Fatalf("a password never used has a last use: %v", p.LastUsedAt)
	}
	if err := s.PutLoginProfile(ctx, "ann", false, func(lp *iamd.LoginProfile) error { lp.LastUsedAt = ts(8); return nil }); err != nil {
		t.Fatal(err)
	}
	if p, err := s.GetLoginProfile(ctx, "ann"); err != nil || !p.LastUsedAt.Equal(ts(8)) || p.Hash != "h2" {
		t.Fatalf("after a sign-in is recorded: %+v %v", p, err)
	}

	_, err = s.GetPasswordPolicy(ctx)
	wantKind(t, "no password policy", err, iamd.ErrNotFound)
	wantKind(t, "deleting no password policy", s.PutPasswordPolicy(ctx, nil), iamd.ErrNotFound)
	for _, pp := range []iamd.PasswordPolicy{{MinimumPasswordLength: 12, RequireSymbols: true}, {MinimumPasswordLength: 14, PasswordReusePrevention: 3}} {
		if err := s.PutPasswordPolicy(ctx, &pp); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetPasswordPolicy(ctx)
		if err != nil || *got != pp {
			t.Fatalf("GetPasswordPolicy: %+v %v, want %+v", got, err, pp)
		}
	}
	if err := s.PutPasswordPolicy(ctx, nil); err != nil {
		t.Fatal(err)
	}

	serial := "arn:aws:iam::123456789012:mfa/ann-phone"
	if err := s.CreateMFADevice(ctx, &iamd.MFADevice{Serial: serial, Name: "ann-phone", Path: "/", Seed: []byte{1, 2, 3}, CreatedAt: ts(8)}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "a device of the same name", s.CreateMFADevice(ctx, &iamd.MFADevice{Serial: serial + "x", Name: "ANN-PHONE", Path: "/", Seed: []byte{1}, CreatedAt: ts(8)}), iamd.ErrAlreadyExists)
	if err := s.UpdateMFADevice(ctx, serial, func(d *iamd.MFADevice) error { d.User, d.EnabledAt, d.LastStep = "ann", ts(9), 42; return nil }); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "assigning to a missing user", s.UpdateMFADevice(ctx, serial, func(d *iamd.MFADevice) error { d.User = "nobody"; return nil }), iamd.ErrNotFound)
	d, err := s.GetMFADevice(ctx, serial)
	if err != nil || d.User != "ann" || !d.EnabledAt.Equal(ts(9)) || d.LastStep != 42 || !slices.Equal(d.Seed, []byte{1, 2, 3}) {
		t.Fatalf("GetMFADevice: %+v %v", d, err)
	}
	yes, no := true, false
	for _, c := range []struct {
		user     string
		assigned *bool
		n        int
	}{{"ann", nil, 1}, {"", &yes, 1}, {"", &no, 0}, {"", nil, 1}} {
		if ds, err := s.ListMFADevices(ctx, c.user, c.assigned); err != nil || len(ds) != c.n {
			t.Fatalf("ListMFADevices(%q, %v): %d %v, want %d", c.user, c.assigned, len(ds), err, c.n)
		}
	}
	wantKind(t, "deleting an assigned device", s.DeleteMFADevice(ctx, serial), iamd.ErrConflict)
	wantKind(t, "deleting a user with a login profile", s.DeleteUser(ctx, "ann"), iamd.ErrConflict)
	if err := s.DeleteLoginProfile(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "deleting a user with an MFA device", s.DeleteUser(ctx, "ann"), iamd.ErrConflict)
	if err := s.UpdateMFADevice(ctx, serial, func(d *iamd.MFADevice) error { d.User, d.EnabledAt = "", time.Time{}; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMFADevice(ctx, serial); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
}

// testAccountAlias: one alias, set, replaced and removed.
func testAccountAlias(t *testing.T, s iamd.Store) {
	if a, err := s.AccountAlias(ctx); err != nil || a != "" {
		t.Fatalf("no alias yet: %q %v", a, err)
	}
	for _, want := range []string{"acme-prod", "acme-production", ""} {
		if err := s.SetAccountAlias(ctx, want); err != nil {
			t.Fatal(err)
		}
		if a, err := s.AccountAlias(ctx); err != nil || a != want {
			t.Fatalf("alias %q %v, want %q", a, err, want)
		}
	}
}
