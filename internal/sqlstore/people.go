package sqlstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"iamd"
	"iamd/internal/sqlkit"
)

// ---- login profiles ----

func loginNotFound(user string) *iamd.Error {
	return iamd.Errorf(iamd.NotFound, "Login Profile for User %s cannot be found.", user)
}

func (s *Store) userID(ctx context.Context, q Q, user string) (string, error) {
	return s.entityID(ctx, q, iamd.Entity{Kind: iamd.EntityUser, Name: user}, false)
}

func (s *Store) getLogin(ctx context.Context, q Q, uid, user, lock string) (*iamd.LoginProfile, error) {
	var p iamd.LoginProfile
	var created, changed, used int64
	var reset int
	var history string
	err := q.QueryRow(ctx, `SELECT hash, created_at, changed_at, reset_required, history, last_used_at FROM login_profiles WHERE user_id = $1`+lock, uid).
		Scan(&p.Hash, &created, &changed, &reset, &history, &used)
	if errors.Is(err, s.db.NoRows) {
		return nil, loginNotFound(user)
	}
	if err != nil {
		return nil, err
	}
	p.CreatedAt, p.ChangedAt, p.LastUsedAt, p.ResetRequired = sqlkit.FromMS(created), sqlkit.FromMS(changed), sqlkit.FromOptMS(used), reset != 0
	if err := json.Unmarshal([]byte(history), &p.History); err != nil {
		return nil, fmt.Errorf("corrupt password history of user %s: %w", uid, err)
	}
	return &p, nil
}

func (s *Store) GetLoginProfile(ctx context.Context, user string) (p *iamd.LoginProfile, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		uid, err := s.userID(ctx, q, user)
		if err != nil {
			return err
		}
		p, err = s.getLogin(ctx, q, uid, user, "")
		return err
	})
	return p, err
}

