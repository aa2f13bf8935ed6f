package sqlstore

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"iamd"
	"iamd/internal/sqlkit"
)

// ---- account ----

// Init of the deployment's Store records its first account, the one
// today's data belongs to, and serves it from then on. Init of another
// account's Store (In) records nothing: that account is a's, with the
// deployment's key check.
func (s *Store) Init(ctx context.Context, a iamd.Account) (iamd.Account, error) {
	if s.in == "" {
		err := s.write(ctx, func(q Q) error {
			_, err := q.Exec(ctx, `INSERT INTO meta(k, v) VALUES ('account_id', $1), ('account_created_at', $2), ('key_check', $3) ON CONFLICT (k) DO NOTHING`,
				a.ID, strconv.FormatInt(sqlkit.MS(a.CreatedAt), 10), base64.StdEncoding.EncodeToString(a.KeyCheck))
			return err
		})
		if err != nil {
			return iamd.Account{}, err
		}
	}
	var first iamd.Account
	err := s.read(ctx, func(ctx context.Context, q Q) (err error) {
		first, err = readAccount(ctx, q)
		return err
	})
	switch {
	case err != nil:
		return iamd.Account{}, err
	case s.in == "":
		s.hooks.first.Store(&first.ID)
	case s.in != first.ID:
		return iamd.Account{ID: s.in, CreatedAt: a.CreatedAt, KeyCheck: first.KeyCheck}, nil
	}
	return first, nil
}

// parseAccount reads the account's meta rows.
func parseAccount(id, created, check *string) (iamd.Account, error) {
	if id == nil || created == nil || check == nil {
		return iamd.Account{}, errNoAccount
	}
	// PostgreSQL's encode(…, 'base64') of earlier versions broke lines.
	keyCheck, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(*check, "\n", ""))
	if err != nil {
		return iamd.Account{}, fmt.Errorf("corrupt key_check: %w", err)
	}
	c, err := strconv.ParseInt(*created, 10, 64)
	if err != nil {
		return iamd.Account{}, fmt.Errorf("corrupt account_created_at %q", *created)
	}
	return iamd.Account{ID: *id, CreatedAt: sqlkit.FromMS(c), KeyCheck: keyCheck}, nil
}

// ---- users ----

