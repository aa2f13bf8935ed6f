package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"iamd"
	"iamd/internal/sqlkit"
)

// The change log's reading side (see iamd.ChangeLog): everything decisions
// read, in full or for the entities a run of entries names, in one
// consistent view of the database.

// view runs fn in one consistent read of the database.
func (s *Store) view(ctx context.Context, fn func(context.Context, Q) error) error {
	if s.db.View == nil {
		return s.read(ctx, fn)
	}
	err := s.db.View(ctx, fn)
	if iamd.KindOf(err) == iamd.Internal {
		err = s.db.Err(err)
	}
	return s.fail(err)
}

// errNoLog is the answer of a store that keeps no change log.
var errNoLog = &iamd.Error{Kind: iamd.Internal, Message: "this store keeps no change log (sqlite.Options.ChangeLog)"}

func (s *Store) Snapshot(ctx context.Context) (snap *iamd.Snapshot, err error) {
	if !s.db.Log {
		return nil, errNoLog
	}
	err = s.view(ctx, func(ctx context.Context, q Q) error {
		snap = &iamd.Snapshot{}
		var err error
		if snap.Epoch, snap.Seq, snap.Account, err = logHead(ctx, q); err != nil {
			return err
		}
		return loadRecords(ctx, q, &snap.Records, nil)
	})
	return snap, err
}