func (s *Store) PutLoginProfile(ctx context.Context, user string, create bool, fn func(*iamd.LoginProfile) error) error {
	return s.write(ctx, func(q Q) error {
		uid, err := s.entityID(ctx, q, iamd.Entity{Kind: iamd.EntityUser, Name: user}, true)
		if err != nil {
			return err
		}
		p, err := s.getLogin(ctx, q, uid, user, s.db.Lock)
		switch {
		case create && err == nil:
			return iamd.Errorf(iamd.AlreadyExists, "Login Profile for user %s already exists.", user)
		case create && iamd.KindOf(err) == iamd.NotFound:
			p = &iamd.LoginProfile{}
		case err != nil:
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		reset := 0
		if p.ResetRequired {
			reset = 1
		}
		history := list(p.History)
		if create {
			_, err = q.Exec(ctx, `INSERT INTO login_profiles(user_id, hash, created_at, changed_at, reset_required, history, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				uid, p.Hash, sqlkit.MS(p.CreatedAt), sqlkit.MS(p.ChangedAt), reset, history, sqlkit.OptMS(p.LastUsedAt))
		} else {
			_, err = q.Exec(ctx, `UPDATE login_profiles SET hash = $1, changed_at = $2, reset_required = $3, history = $4, last_used_at = $5 WHERE user_id = $6`,
				p.Hash, sqlkit.MS(p.ChangedAt), reset, history, sqlkit.OptMS(p.LastUsedAt), uid)
		}
		return err
	})
}

func (s *Store) DeleteLoginProfile(ctx context.Context, user string) error {
	return s.write(ctx, func(q Q) error {
		uid, err := s.userID(ctx, q, user)
		if err != nil {
			return err
		}
		n, err := q.Exec(ctx, `DELETE FROM login_profiles WHERE user_id = $1`, uid)
		if err != nil {
			return err
		}
		if n == 0 {
			return loginNotFound(user)
		}
		return nil
	})
}

// ---- the password policy ----

func (s *Store) GetPasswordPolicy(ctx context.Context) (p *iamd.PasswordPolicy, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		var doc string
		err := q.QueryRow(ctx, `SELECT policy FROM password_policies WHERE account = $1`, s.acct()).Scan(&doc)
		if errors.Is(err, s.db.NoRows) {
			return iamd.ErrNoPasswordPolicy
		}
		if err != nil {
			return err
		}
		p = &iamd.PasswordPolicy{}
		return json.Unmarshal([]byte(doc), p)
	})
	return p, err
}

func (s *Store) PutPasswordPolicy(ctx context.Context, p *iamd.PasswordPolicy) error {
	return s.write(ctx, func(q Q) error {
		if p == nil {
			n, err := q.Exec(ctx, `DELETE FROM password_policies WHERE account = $1`, s.acct())
			if err != nil {
				return err
			}
			if n == 0 {
				return iamd.ErrNoPasswordPolicy
			}
			return nil
		}
		doc, _ := json.Marshal(p) // a struct of ints and bools always encodes
		_, err := q.Exec(ctx, `INSERT INTO password_policies(account, policy) VALUES ($2, $1) ON CONFLICT (account) DO UPDATE SET policy = excluded.policy`, string(doc), s.acct())
		return err
	})
}

// ---- MFA devices ----

const mfaCols = `d.serial, d.name, d.path, COALESCE(u.name, ''), d.seed, d.created_at, d.enabled_at, d.last_step, d.tags`

const mfaFrom = ` FROM mfa_devices d LEFT JOIN users u ON u.id = d.user_id`

func scanMFA(r sqlkit.Row) (*iamd.MFADevice, error) {
	var d iamd.MFADevice
	var seed, tags string
	var created, enabled int64
	if err := r.Scan(&d.Serial, &d.Name, &d.Path, &d.User, &seed, &created, &enabled, &d.LastStep, &tags); err != nil {
		return nil, err
	}
	d.CreatedAt = sqlkit.FromMS(created)
	if enabled != 0 {
		d.EnabledAt = sqlkit.FromMS(enabled)
	}
	var err error
	if d.Seed, err = base64.StdEncoding.DecodeString(seed); err != nil {
		return nil, fmt.Errorf("corrupt seed of MFA device %s", d.Serial)
	}
	if d.Tags, err = sqlkit.ParseTags(tags); err != nil {
		return nil, fmt.Errorf("corrupt tags of MFA device %s: %w", d.Serial, err)
	}
	return &d, nil
}

func mfaNotFound(serial string) *iamd.Error {
	return iamd.Errorf(iamd.NotFound, "MFA Device with serial number %s does not exist.", serial)
}

func (s *Store) CreateMFADevice(ctx context.Context, d *iamd.MFADevice) error {
	return s.write(ctx, func(q Q) error {
		_, err := q.Exec(ctx, `INSERT INTO mfa_devices(serial, name_fold, name, path, seed, created_at, tags) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			d.Serial, s.nameKey(d.Name), d.Name, d.Path, base64.StdEncoding.EncodeToString(d.Seed), sqlkit.MS(d.CreatedAt), sqlkit.TagsJSON(d.Tags))
		if s.db.IsUnique(err) {
			return iamd.Errorf(iamd.AlreadyExists, "MFADevice entity at the same path and name already exists.")
		}
		return err
	})
}

func (s *Store) getMFA(ctx context.Context, q Q, serial, lock string) (*iamd.MFADevice, error) {
	d, err := scanMFA(q.QueryRow(ctx, `SELECT `+mfaCols+mfaFrom+` WHERE d.serial = $1 AND d.name_fold > $2 AND d.name_fold < $3`+lock, serial, s.lo(), s.hi()))
	if errors.Is(err, s.db.NoRows) {
		return nil, mfaNotFound(serial)
	}
	return d, err
}

func (s *Store) GetMFADevice(ctx context.Context, serial string) (d *iamd.MFADevice, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		d, err = s.getMFA(ctx, q, serial, "")
		return err
	})
	return d, err
}

func (s *Store) ListMFADevices(ctx context.Context, user string, assigned *bool) (ds []*iamd.MFADevice, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		var rows Rows
		var err error
		switch {
		case user != "":
			uid, uerr := s.userID(ctx, q, user)
			if uerr != nil {
				return uerr
			}
			rows, err = q.Query(ctx, `SELECT `+mfaCols+mfaFrom+` WHERE d.user_id = $1 ORDER BY d.serial`, uid)
		case assigned != nil && *assigned:
			rows, err = q.Query(ctx, `SELECT `+mfaCols+mfaFrom+` WHERE d.user_id <> '' AND `+inAccount+` ORDER BY d.serial`, s.lo(), s.hi())
		case assigned != nil:
			rows, err = q.Query(ctx, `SELECT `+mfaCols+mfaFrom+` WHERE d.user_id = '' AND `+inAccount+` ORDER BY d.serial`, s.lo(), s.hi())
		default:
			rows, err = q.Query(ctx, `SELECT `+mfaCols+mfaFrom+` WHERE `+inAccount+` ORDER BY d.serial`, s.lo(), s.hi())
		}
		ds, err = collect(rows, err, scanMFA)
		return err
	})
	return ds, err
}