func (s *Store) CreateUser(ctx context.Context, u *iamd.User) error {
	return s.write(ctx, func(q Q) error {
		_, err := q.Exec(ctx, `INSERT INTO users(`+sqlkit.UserCols+`, name_fold) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			u.ID, u.Name, u.Path, sqlkit.MS(u.CreatedAt), sqlkit.TagsJSON(u.Tags), u.Boundary, s.nameKey(u.Name))
		if s.db.IsUnique(err) {
			return iamd.UserExists(u.Name)
		}
		logChange(q, iamd.ChangeUser, u.ID)
		return err
	})
}

func (s *Store) GetUser(ctx context.Context, name string) (*iamd.User, error) {
	return getByName(ctx, s, "users", sqlkit.UserCols, sqlkit.ScanUser, name, iamd.UserNotFound)
}

func (s *Store) ListUsers(ctx context.Context, pathPrefix string, p iamd.Page) ([]*iamd.User, string, error) {
	return listByPath(ctx, s, "users", sqlkit.UserCols, sqlkit.ScanUser, userKey, pathPrefix, p)
}

func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.write(ctx, func(q Q) error {
		id, err := s.entityID(ctx, q, iamd.Entity{Kind: iamd.EntityUser, Name: name}, true)
		if err != nil {
			return err
		}
		var keys int
		if err := q.QueryRow(ctx, `SELECT count(*) FROM access_keys WHERE owner_kind = 0 AND owner_id = $1`, id).Scan(&keys); err != nil {
			return err
		}
		if keys > 0 {
			return iamd.UserHasKeys()
		}
		if err := s.UserDependents(ctx, q, id); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		logGone(q, iamd.ChangeUser, id)
		return err
	})
}

// ---- access keys ----

// owner resolves o to (owner_kind, owner_id), locking its row until the
// transaction ends when lock is set (the root's row is the account_id
// meta row, every account's), and fills the stored spelling of its name.
// The root's owner_id is its account's ID.
func (s *Store) owner(ctx context.Context, q Q, o *iamd.Owner, lock bool) (int, *string, error) {
	suffix := ""
	if lock {
		suffix = s.db.Lock
	}
	var query string
	var args []any
	switch o.Kind {
	case iamd.OwnerRoot:
		if lock {
			if err := q.QueryRow(ctx, `SELECT k FROM meta WHERE k = 'account_id'`+suffix).Scan(new(string)); err != nil {
				return 0, nil, err
			}
		}
		acct := s.acct()
		return int(iamd.OwnerRoot), &acct, nil
	case iamd.OwnerUser:
		query, args = `SELECT id, name FROM users WHERE name_fold = $1`, []any{s.nameKey(o.Name)}
	case iamd.OwnerBucket:
		query, args = `SELECT id, name FROM buckets WHERE name = $1 AND account = $2`, []any{o.Name, s.acct()}
	default:
		return 0, nil, fmt.Errorf("unknown owner kind %d", o.Kind)
	}
	var id, name string
	err := q.QueryRow(ctx, query+suffix, args...).Scan(&id, &name)
	if errors.Is(err, s.db.NoRows) {
		return 0, nil, iamd.OwnerNotFound(*o)
	}
	if err != nil {
		return 0, nil, err
	}
	o.Name = name
	return int(o.Kind), &id, nil
}

// CreateAccessKey counts the owner's keys with its row locked, so that
// concurrent creations on any node stay within the limit.
func (s *Store) CreateAccessKey(ctx context.Context, k *iamd.AccessKey, limit int) error {
	return s.write(ctx, func(q Q) error {
		// The owner, its keys and the key's past, in one statement for a
		// user or a bucket. Where rows are locked rather than writes
		// serialized, the owner's row is locked first: the count must see
		// what the lock waited for (a statement's subqueries see the
		// database as it was when the statement began).
		var (
			kind     = int(k.Owner.Kind)
			oid      *string
			n, gone  int
			id, name string
			err      error
		)
		if s.db.Lock != "" || k.Owner.Kind == iamd.OwnerRoot {
			if kind, oid, err = s.owner(ctx, q, &k.Owner, true); err != nil {
				return err
			}
		}
		count := `(SELECT count(*) FROM access_keys WHERE owner_kind = $2 AND owner_id = o.id), (SELECT count(*) FROM deleted_access_keys WHERE id = $3)`
		switch k.Owner.Kind {
		case iamd.OwnerUser:
			err = q.QueryRow(ctx, `SELECT o.id, o.name, `+count+` FROM users o WHERE o.name_fold = $1`, s.nameKey(k.Owner.Name), kind, k.ID).Scan(&id, &name, &n, &gone)
		case iamd.OwnerBucket:
			err = q.QueryRow(ctx, `SELECT o.id, o.name, `+count+` FROM buckets o WHERE o.name = $1 AND o.account = $4`, k.Owner.Name, kind, k.ID, s.acct()).Scan(&id, &name, &n, &gone)
		default:
			err = q.QueryRow(ctx, `SELECT (SELECT count(*) FROM access_keys WHERE owner_kind = $1 AND owner_id = $3),
				(SELECT count(*) FROM deleted_access_keys WHERE id = $2)`, kind, k.ID, s.acct()).Scan(&n, &gone)
		}
		if errors.Is(err, s.db.NoRows) {
			return iamd.OwnerNotFound(k.Owner)
		}
		if err != nil {
			return err
		}
		if k.Owner.Kind != iamd.OwnerRoot {
			oid, k.Owner.Name = &id, name
		}
		if n >= limit {
			return iamd.KeyLimit(k.Owner, limit)
		}
		if gone > 0 {
			return iamd.KeyDeleted(k.ID)
		}
		_, err = q.Exec(ctx, `INSERT INTO access_keys(id, owner_kind, owner_id, status, created_at, secret) VALUES ($1, $2, $3, $4, $5, $6)`,
			k.ID, kind, oid, string(k.Status), sqlkit.MS(k.CreatedAt), k.SealedSecret)
		if s.db.IsUnique(err) {
			return iamd.Errorf(iamd.Conflict, "Access key %s already exists.", k.ID)
		}
		if err == nil && k.Owner.Kind == iamd.OwnerUser {
			k.UserID = *oid
		}
		logChange(q, iamd.ChangeKey, k.ID)
		return err
	})
}

func (s *Store) GetCredential(ctx context.Context, id string) (c *iamd.Credential, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		var cr iamd.Credential
		var kind int
		var ownerID *string
		var created, disabled int64
		var lu sqlkit.LastUsed
		err := q.QueryRow(ctx, `SELECT owner_kind, owner_id, status, created_at, secret, last_used_at, last_used_region, last_used_service, disabled_at
			FROM access_keys WHERE id = $1`, id).Scan(&kind, &ownerID, &cr.Key.Status, &created, &cr.Key.SealedSecret, &lu.At, &lu.Region, &lu.Service, &disabled)
		if errors.Is(err, s.db.NoRows) {
			return iamd.KeyNotFound(id)
		}
		if err != nil {
			return err
		}
		cr.Key.ID, cr.Key.CreatedAt, cr.Key.LastUsed, cr.Key.DisabledAt = id, sqlkit.FromMS(created), lu.Value(), sqlkit.FromOptMS(disabled)
		// A key of another account is not this account's to know of.
		oid := cmp.Or(ownerID, new(string))
		switch iamd.OwnerKind(kind) {
		case iamd.OwnerRoot:
			if *oid != s.acct() {
				return iamd.KeyNotFound(id)
			}
			cr.Key.Owner = iamd.RootOwner
		case iamd.OwnerUser:
			cr.User, err = sqlkit.ScanUser(q.QueryRow(ctx, `SELECT `+sqlkit.UserCols+` FROM users WHERE id = $1 AND name_fold > $2 AND name_fold < $3`, *oid, s.lo(), s.hi()))
			if errors.Is(err, s.db.NoRows) {
				return iamd.KeyNotFound(id)
			}
			if err != nil {
				return err
			}
			cr.Key.Owner, cr.Key.UserID = iamd.UserOwner(cr.User.Name), cr.User.ID
		case iamd.OwnerBucket:
			cr.Bucket, err = sqlkit.ScanBucket(q.QueryRow(ctx, `SELECT `+sqlkit.BucketCols+` FROM buckets WHERE id = $1 AND account = $2`, *oid, s.acct()))
			if errors.Is(err, s.db.NoRows) {
				return iamd.KeyNotFound(id)
			}
			if err != nil {
				return err
			}
			cr.Key.Owner = iamd.BucketOwner(cr.Bucket.Name)
		default:
			return fmt.Errorf("key %s has unknown owner kind %d", id, kind)
		}
		c = &cr
		return nil
	})
	return c, err
}

// ListAccessKeys resolves the owner and lists its keys in one statement:
// a row per key, one row of NULL key columns when it has none, or no row
// when the owner does not exist (the root always exists: one row of meta,
// and $5 is its account).
func (s *Store) ListAccessKeys(ctx context.Context, owner iamd.Owner, p iamd.Page) (keys []*iamd.AccessKey, next string, err error) {
	var afterAt int64 = -1
	afterID := ""
	if p.Marker != "" {
		if afterAt, afterID, err = sqlkit.DecodeTimeIDMarker(p.Marker); err != nil {
			return nil, "", err
		}
	}
	var from, keyCol, key string
	switch owner.Kind {
	case iamd.OwnerRoot:
		from, keyCol, key = `meta o LEFT JOIN access_keys k ON k.owner_kind = 1 AND k.owner_id = $5`, "o.k", "account_id"
	case iamd.OwnerUser:
		from, keyCol, key = `users o LEFT JOIN access_keys k ON k.owner_kind = 0 AND k.owner_id = o.id`, "o.name_fold", s.nameKey(owner.Name)
	case iamd.OwnerBucket:
		from, keyCol, key = `buckets o LEFT JOIN access_keys k ON k.owner_kind = 2 AND k.owner_id = o.id`, "o.name", owner.Name
	}
	where, args := keyCol+` = $3`, []any{afterAt, afterID, key, p.MaxItems + 1}
	switch owner.Kind {
	case iamd.OwnerRoot:
		args = append(args, s.acct())
	case iamd.OwnerBucket:
		where, args = where+` AND o.account = $5`, append(args, s.acct())
	}
	idCol, nameCol := "o.id", "o.name"
	if owner.Kind == iamd.OwnerRoot {
		idCol, nameCol = "NULL", "''"
	}
	type row struct {
		ownerID, name, id, status *string
		created                   *int64
		lu                        sqlkit.LastUsed
	}
	var rows []row
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		rs, err := q.Query(ctx, `SELECT `+idCol+`, `+nameCol+`,
				k.id, k.status, k.created_at, k.last_used_at, k.last_used_region, k.last_used_service
			FROM `+from+` AND (k.created_at > $1 OR (k.created_at = $1 AND k.id > $2))
			WHERE `+where+` ORDER BY k.created_at, k.id LIMIT $4`, args...)
		rows, err = collect(rs, err, func(r sqlkit.Row) (row, error) {
			var v row
			err := r.Scan(&v.ownerID, &v.name, &v.id, &v.status, &v.created, &v.lu.At, &v.lu.Region, &v.lu.Service)
			return v, err
		})
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if len(rows) == 0 {
		return nil, "", iamd.OwnerNotFound(owner)
	}
	if owner.Kind != iamd.OwnerRoot {
		owner.Name = *rows[0].name
	}
	for _, r := range rows {
		if r.id == nil {
			continue // the owner has no (more) keys
		}
		k := &iamd.AccessKey{ID: *r.id, Owner: owner, Status: iamd.KeyStatus(*r.status), CreatedAt: sqlkit.FromMS(*r.created), LastUsed: r.lu.Value()}
		if owner.Kind == iamd.OwnerUser {
			k.UserID = *r.ownerID
		}
		keys = append(keys, k)
	}
	if len(keys) > p.MaxItems {
		keys = keys[:p.MaxItems]
		last := keys[len(keys)-1]
		next = sqlkit.TimeIDMarker(last.CreatedAt, last.ID)
	}
	return keys, next, nil
}

// changeKey runs stmt on the key id of owner: stmt's WHERE ends with
// ownerCond, which names the key ($1) and its owner ($2, $3, $4), more
// arguments after. Only when no row changes is the owner looked up, to
// tell a missing owner from a key not its.
func (s *Store) changeKey(ctx context.Context, owner iamd.Owner, id, stmt string, args ...any) error {
	return s.write(ctx, func(q Q) error {
		key := s.acct()
		switch owner.Kind {
		case iamd.OwnerUser:
			key = s.nameKey(owner.Name)
		case iamd.OwnerBucket:
			key = owner.Name
		}
		n, err := q.Exec(ctx, stmt, append([]any{id, int(owner.Kind), key, s.acct()}, args...)...)
		if err != nil {
			return err
		}
		if n == 0 {
			if _, _, err := s.owner(ctx, q, &owner, false); err != nil {
				return err
			}
			return iamd.KeyNotFound(id)
		}
		if strings.HasPrefix(stmt, "DELETE") {
			logGone(q, iamd.ChangeKey, id)
		} else {
			logChange(q, iamd.ChangeKey, id)
		}
		return nil
	})
}

// ownerCond matches a key's owner, kind $2 and name $3 (its key for a
// user, the account for the root) in account $4, without a lookup of its
// own.
const ownerCond = `owner_kind = $2 AND (owner_kind = 1 AND owner_id = $3
	OR owner_kind = 0 AND owner_id = (SELECT id FROM users WHERE name_fold = $3)
	OR owner_kind = 2 AND owner_id = (SELECT id FROM buckets WHERE name = $3 AND account = $4))`

func (s *Store) UpdateAccessKey(ctx context.Context, owner iamd.Owner, id string, status iamd.KeyStatus, at time.Time) error {
	disabled := int64(0)
	if status == iamd.StatusInactive {
		disabled = sqlkit.MS(at)
	}
	return s.changeKey(ctx, owner, id, `UPDATE access_keys SET status = $5, disabled_at = CASE WHEN CAST($6 AS BIGINT) > 0 THEN CAST($6 AS BIGINT) ELSE disabled_at END
		WHERE id = $1 AND `+ownerCond, string(status), disabled)
}

func (s *Store) DeleteAccessKey(ctx context.Context, owner iamd.Owner, id string) error {
	return s.changeKey(ctx, owner, id, `DELETE FROM access_keys WHERE id = $1 AND `+ownerCond)
}

// RecordKeyUse updates the keys in ID order, so that two nodes' batches
// cannot deadlock, and ignores a use older than the stored one, so that no
// node's update is lost to another's. A store may write the batch in one
// statement instead.
func (s *Store) RecordKeyUse(ctx context.Context, uses []iamd.KeyUse) error {
	if len(uses) == 0 {
		return nil
	}
	sorted := append([]iamd.KeyUse(nil), uses...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].AccessKeyID < sorted[j].AccessKeyID })
	return s.write(ctx, func(q Q) error {
		for _, u := range sorted {
			at := sqlkit.MS(u.At)
			if _, err := q.Exec(ctx, `UPDATE access_keys SET last_used_at = $1, last_used_region = $2, last_used_service = $3
				WHERE id = $4 AND (last_used_at IS NULL OR last_used_at < $1)`, at, u.Region, u.Service, u.AccessKeyID); err != nil {
				return err
			}
		}
		return nil
	})
}

// ---- buckets ----

func (s *Store) CreateBucket(ctx context.Context, b *iamd.Bucket) error {
	return s.write(ctx, func(q Q) error {
		b.Account = s.acct()
		_, err := q.Exec(ctx, `INSERT INTO buckets(`+sqlkit.BucketCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			b.ID, b.Name, b.BundleID, sqlkit.MS(b.CreatedAt), sqlkit.TagsJSON(b.Tags), b.Versioning, b.PrincipalID, b.Account)
		if s.db.IsUnique(err) {
			return iamd.BucketExists(b.Name)
		}
		logChange(q, iamd.ChangeBucket, b.ID)
		return err
	})
}

func (s *Store) GetBucket(ctx context.Context, name string) (b *iamd.Bucket, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		b, err = sqlkit.ScanBucket(q.QueryRow(ctx, `SELECT `+sqlkit.BucketCols+` FROM buckets WHERE name = $1 AND account = $2`, name, s.acct()))
		if errors.Is(err, s.db.NoRows) {
			return iamd.BucketNotFound(name)
		}
		return err
	})
	return b, err
}

func (s *Store) BucketAccount(ctx context.Context, name string) (account string, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		err := q.QueryRow(ctx, `SELECT account FROM buckets WHERE name = $1`, name).Scan(&account)
		if errors.Is(err, s.db.NoRows) {
			return iamd.BucketNotFound(name)
		}
		return err
	})
	return account, err
}

func (s *Store) ListBuckets(ctx context.Context, p iamd.Page) (bs []*iamd.Bucket, next string, err error) {
	from, err := after(p)
	if err != nil {
		return nil, "", err
	}
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		rows, err := q.Query(ctx, `SELECT `+sqlkit.BucketCols+` FROM buckets WHERE account = $3 AND name > $1 ORDER BY name LIMIT $2`, from, p.MaxItems+1, s.acct())
		bs, err = collect(rows, err, sqlkit.ScanBucket)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	bs, next = page(bs, p, func(b *iamd.Bucket) string { return b.Name })
	return bs, next, nil
}

func (s *Store) DeleteBucket(ctx context.Context, name string, force bool) (deleted []string, err error) {
	err = s.write(ctx, func(q Q) error {
		var id string
		err := q.QueryRow(ctx, `SELECT id FROM buckets WHERE name = $1 AND account = $2`+s.db.Lock, name, s.acct()).Scan(&id)
		if errors.Is(err, s.db.NoRows) {
			return iamd.BucketNotFound(name)
		}
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT id FROM access_keys WHERE owner_kind = 2 AND owner_id = $1`, id)
		if deleted, err = collect(rows, err, func(r sqlkit.Row) (string, error) {
			var k string
			return k, r.Scan(&k)
		}); err != nil {
			return err
		}
		if len(deleted) > 0 && !force {
			return iamd.BucketHasKeys(name)
		}
		if _, err := q.Exec(ctx, `DELETE FROM access_keys WHERE owner_kind = 2 AND owner_id = $1`, id); err != nil {
			return err
		}
		for _, k := range deleted {
			logGone(q, iamd.ChangeKey, k)
		}
		_, err = q.Exec(ctx, `DELETE FROM buckets WHERE id = $1`, id)
		logGone(q, iamd.ChangeBucket, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}

// ---- operations ----

func (s *Store) PutOperation(ctx context.Context, op *iamd.Operation) error {
	return s.write(ctx, func(q Q) error {
		_, err := q.Exec(ctx, `INSERT INTO operations(`+sqlkit.OpCols+`, account) VALUES ($1, $2, $3, $4, $5, $6)`,
			op.ID, op.ResourceName, op.ResourceType, op.Type, sqlkit.MS(op.CreatedAt), s.acct())
		return err
	})
}

func (s *Store) GetOperation(ctx context.Context, id string) (op *iamd.Operation, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		op, err = sqlkit.ScanOp(q.QueryRow(ctx, `SELECT `+sqlkit.OpCols+` FROM operations WHERE id = $1 AND account = $2`, id, s.acct()))
		if errors.Is(err, s.db.NoRows) {
			return iamd.OperationNotFound(id)
		}
		return err
	})
	return op, err
}

func (s *Store) ListOperations(ctx context.Context, p iamd.Page) (ops []*iamd.Operation, next string, err error) {
	var beforeAt int64 = 1<<63 - 1
	beforeID := ""
	if p.Marker != "" {
		if beforeAt, beforeID, err = sqlkit.DecodeTimeIDMarker(p.Marker); err != nil {
			return nil, "", err
		}
	}
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		rows, err := q.Query(ctx, `SELECT `+sqlkit.OpCols+` FROM operations
			WHERE account = $4 AND (created_at < $1 OR (created_at = $1 AND id < $2))
			ORDER BY created_at DESC, id DESC LIMIT $3`, beforeAt, beforeID, p.MaxItems+1, s.acct())
		ops, err = collect(rows, err, sqlkit.ScanOp)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if len(ops) > p.MaxItems {
		ops = ops[:p.MaxItems]
		last := ops[len(ops)-1]
		next = sqlkit.TimeIDMarker(last.CreatedAt, last.ID)
	}
	return ops, next, nil
}
