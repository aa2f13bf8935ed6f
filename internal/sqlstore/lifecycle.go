package sqlstore

import (
	"context"
	"encoding/base64"
	"errors"

	"iamd"
	"iamd/internal/sqlkit"
)

// ---- updates: read, change, write back, in one transaction ----

func (s *Store) UpdateUser(ctx context.Context, name string, fn func(*iamd.User) error) error {
	return s.write(ctx, func(q Q) error {
		u, err := sqlkit.ScanUser(q.QueryRow(ctx, `SELECT `+sqlkit.UserCols+` FROM users WHERE name_fold = $1`+s.db.Lock, s.nameKey(name)))
		if errors.Is(err, s.db.NoRows) {
			return iamd.UserNotFound(name)
		}
		if err != nil {
			return err
		}
		if err := fn(u); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `UPDATE users SET name = $1, name_fold = $2, path = $3, tags = $4, boundary = $5 WHERE id = $6`,
			u.Name, s.nameKey(u.Name), u.Path, sqlkit.TagsJSON(u.Tags), u.Boundary, u.ID)
		if s.db.IsUnique(err) {
			return iamd.UserExists(u.Name)
		}
		if err != nil {
			return err
		}
		// The user's name, path and tags are what its keys sign as and
		// what its policies' variables and conditions see; its boundary
		// bounds them.
		logChange(q, iamd.ChangeUser, u.ID)
		return nil
	})
}

func (s *Store) UpdateGroup(ctx context.Context, name string, fn func(*iamd.Group) error) error {
	return s.write(ctx, func(q Q) error {
		g, err := scanGroup(q.QueryRow(ctx, `SELECT `+groupCols+` FROM iam_groups WHERE name_fold = $1`+s.db.Lock, s.nameKey(name)))
		if errors.Is(err, s.db.NoRows) {
			return iamd.GroupNotFound(name)
		}
		if err != nil {
			return err
		}
		if err := fn(g); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `UPDATE iam_groups SET name = $1, name_fold = $2, path = $3 WHERE id = $4`, g.Name, s.nameKey(g.Name), g.Path, g.ID)
		if s.db.IsUnique(err) {
			return iamd.GroupExists(g.Name)
		}
		if err != nil {
			return err
		}
		logChange(q, iamd.ChangeGroup, g.ID)
		return nil
	})
}

func (s *Store) UpdatePolicyTags(ctx context.Context, name string, fn func([]iamd.Tag) ([]iamd.Tag, error)) error {
	return s.write(ctx, func(q Q) error {
		p, err := scanPolicy(q.QueryRow(ctx, `SELECT `+policyCols+` FROM policies p WHERE p.name_fold = $1`+s.db.Lock, s.nameKey(name)))
		if errors.Is(err, s.db.NoRows) {
			return iamd.Errorf(iamd.NotFound, "Policy %s does not exist.", name)
		}
		if err != nil {
			return err
		}
		tags, err := fn(p.Tags)
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `UPDATE policies SET tags = $1 WHERE id = $2`, sqlkit.TagsJSON(tags), p.ID)
		logChange(q, iamd.ChangePolicy, p.ID)
		return err
	})
}

func (s *Store) UpdateBucket(ctx context.Context, name string, fn func(*iamd.Bucket) error) error {
	return s.write(ctx, func(q Q) error {
		b, err := sqlkit.ScanBucket(q.QueryRow(ctx, `SELECT `+sqlkit.BucketCols+` FROM buckets WHERE name = $1 AND account = $2`+s.db.Lock, name, s.acct()))
		if errors.Is(err, s.db.NoRows) {
			return iamd.BucketNotFound(name)
		}
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `UPDATE buckets SET bundle_id = $1, tags = $2, versioning = $3 WHERE id = $4`, b.BundleID, sqlkit.TagsJSON(b.Tags), b.Versioning, b.ID)
		logChange(q, iamd.ChangeBucket, b.ID)
		return err
	})
}

// ---- the credential report and the account summary ----