func (s *Store) UpdateMFADevice(ctx context.Context, serial string, fn func(*iamd.MFADevice) error) error {
	return s.write(ctx, func(q Q) error {
		if _, err := q.Exec(ctx, `UPDATE mfa_devices SET serial = serial WHERE serial = $1`, serial); err != nil {
			return err // the row is this transaction's from here on
		}
		d, err := s.getMFA(ctx, q, serial, "")
		if err != nil {
			return err
		}
		if err := fn(d); err != nil {
			return err
		}
		uid := ""
		if d.User != "" {
			if uid, err = s.userID(ctx, q, d.User); err != nil {
				return err
			}
		}
		var enabled int64
		if !d.EnabledAt.IsZero() {
			enabled = sqlkit.MS(d.EnabledAt)
		}
		_, err = q.Exec(ctx, `UPDATE mfa_devices SET user_id = $1, enabled_at = $2, last_step = $3, tags = $4 WHERE serial = $5`,
			uid, enabled, d.LastStep, sqlkit.TagsJSON(d.Tags), serial)
		return err
	})
}

func (s *Store) DeleteMFADevice(ctx context.Context, serial string) error {
	return s.write(ctx, func(q Q) error {
		d, err := s.getMFA(ctx, q, serial, "")
		if err != nil {
			return err
		}
		if d.User != "" {
			return iamd.ErrMFAInUse
		}
		_, err = q.Exec(ctx, `DELETE FROM mfa_devices WHERE serial = $1`, serial)
		return err
	})
}

// inAccount keeps the MFA devices d of the account, $1 and $2 being lo
// and hi.
const inAccount = `d.name_fold > $1 AND d.name_fold < $2`

// ---- the account alias ----

// An account's alias is the meta row "account_alias/<account>", and the
// row "alias/<alias>" names its account: the key's uniqueness keeps an
// alias one account's in the deployment, as on AWS, also when two
// accounts take it at once.

func (s *Store) AccountAlias(ctx context.Context) (alias string, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		err := q.QueryRow(ctx, `SELECT v FROM meta WHERE k = $1`, "account_alias/"+s.acct()).Scan(&alias)
		if errors.Is(err, s.db.NoRows) {
			return nil
		}
		return err
	})
	return alias, err
}

func (s *Store) AliasAccount(ctx context.Context, alias string) (account string, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		err := q.QueryRow(ctx, `SELECT v FROM meta WHERE k = $1`, "alias/"+alias).Scan(&account)
		if errors.Is(err, s.db.NoRows) {
			return iamd.Errorf(iamd.NotFound, "No account has the alias %s.", alias)
		}
		return err
	})
	return account, err
}

func (s *Store) SetAccountAlias(ctx context.Context, alias string) error {
	return s.write(ctx, func(q Q) error {
		acct := s.acct()
		k := "account_alias/" + acct
		var old string
		if err := q.QueryRow(ctx, `SELECT v FROM meta WHERE k = $1`+s.db.Lock, k).Scan(&old); err != nil && !errors.Is(err, s.db.NoRows) {
			return err
		}
		if alias != "" && alias != old {
			// Taken first: of two accounts taking one alias, the second
			// waits for the first's row and finds it not its own.
			if _, err := q.Exec(ctx, `INSERT INTO meta(k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING`, "alias/"+alias, acct); err != nil {
				return err
			}
			var owner string
			if err := q.QueryRow(ctx, `SELECT v FROM meta WHERE k = $1`, "alias/"+alias).Scan(&owner); err != nil {
				return err
			}
			if owner != acct {
				return iamd.Errorf(iamd.AlreadyExists, "The account alias %s already exists.", alias)
			}
		}
		if old != "" && old != alias {
			if _, err := q.Exec(ctx, `DELETE FROM meta WHERE k = $1`, "alias/"+old); err != nil {
				return err
			}
		}
		if alias == "" {
			_, err := q.Exec(ctx, `DELETE FROM meta WHERE k = $1`, k)
			return err
		}
		_, err := q.Exec(ctx, `INSERT INTO meta(k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, k, alias)
		return err
	})
}