func (s *Store) ChangesSince(ctx context.Context, seq int64, max int) (d *iamd.Delta, err error) {
	if !s.db.Log {
		return nil, errNoLog
	}
	err = s.view(ctx, func(ctx context.Context, q Q) error {
		d = &iamd.Delta{}
		var err error
		if d.Epoch, d.Last, d.Account, err = logHead(ctx, q); err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT seq, kind, id, at FROM change_log WHERE seq >= $1 ORDER BY seq LIMIT $2`, seq, max+1)
		d.Entries, err = collect(rows, err, func(r sqlkit.Row) (iamd.LogEntry, error) {
			var e iamd.LogEntry
			var at int64
			err := r.Scan(&e.Seq, &e.Kind, &e.ID, &at)
			e.At = sqlkit.FromMS(at)
			return e, err
		})
		if err != nil {
			return err
		}
		if len(d.Entries) > 0 && d.Entries[0].Seq == seq {
			d.Base = &d.Entries[0]
			d.Entries = d.Entries[1:]
		}
		if len(d.Entries) > max {
			d.Entries = d.Entries[:max]
		}
		named := map[iamd.ChangeKind][]string{}
		for _, e := range d.Entries {
			if e.Kind == iamd.ChangeAll {
				return nil // the replica loads everything again
			}
			named[e.Kind] = append(named[e.Kind], e.ID)
		}
		return loadRecords(ctx, q, &d.Records, named)
	})
	return d, err
}

// logHead reads the log's epoch and its newest entry, and the account
// (zero before Init), in one statement.
func logHead(ctx context.Context, q Q) (epoch string, last int64, a iamd.Account, err error) {
	var id, created, check *string
	if err = q.QueryRow(ctx, `SELECT (SELECT v FROM meta WHERE k = 'log_epoch'), (SELECT COALESCE(MAX(seq), 0) FROM change_log),
		(SELECT v FROM meta WHERE k = 'account_id'), (SELECT v FROM meta WHERE k = 'account_created_at'), (SELECT v FROM meta WHERE k = 'key_check')`).
		Scan(&epoch, &last, &id, &created, &check); err != nil {
		return "", 0, a, err
	}
	if a, err = parseAccount(id, created, check); errors.Is(err, errNoAccount) {
		err = nil
	}
	return epoch, last, a, err
}

// loadRecords reads the records decisions need into r: every one, or,
// when named is not nil, those of the entities it names by kind.
func loadRecords(ctx context.Context, q Q, r *iamd.Records, named map[iamd.ChangeKind][]string) error {
	var err error
	if r.Keys, err = loadEach(ctx, q, named, iamd.ChangeKey, `SELECT id, owner_kind, owner_id, status, created_at, secret, disabled_at FROM access_keys`, "id", scanKeyRecord); err != nil {
		return err
	}
	if r.Users, err = loadEach(ctx, q, named, iamd.ChangeUser, `SELECT `+sqlkit.UserCols+`, name_fold FROM users`, "id", func(row sqlkit.Row) (*iamd.UserRecord, error) {
		var key string
		u, err := sqlkit.ScanUser(withKey{row, &key})
		if err != nil {
			return nil, err
		}
		return &iamd.UserRecord{User: *u, Account: keyAccount(key)}, nil
	}); err != nil {
		return err
	}
	if r.Groups, err = loadEach(ctx, q, named, iamd.ChangeGroup, `SELECT `+groupCols+`, name_fold FROM iam_groups`, "id", func(row sqlkit.Row) (*iamd.GroupRecord, error) {
		var key string
		g, err := scanGroup(withKey{row, &key})
		if err != nil {
			return nil, err
		}
		return &iamd.GroupRecord{Group: *g, Account: keyAccount(key)}, nil
	}); err != nil {
		return err
	}
	if r.Roles, err = loadEach(ctx, q, named, iamd.ChangeRole, `SELECT `+roleCols+`, name_fold FROM iam_roles`, "id", func(row sqlkit.Row) (*iamd.RoleRecord, error) {
		var key string
		ro, err := scanRole(withKey{row, &key})
		if err != nil {
			return nil, err
		}
		return &iamd.RoleRecord{Role: *ro, Account: keyAccount(key)}, nil
	}); err != nil {
		return err
	}
	if r.Policies, err = loadEach(ctx, q, named, iamd.ChangePolicy, `SELECT p.id, p.name, p.path, p.description, p.default_version, p.created_at,
			p.updated_at, p.tags, v.document, p.name_fold FROM policies p JOIN policy_versions v ON v.policy_id = p.id AND v.num = p.default_version`, "p.id", scanPolicyRecord); err != nil {
		return err
	}
	if r.Buckets, err = loadEach(ctx, q, named, iamd.ChangeBucket, `SELECT `+sqlkit.BucketCols+` FROM buckets`, "id", sqlkit.ScanBucket); err != nil {
		return err
	}
	if r.Providers, err = loadEach(ctx, q, named, iamd.ChangeProvider, `SELECT `+providerCols+` FROM oidc_providers`, "id", scanProvider); err != nil {
		return err
	}
	if named == nil || len(named[iamd.ChangeOrganization]) > 0 {
		rows, err := q.Query(ctx, `SELECT v FROM meta WHERE k = 'organization'`)
		docs, err := collect(rows, err, func(row sqlkit.Row) (string, error) {
			var v string
			return v, row.Scan(&v)
		})
		if err != nil {
			return err
		}
		if len(docs) > 0 {
			r.Organization = []byte(docs[0])
		}
	}
	// What users, groups and roles hold: memberships and policies.
	users := map[string]*iamd.UserRecord{}
	for _, u := range r.Users {
		users[u.ID] = u
	}
	if err := eachRow(ctx, q, named, iamd.ChangeUser, `SELECT user_id, group_id FROM group_members`, "user_id", func(row sqlkit.Row) error {
		var uid, gid string
		if err := row.Scan(&uid, &gid); err != nil {
			return err
		}
		if u := users[uid]; u != nil {
			u.Groups = append(u.Groups, gid)
		}
		return nil
	}); err != nil {
		return err
	}
	holders := [3]map[string]*iamd.Attachments{{}, {}, {}}
	for _, u := range r.Users {
		holders[kindUser][u.ID] = &u.Attachments
	}
	for _, g := range r.Groups {
		holders[kindGroup][g.ID] = &g.Attachments
	}
	for _, ro := range r.Roles {
		holders[kindRole][ro.ID] = &ro.Attachments
	}
	for kind, change := range []iamd.ChangeKind{iamd.ChangeUser, iamd.ChangeGroup, iamd.ChangeRole} {
		k := strconv.Itoa(kind)
		if err := eachRow(ctx, q, named, change, `SELECT entity_id, name, document FROM inline_policies WHERE entity_kind = `+k, "entity_id", func(row sqlkit.Row) error {
			var id string
			var p iamd.InlinePolicy
			if err := row.Scan(&id, &p.Name, &p.Document); err != nil {
				return err
			}
			if h := holders[kind][id]; h != nil {
				h.Inline = append(h.Inline, p)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := eachRow(ctx, q, named, change, `SELECT entity_id, policy_id, policy_arn FROM attached_policies WHERE entity_kind = `+k, "entity_id", func(row sqlkit.Row) error {
			var id string
			var a iamd.AttachedPolicy
			if err := row.Scan(&id, &a.ID, &a.ARN); err != nil {
				return err
			}
			if h := holders[kind][id]; h != nil {
				h.Attached = append(h.Attached, a)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// withKey scans a row of some columns and a name's key after them.
type withKey struct {
	sqlkit.Row
	key *string
}

func (w withKey) Scan(dest ...any) error { return w.Row.Scan(append(dest, w.key)...) }

// keyAccount is the account of a name's key (see Store).
func keyAccount(key string) string {
	account, _, _ := strings.Cut(key, "/")
	return account
}

func scanKeyRecord(row sqlkit.Row) (*iamd.KeyRecord, error) {
	var k iamd.KeyRecord
	var kind int
	var owner *string
	var created, disabled int64
	if err := row.Scan(&k.ID, &kind, &owner, &k.Status, &created, &k.SealedSecret, &disabled); err != nil {
		return nil, err
	}
	k.Owner, k.CreatedAt = iamd.OwnerKind(kind), sqlkit.FromMS(created)
	if owner != nil {
		k.OwnerID = *owner
	}
	k.DisabledAt = sqlkit.FromOptMS(disabled)
	return &k, nil
}

func scanPolicyRecord(row sqlkit.Row) (*iamd.PolicyRecord, error) {
	var p iamd.PolicyRecord
	var def, created, updated int64
	var tags string
	var key string
	if err := row.Scan(&p.ID, &p.Name, &p.Path, &p.Description, &def, &created, &updated, &tags, &p.Document, &key); err != nil {
		return nil, err
	}
	p.Account = keyAccount(key)
	p.DefaultVersion, p.CreatedAt, p.UpdatedAt = versionID(def), sqlkit.FromMS(created), sqlkit.FromMS(updated)
	var err error
	if p.Tags, err = sqlkit.ParseTags(tags); err != nil {
		return nil, fmt.Errorf("corrupt tags of policy %s: %w", p.ID, err)
	}
	return &p, nil
}

// inChunk is how many IDs one "IN (…)" names.
const inChunk = 500

// loadEach reads the rows of query, all of them when named is nil, or
// those whose col is one of named[kind] (none when it names none).
func loadEach[T any](ctx context.Context, q Q, named map[iamd.ChangeKind][]string, kind iamd.ChangeKind, query, col string, scan func(sqlkit.Row) (T, error)) ([]T, error) {
	var out []T
	err := eachRow(ctx, q, named, kind, query, col, func(r sqlkit.Row) error {
		v, err := scan(r)
		out = append(out, v)
		return err
	})
	return out, err
}

// eachRow calls fn with each row of query, filtered as loadEach filters.
func eachRow(ctx context.Context, q Q, named map[iamd.ChangeKind][]string, kind iamd.ChangeKind, query, col string, fn func(sqlkit.Row) error) error {
	run := func(query string, args ...any) error {
		rows, err := q.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	if named == nil {
		return run(query)
	}
	ids := named[kind]
	join := " WHERE "
	if strings.Contains(query, " WHERE ") {
		join = " AND "
	}
	for len(ids) > 0 {
		n := min(len(ids), inChunk)
		var b strings.Builder
		args := make([]any, n)
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("$" + strconv.Itoa(i+1))
			args[i] = ids[i]
		}
		if err := run(query+join+col+" IN ("+b.String()+")", args...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// readAccount reads the account recorded by Init.
func readAccount(ctx context.Context, q Q) (iamd.Account, error) {
	var id, created, check *string
	err := q.QueryRow(ctx, `SELECT (SELECT v FROM meta WHERE k = 'account_id'), (SELECT v FROM meta WHERE k = 'account_created_at'),
		(SELECT v FROM meta WHERE k = 'key_check')`).Scan(&id, &created, &check)
	if err != nil {
		return iamd.Account{}, err
	}
	return parseAccount(id, created, check)
}

var errNoAccount = errors.New("the database holds no account yet")