// CredentialRows streams every user with its access keys, by folded
// name, from one query: no row per user is held and no query is made
// per user.
func (s *Store) CredentialRows(ctx context.Context, fn func(iamd.UserKeys) error) error {
	return s.read(ctx, func(ctx context.Context, q Q) error {
		rows, err := q.Query(ctx, `SELECT u.id, u.name, u.path, u.created_at,
				k.id, k.status, k.created_at, k.last_used_at, k.last_used_region, k.last_used_service,
				(SELECT changed_at FROM login_profiles lp WHERE lp.user_id = u.id),
				(SELECT last_used_at FROM login_profiles lp WHERE lp.user_id = u.id),
				(SELECT count(*) FROM mfa_devices d WHERE d.user_id = u.id)
			FROM users u LEFT JOIN access_keys k ON k.owner_kind = 0 AND k.owner_id = u.id
			WHERE u.name_fold > $1 AND u.name_fold < $2
			ORDER BY u.name_fold, k.created_at, k.id`, s.lo(), s.hi())
		if err != nil {
			return err
		}
		defer rows.Close()
		var cur iamd.UserKeys
		var have bool
		flush := func() error {
			if !have {
				return nil
			}
			return fn(cur)
		}
		for rows.Next() {
			var u iamd.User
			var created int64
			var kid, status *string
			var kcreated *int64
			var lu sqlkit.LastUsed
			var changed, used *int64
			var devices int
			if err := rows.Scan(&u.ID, &u.Name, &u.Path, &created, &kid, &status, &kcreated, &lu.At, &lu.Region, &lu.Service, &changed, &used, &devices); err != nil {
				return err
			}
			if !have || cur.User.ID != u.ID {
				if err := flush(); err != nil {
					return err
				}
				u.CreatedAt = sqlkit.FromMS(created)
				cur, have = iamd.UserKeys{User: u, MFA: devices > 0}, true
				if changed != nil {
					cur.PasswordChanged = sqlkit.FromMS(*changed)
				}
				if used != nil {
					cur.PasswordUsed = sqlkit.FromOptMS(*used)
				}
			}
			if kid != nil {
				cur.Keys = append(cur.Keys, iamd.AccessKey{ID: *kid, Status: iamd.KeyStatus(*status), CreatedAt: sqlkit.FromMS(*kcreated), LastUsed: lu.Value()})
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return flush()
	})
}

func (s *Store) AccountCounts(ctx context.Context) (c iamd.AccountCounts, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		return q.QueryRow(ctx, `SELECT (SELECT count(*) FROM users WHERE name_fold > $1 AND name_fold < $2),
			(SELECT count(*) FROM iam_groups WHERE name_fold > $1 AND name_fold < $2),
			(SELECT count(*) FROM policies WHERE name_fold > $1 AND name_fold < $2),
			(SELECT count(*) FROM policy_versions v JOIN policies p ON p.id = v.policy_id WHERE p.name_fold > $1 AND p.name_fold < $2),
			(SELECT count(*) FROM iam_roles WHERE name_fold > $1 AND name_fold < $2),
			(SELECT count(*) FROM access_keys WHERE owner_kind = 1 AND owner_id = $3)`, s.lo(), s.hi(), s.acct()).
			Scan(&c.Users, &c.Groups, &c.Policies, &c.PolicyVersions, &c.Roles, &c.RootKeys)
	})
	return c, err
}

func (s *Store) PutCredentialReport(ctx context.Context, r *iamd.CredentialReport) error {
	return s.write(ctx, func(q Q) error {
		_, err := q.Exec(ctx, `INSERT INTO credential_reports(account, generated_at, content) VALUES ($3, $1, $2)
			ON CONFLICT (account) DO UPDATE SET generated_at = excluded.generated_at, content = excluded.content`, sqlkit.MS(r.GeneratedAt), r.Content, s.acct())
		return err
	})
}

func (s *Store) GetCredentialReport(ctx context.Context, withContent bool) (r *iamd.CredentialReport, err error) {
	col := "NULL"
	if withContent {
		col = "content"
	}
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		var at int64
		var content []byte
		err := q.QueryRow(ctx, `SELECT generated_at, `+col+` FROM credential_reports WHERE account = $1`, s.acct()).Scan(&at, &content)
		if errors.Is(err, s.db.NoRows) {
			return iamd.ErrNoReport
		}
		r = &iamd.CredentialReport{GeneratedAt: sqlkit.FromMS(at), Content: content}
		return err
	})
	return r, err
}

// ---- master-key rotation ----

func (s *Store) RewrapSecrets(ctx context.Context, keyCheck []byte, rewrap func(id string, sealed []byte) ([]byte, error)) (n int, err error) {
	err = s.write(ctx, func(q Q) error {
		type sealedKey struct {
			id     string
			sealed []byte
		}
		rows, err := q.Query(ctx, `SELECT id, secret FROM access_keys ORDER BY id`)
		keys, err := collect(rows, err, func(r sqlkit.Row) (sealedKey, error) {
			var k sealedKey
			return k, r.Scan(&k.id, &k.sealed)
		})
		if err != nil {
			return err
		}
		for _, k := range keys {
			sealed, err := rewrap(k.id, k.sealed)
			if err != nil {
				return err
			}
			if _, err := q.Exec(ctx, `UPDATE access_keys SET secret = $1 WHERE id = $2`, sealed, k.id); err != nil {
				return err
			}
		}
		// MFA seeds are sealed as secrets are, bound to "mfa <serial>".
		rows, err = q.Query(ctx, `SELECT serial, seed FROM mfa_devices ORDER BY serial`)
		seeds, err := collect(rows, err, func(r sqlkit.Row) (sealedKey, error) {
			var k sealedKey
			var seed string
			if err := r.Scan(&k.id, &seed); err != nil {
				return k, err
			}
			k.sealed, err = base64.StdEncoding.DecodeString(seed)
			return k, err
		})
		if err != nil {
			return err
		}
		for _, k := range seeds {
			sealed, err := rewrap("mfa "+k.id, k.sealed)
			if err != nil {
				return err
			}
			if _, err := q.Exec(ctx, `UPDATE mfa_devices SET seed = $1 WHERE serial = $2`, base64.StdEncoding.EncodeToString(sealed), k.id); err != nil {
				return err
			}
		}
		if _, err := q.Exec(ctx, `UPDATE meta SET v = $1 WHERE k = 'key_check'`, base64.StdEncoding.EncodeToString(keyCheck)); err != nil {
			return err
		}
		logChange(q, iamd.ChangeAll, "")
		n = len(keys) + len(seeds)
		return nil
	})
	return n, err
}

func (s *Store) Ping(ctx context.Context) error {
	return s.read(ctx, func(ctx context.Context, q Q) error {
		var v string
		return q.QueryRow(ctx, `SELECT v FROM meta WHERE k = 'account_id'`).Scan(&v)
	})
}
