package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"iamd"
	"iamd/internal/sqlkit"
)

// ---- groups ----

const groupCols = `id, name, path, created_at`

func scanGroup(r sqlkit.Row) (*iamd.Group, error) {
	var g iamd.Group
	var created int64
	if err := r.Scan(&g.ID, &g.Name, &g.Path, &created); err != nil {
		return nil, err
	}
	g.CreatedAt = sqlkit.FromMS(created)
	return &g, nil
}

func groupKey(g *iamd.Group) string { return iamd.FoldName(g.Name) }
func userKey(u *iamd.User) string   { return iamd.FoldName(u.Name) }

func (s *Store) CreateGroup(ctx context.Context, g *iamd.Group) error {
	return s.write(ctx, func(q Q) error {
		_, err := q.Exec(ctx, `INSERT INTO iam_groups(`+groupCols+`, name_fold) VALUES ($1, $2, $3, $4, $5)`,
			g.ID, g.Name, g.Path, sqlkit.MS(g.CreatedAt), s.nameKey(g.Name))
		if s.db.IsUnique(err) {
			return iamd.GroupExists(g.Name)
		}
		logChange(q, iamd.ChangeGroup, g.ID)
		return err
	})
}

func (s *Store) GetGroup(ctx context.Context, name string) (*iamd.Group, error) {
	return getByName(ctx, s, "iam_groups", groupCols, scanGroup, name, iamd.GroupNotFound)
}

func (s *Store) ListGroups(ctx context.Context, pathPrefix string, p iamd.Page) ([]*iamd.Group, string, error) {
	return listByPath(ctx, s, "iam_groups", groupCols, scanGroup, groupKey, pathPrefix, p)
}

func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	return s.write(ctx, func(q Q) error {
		id, err := s.entityID(ctx, q, iamd.Entity{Kind: iamd.EntityGroup, Name: name}, true)
		if err != nil {
			return err
		}
		if err := s.dependents(ctx, q, kindGroup, id); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `DELETE FROM iam_groups WHERE id = $1`, id)
		logGone(q, iamd.ChangeGroup, id)
		return err
	})
}

// dependents returns the Conflict that keeps an entity from being deleted.
func (s *Store) dependents(ctx context.Context, q Q, kind int, id string) error {
	var members, inline, attached int
	err := q.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM group_members WHERE (group_id = $1 AND $2 = 1) OR (user_id = $1 AND $2 = 0)),
		(SELECT count(*) FROM inline_policies WHERE entity_kind = $2 AND entity_id = $1),
		(SELECT count(*) FROM attached_policies WHERE entity_kind = $2 AND entity_id = $1)`, id, kind).Scan(&members, &inline, &attached)
	switch {
	case err != nil:
		return err
	case members > 0 && kind == kindGroup:
		return iamd.ErrGroupHasUsers
	case members > 0:
		return iamd.ErrMustLeaveGroups
	case inline > 0:
		return iamd.ErrMustDeletePolicies
	case attached > 0:
		return iamd.ErrMustDetach
	}
	return nil
}

// UserDependents returns the Conflict, other than access keys, that keeps
// the user of that ID from being deleted; stores call it in DeleteUser.
func (s *Store) UserDependents(ctx context.Context, q Q, id string) error {
	if err := s.dependents(ctx, q, kindUser, id); err != nil {
		return err
	}
	var logins, devices int
	if err := q.QueryRow(ctx, `SELECT (SELECT count(*) FROM login_profiles WHERE user_id = $1), (SELECT count(*) FROM mfa_devices WHERE user_id = $1)`, id).
		Scan(&logins, &devices); err != nil {
		return err
	}
	switch {
	case logins > 0:
		return iamd.ErrMustDeleteLogin
	case devices > 0:
		return iamd.ErrMustDeleteMFA
	}
	return nil
}

func (s *Store) AddUserToGroup(ctx context.Context, group, user string, limit int) error {
	return s.write(ctx, func(q Q) error {
		gid, err := s.entityID(ctx, q, iamd.Entity{Kind: iamd.EntityGroup, Name: group}, true)
		if err != nil {
			return err
		}
		uid, err := s.entityID(ctx, q, iamd.Entity{Kind: iamd.EntityUser, Name: user}, true)
		if err != nil {
			return err
		}
		var n, already int
		if err := q.QueryRow(ctx, `SELECT count(*), COALESCE(SUM(CASE WHEN group_id = $2 THEN 1 ELSE 0 END), 0) FROM group_members WHERE user_id = $1`, uid, gid).Scan(&n, &already); err != nil {
			return err
		}
		if already > 0 {
			return nil
		}
		if n >= limit {
			return iamd.LimitError("GroupsPerUser", limit)
		}
		if _, err := q.Exec(ctx, `INSERT INTO group_members(group_id, user_id) VALUES ($1, $2)`, gid, uid); err != nil {
			return err
		}
		logChange(q, iamd.ChangeUser, uid)
		return nil
	})
}

func (s *Store) RemoveUserFromGroup(ctx context.Context, group, user string) error {
	return s.write(ctx, func(q Q) error {
		gid, err := s.entityID(ctx, q, iamd.Entity{Kind: iamd.EntityGroup, Name: group}, false)
		if err != nil {
			return err
		}
		uid, err := s.entityID(ctx, q, iamd.Entity{Kind: iamd.EntityUser, Name: user}, false)
		if err != nil {
			return err
		}
		n, err := q.Exec(ctx, `DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, gid, uid)
		if err != nil {
			return err
		}
		if n == 0 {
			return iamd.Errorf(iamd.NotFound, "The user with name %s is not in group %s.", user, group)
		}
		logChange(q, iamd.ChangeUser, uid)
		return nil
	})
}

func (s *Store) ListGroupUsers(ctx context.Context, group string, p iamd.Page) (us []*iamd.User, next string, err error) {
	from, _, err := s.span(p)
	if err != nil {
		return nil, "", err
	}
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		gid, err := s.entityID(ctx, q, iamd.Entity{Kind: iamd.EntityGroup, Name: group}, false)
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT u.id, u.name, u.path, u.created_at, u.tags, u.boundary FROM group_members m JOIN users u ON u.id = m.user_id
			WHERE m.group_id = $1 AND u.name_fold > $2 ORDER BY u.name_fold LIMIT $3`, gid, from, p.MaxItems+1)
		us, err = collect(rows, err, sqlkit.ScanUser)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	us, next = page(us, p, userKey)
	return us, next, nil
}

func (s *Store) ListGroupsForUser(ctx context.Context, user string, p iamd.Page) (gs []*iamd.Group, next string, err error) {
	from, _, err := s.span(p)
	if err != nil {
		return nil, "", err
	}
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		uid, err := s.entityID(ctx, q, iamd.Entity{Kind: iamd.EntityUser, Name: user}, false)
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT g.id, g.name, g.path, g.created_at FROM group_members m JOIN iam_groups g ON g.id = m.group_id
			WHERE m.user_id = $1 AND g.name_fold > $2 ORDER BY g.name_fold LIMIT $3`, uid, from, p.MaxItems+1)
		gs, err = collect(rows, err, scanGroup)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	gs, next = page(gs, p, groupKey)
	return gs, next, nil
}

// ---- managed policies ----

const policyCols = `p.id, p.name, p.path, p.description, p.default_version, p.created_at, p.updated_at, p.tags,
	(SELECT count(*) FROM attached_policies a WHERE a.policy_id = p.id),
	(SELECT count(*) FROM users u WHERE u.boundary = ` + policyARN + `) + (SELECT count(*) FROM iam_roles r WHERE r.boundary = ` + policyARN + `)`

// policyARN is the ARN of customer-managed policy p, as boundaries store
// it (iamd.ManagedPolicy.ARN): its account is its key's first 12
// characters (see Store).
const policyARN = `('arn:aws:iam::' || substr(p.name_fold, 1, 12) || ':policy' || p.path || p.name)`

func scanPolicy(r sqlkit.Row) (*iamd.ManagedPolicy, error) {
	var p iamd.ManagedPolicy
	var def, created, updated int64
	var tags string
	if err := r.Scan(&p.ID, &p.Name, &p.Path, &p.Description, &def, &created, &updated, &tags, &p.AttachmentCount, &p.BoundaryCount); err != nil {
		return nil, err
	}
	p.DefaultVersion = versionID(def)
	p.CreatedAt, p.UpdatedAt = sqlkit.FromMS(created), sqlkit.FromMS(updated)
	var err error
	p.Tags, err = sqlkit.ParseTags(tags)
	return &p, err
}

func versionID(n int64) string { return "v" + strconv.FormatInt(n, 10) }

// versionNum parses "v<N>"; 0 for anything else.
func versionNum(id string) int64 {
	n, err := strconv.ParseInt(strings.TrimPrefix(id, "v"), 10, 64)
	if err != nil || !strings.HasPrefix(id, "v") || n < 1 {
		return 0
	}
	return n
}

func (s *Store) CreatePolicy(ctx context.Context, p *iamd.ManagedPolicy, doc string) error {
	return s.write(ctx, func(q Q) error {
		_, err := q.Exec(ctx, `INSERT INTO policies(id, name, name_fold, path, description, default_version, next_version, created_at, updated_at, tags)
			VALUES ($1, $2, $3, $4, $5, 1, 2, $6, $6, $7)`,
			p.ID, p.Name, s.nameKey(p.Name), p.Path, p.Description, sqlkit.MS(p.CreatedAt), sqlkit.TagsJSON(p.Tags))
		if s.db.IsUnique(err) {
			return iamd.PolicyExists(p.Name)
		}
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `INSERT INTO policy_versions(policy_id, num, document, created_at) VALUES ($1, 1, $2, $3)`, p.ID, doc, sqlkit.MS(p.CreatedAt))
		logChange(q, iamd.ChangePolicy, p.ID)
		p.DefaultVersion = "v1"
		p.UpdatedAt = p.CreatedAt
		return err
	})
}

func (s *Store) GetPolicy(ctx context.Context, name string) (p *iamd.ManagedPolicy, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		p, err = scanPolicy(q.QueryRow(ctx, `SELECT `+policyCols+` FROM policies p WHERE p.name_fold = $1`, s.nameKey(name)))
		if errors.Is(err, s.db.NoRows) {
			return iamd.Errorf(iamd.NotFound, "Policy %s does not exist.", name)
		}
		return err
	})
	return p, err
}

func (s *Store) ListPolicies(ctx context.Context, f iamd.PolicyFilter, p iamd.Page) (ps []*iamd.ManagedPolicy, next string, err error) {
	from, to, err := s.span(p)
	if err != nil {
		return nil, "", err
	}
	flag := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		rows, err := q.Query(ctx, `SELECT `+policyCols+` FROM policies p WHERE p.name_fold > $1 AND p.name_fold < $7 AND substr(p.path, 1, $2) = $3
			AND ($4 = 0 OR EXISTS (SELECT 1 FROM attached_policies a WHERE a.policy_id = p.id))
			AND ($5 = 0 OR EXISTS (SELECT 1 FROM users u WHERE u.boundary = `+policyARN+`) OR EXISTS (SELECT 1 FROM iam_roles r WHERE r.boundary = `+policyARN+`))
			ORDER BY p.name_fold LIMIT $6`,
			from, len(f.PathPrefix), f.PathPrefix, flag(f.OnlyAttached), flag(f.OnlyBoundaries), p.MaxItems+1, to)
		ps, err = collect(rows, err, scanPolicy)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	ps, next = page(ps, p, func(p *iamd.ManagedPolicy) string { return iamd.FoldName(p.Name) })
	return ps, next, nil
}

// lockPolicy returns the ID, default and next version of a policy, locking its row.
func (s *Store) lockPolicy(ctx context.Context, q Q, name string) (id string, def, next int64, err error) {
	err = q.QueryRow(ctx, `SELECT id, default_version, next_version FROM policies WHERE name_fold = $1`+s.db.Lock, s.nameKey(name)).Scan(&id, &def, &next)
	if errors.Is(err, s.db.NoRows) {
		err = iamd.Errorf(iamd.NotFound, "Policy %s does not exist.", name)
	}
	return id, def, next, err
}

func (s *Store) DeletePolicy(ctx context.Context, name string) error {
	return s.write(ctx, func(q Q) error {
		id, _, _, err := s.lockPolicy(ctx, q, name)
		if err != nil {
			return err
		}
		var attached, versions int
		if err := q.QueryRow(ctx, `SELECT (SELECT count(*) FROM attached_policies WHERE policy_id = $1), (SELECT count(*) FROM policy_versions WHERE policy_id = $1)`, id).Scan(&attached, &versions); err != nil {
			return err
		}
		switch {
		case attached > 0:
			return iamd.ErrPolicyAttached
		case versions > 1:
			return iamd.ErrPolicyHasVersions
		}
		if _, err := q.Exec(ctx, `DELETE FROM policy_versions WHERE policy_id = $1`, id); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `DELETE FROM policies WHERE id = $1`, id)
		logGone(q, iamd.ChangePolicy, id)
		return err
	})
}

func (s *Store) CreatePolicyVersion(ctx context.Context, name, doc string, setDefault bool, at time.Time, limit int) (v *iamd.PolicyVersion, err error) {
	err = s.write(ctx, func(q Q) error {
		id, _, next, err := s.lockPolicy(ctx, q, name)
		if err != nil {
			return err
		}
		var n int
		if err := q.QueryRow(ctx, `SELECT count(*) FROM policy_versions WHERE policy_id = $1`, id).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return iamd.Errorf(iamd.LimitExceeded, "A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", limit)
		}
		if _, err := q.Exec(ctx, `INSERT INTO policy_versions(policy_id, num, document, created_at) VALUES ($1, $2, $3, $4)`, id, next, doc, sqlkit.MS(at)); err != nil {
			return err
		}
		if setDefault {
			if _, err := q.Exec(ctx, `UPDATE policies SET next_version = $2, default_version = $3, updated_at = $4 WHERE id = $1`, id, next+1, next, sqlkit.MS(at)); err != nil {
				return err
			}
			logChange(q, iamd.ChangePolicy, id)
		} else if _, err := q.Exec(ctx, `UPDATE policies SET next_version = $2 WHERE id = $1`, id, next+1); err != nil {
			return err
		}
		v = &iamd.PolicyVersion{ID: versionID(next), Document: doc, Default: setDefault, CreatedAt: at}
		return nil
	})
	return v, err
}

func scanVersion(r sqlkit.Row) (*iamd.PolicyVersion, error) {
	var v iamd.PolicyVersion
	var num, def, created int64
	if err := r.Scan(&num, &v.Document, &created, &def); err != nil {
		return nil, err
	}
	v.ID, v.Default, v.CreatedAt = versionID(num), num == def, sqlkit.FromMS(created)
	return &v, nil
}

func (s *Store) GetPolicyVersion(ctx context.Context, name, version string) (v *iamd.PolicyVersion, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		v, err = scanVersion(q.QueryRow(ctx, `SELECT v.num, v.document, v.created_at, p.default_version FROM policies p
			JOIN policy_versions v ON v.policy_id = p.id WHERE p.name_fold = $1 AND v.num = $2`, s.nameKey(name), versionNum(version)))
		if errors.Is(err, s.db.NoRows) {
			return iamd.Errorf(iamd.NotFound, "Policy %s version %s does not exist.", name, version)
		}
		return err
	})
	return v, err
}

func (s *Store) ListPolicyVersions(ctx context.Context, name string) (vs []*iamd.PolicyVersion, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		var id string
		if err := q.QueryRow(ctx, `SELECT id FROM policies WHERE name_fold = $1`, s.nameKey(name)).Scan(&id); errors.Is(err, s.db.NoRows) {
			return iamd.Errorf(iamd.NotFound, "Policy %s does not exist.", name)
		} else if err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT v.num, v.document, v.created_at, p.default_version FROM policy_versions v
			JOIN policies p ON p.id = v.policy_id WHERE v.policy_id = $1 ORDER BY v.num DESC`, id)
		vs, err = collect(rows, err, scanVersion)
		return err
	})
	return vs, err
}

func (s *Store) DeletePolicyVersion(ctx context.Context, name, version string) error {
	return s.write(ctx, func(q Q) error {
		id, def, _, err := s.lockPolicy(ctx, q, name)
		if err != nil {
			return err
		}
		num := versionNum(version)
		if num == def {
			return iamd.ErrDefaultVersion
		}
		n, err := q.Exec(ctx, `DELETE FROM policy_versions WHERE policy_id = $1 AND num = $2`, id, num)
		if err == nil && n == 0 {
			err = iamd.Errorf(iamd.NotFound, "Policy %s version %s does not exist.", name, version)
		}
		return err
	})
}

func (s *Store) SetDefaultPolicyVersion(ctx context.Context, name, version string, at time.Time) error {
	return s.write(ctx, func(q Q) error {
		id, _, _, err := s.lockPolicy(ctx, q, name)
		if err != nil {
			return err
		}
		num := versionNum(version)
		var one int
		if err := q.QueryRow(ctx, `SELECT 1 FROM policy_versions WHERE policy_id = $1 AND num = $2`, id, num).Scan(&one); errors.Is(err, s.db.NoRows) {
			return iamd.Errorf(iamd.NotFound, "Policy %s version %s does not exist.", name, version)
		} else if err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `UPDATE policies SET default_version = $2, updated_at = $3 WHERE id = $1`, id, num, sqlkit.MS(at)); err != nil {
			return err
		}
		logChange(q, iamd.ChangePolicy, id)
		return nil
	})
}

// ---- attachments ----

func (s *Store) AttachPolicy(ctx context.Context, e iamd.Entity, p iamd.AttachedPolicy, limit int) error {
	return s.write(ctx, func(q Q) error {
		eid, err := s.entityID(ctx, q, e, true)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(p.ARN, "arn:aws:iam::aws:") {
			var one int
			err := q.QueryRow(ctx, `SELECT 1 FROM policies WHERE id = $1 AND name_fold > $2 AND name_fold < $3`+s.db.Lock, p.ID, s.lo(), s.hi()).Scan(&one)
			if errors.Is(err, s.db.NoRows) {
				return iamd.PolicyNotFound(p.ARN)
			}
			if err != nil {
				return err
			}
		}
		_, kind := entityTable(e.Kind)
		var n, already int
		// A policy is attached once, whatever spelling of its ARN is used.
		if err := q.QueryRow(ctx, `SELECT count(*), COALESCE(SUM(CASE WHEN policy_id = $3 THEN 1 ELSE 0 END), 0)
			FROM attached_policies WHERE entity_kind = $1 AND entity_id = $2`, kind, eid, p.ID).Scan(&n, &already); err != nil {
			return err
		}
		if already > 0 {
			return nil
		}
		if n >= limit {
			quota := "PoliciesPerUser"
			if e.Kind == iamd.EntityGroup {
				quota = "PoliciesPerGroup"
			}
			return iamd.LimitError(quota, limit)
		}
		if _, err := q.Exec(ctx, `INSERT INTO attached_policies(entity_kind, entity_id, policy_arn, policy_id, account) VALUES ($1, $2, $3, $4, $5)`, kind, eid, p.ARN, p.ID, s.acct()); err != nil {
			return err
		}
		logChange(q, entityChange(e.Kind), eid)
		return nil
	})
}

func (s *Store) DetachPolicy(ctx context.Context, e iamd.Entity, arn string) error {
	return s.write(ctx, func(q Q) error {
		eid, err := s.entityID(ctx, q, e, false)
		if err != nil {
			return err
		}
		_, kind := entityTable(e.Kind)
		n, err := q.Exec(ctx, `DELETE FROM attached_policies WHERE entity_kind = $1 AND entity_id = $2 AND policy_arn = $3`, kind, eid, arn)
		if err != nil {
			return err
		}
		if n == 0 {
			return iamd.NotAttached(arn)
		}
		logChange(q, entityChange(e.Kind), eid)
		return nil
	})
}

func (s *Store) ListAttachedPolicies(ctx context.Context, e iamd.Entity, pathPrefix string, p iamd.Page) (as []iamd.AttachedPolicy, next string, err error) {
	from, err := after(p)
	if err != nil {
		return nil, "", err
	}
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		eid, err := s.entityID(ctx, q, e, false)
		if err != nil {
			return err
		}
		_, kind := entityTable(e.Kind)
		// An entity has at most a quota's worth of attachments: read them
		// all and filter by path here.
		rows, err := q.Query(ctx, `SELECT policy_id, policy_arn FROM attached_policies WHERE entity_kind = $1 AND entity_id = $2 AND policy_arn > $3
			ORDER BY policy_arn`, kind, eid, from)
		as, err = collect(rows, err, func(r sqlkit.Row) (iamd.AttachedPolicy, error) {
			var a iamd.AttachedPolicy
			err := r.Scan(&a.ID, &a.ARN)
			return a, err
		})
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if pathPrefix != "/" && pathPrefix != "" {
		kept := as[:0]
		for _, a := range as {
			if strings.HasPrefix(policyPath(a.ARN), pathPrefix) {
				kept = append(kept, a)
			}
		}
		as = kept
	}
	as, next = page(as, p, func(a iamd.AttachedPolicy) string { return a.ARN })
	return as, next, nil
}

// policyPath is the path of a policy ARN: "/" or "/a/b/".
func policyPath(arn string) string {
	_, rest, _ := strings.Cut(arn, ":policy")
	return rest[:strings.LastIndexByte(rest, '/')+1]
}

// ListEntitiesForPolicy reads the policy's attachments in the account:
// an AWS-managed policy is attached in many.
func (s *Store) ListEntitiesForPolicy(ctx context.Context, policyID string, kind *iamd.EntityKind, pathPrefix string, p iamd.Page) (es []iamd.EntityInfo, next string, err error) {
	from, err := after(p)
	if err != nil {
		return nil, "", err
	}
	want := -1
	if kind != nil {
		_, want = entityTable(*kind)
	}
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		rows, err := q.Query(ctx, `SELECT k, name, id FROM (
				SELECT 0 AS k, u.name, u.id, u.name_fold, u.path FROM attached_policies a JOIN users u ON a.entity_kind = 0 AND u.id = a.entity_id WHERE a.policy_id = $1 AND a.account = $7
				UNION ALL
				SELECT 1 AS k, g.name, g.id, g.name_fold, g.path FROM attached_policies a JOIN iam_groups g ON a.entity_kind = 1 AND g.id = a.entity_id WHERE a.policy_id = $1 AND a.account = $7
				UNION ALL
				SELECT 2 AS k, r.name, r.id, r.name_fold, r.path FROM attached_policies a JOIN iam_roles r ON a.entity_kind = 2 AND r.id = a.entity_id WHERE a.policy_id = $1 AND a.account = $7
			) e WHERE ($2 < 0 OR k = $2) AND substr(path, 1, $3) = $4 AND (CAST(k AS TEXT) || '/' || name_fold) > $5
			ORDER BY k, name_fold LIMIT $6`, policyID, want, len(pathPrefix), pathPrefix, from, p.MaxItems+1, s.acct())
		es, err = collect(rows, err, func(r sqlkit.Row) (iamd.EntityInfo, error) {
			var e iamd.EntityInfo
			var k int
			err := r.Scan(&k, &e.Name, &e.ID)
			switch k {
			case kindGroup:
				e.Kind = iamd.EntityGroup
			case kindRole:
				e.Kind = iamd.EntityRole
			}
			return e, err
		})
		return err
	})
	if err != nil {
		return nil, "", err
	}
	es, next = page(es, p, func(e iamd.EntityInfo) string {
		_, k := entityTable(e.Kind)
		return strconv.Itoa(k) + "/" + s.nameKey(e.Name)
	})
	return es, next, nil
}

func (s *Store) CountAttachments(ctx context.Context, policyID string) (n int, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		return q.QueryRow(ctx, `SELECT count(*) FROM attached_policies WHERE policy_id = $1 AND account = $2`, policyID, s.acct()).Scan(&n)
	})
	return n, err
}

func (s *Store) CountBoundaryUses(ctx context.Context, arn string) (n int, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		return q.QueryRow(ctx, `SELECT (SELECT count(*) FROM users WHERE boundary = $1 AND name_fold > $2 AND name_fold < $3)
			+ (SELECT count(*) FROM iam_roles WHERE boundary = $1 AND name_fold > $2 AND name_fold < $3)`, arn, s.lo(), s.hi()).Scan(&n)
	})
	return n, err
}

// ---- inline policies ----

func (s *Store) PutInlinePolicy(ctx context.Context, e iamd.Entity, name, doc string, limit int) error {
	return s.write(ctx, func(q Q) error {
		eid, err := s.entityID(ctx, q, e, true)
		if err != nil {
			return err
		}
		_, kind := entityTable(e.Kind)
		size := iamd.PolicySize(doc)
		var others int
		if err := q.QueryRow(ctx, `SELECT COALESCE(SUM(size), 0) FROM inline_policies WHERE entity_kind = $1 AND entity_id = $2 AND name_fold <> $3`,
			kind, eid, iamd.FoldName(name)).Scan(&others); err != nil {
			return err
		}
		if others+size > limit {
			return iamd.InlineSizeExceeded(e, limit)
		}
		if _, err := q.Exec(ctx, `INSERT INTO inline_policies(entity_kind, entity_id, name, name_fold, document, size) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (entity_kind, entity_id, name_fold) DO UPDATE SET name = excluded.name, document = excluded.document, size = excluded.size`,
			kind, eid, name, iamd.FoldName(name), doc, size); err != nil {
			return err
		}
		logChange(q, entityChange(e.Kind), eid)
		return nil
	})
}

func (s *Store) GetInlinePolicy(ctx context.Context, e iamd.Entity, name string) (p *iamd.InlinePolicy, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		eid, err := s.entityID(ctx, q, e, false)
		if err != nil {
			return err
		}
		_, kind := entityTable(e.Kind)
		var ip iamd.InlinePolicy
		err = q.QueryRow(ctx, `SELECT name, document FROM inline_policies WHERE entity_kind = $1 AND entity_id = $2 AND name_fold = $3`,
			kind, eid, iamd.FoldName(name)).Scan(&ip.Name, &ip.Document)
		if errors.Is(err, s.db.NoRows) {
			return iamd.InlinePolicyNotFound(e, name)
		}
		p = &ip
		return err
	})
	return p, err
}

func (s *Store) DeleteInlinePolicy(ctx context.Context, e iamd.Entity, name string) error {
	return s.write(ctx, func(q Q) error {
		eid, err := s.entityID(ctx, q, e, false)
		if err != nil {
			return err
		}
		_, kind := entityTable(e.Kind)
		n, err := q.Exec(ctx, `DELETE FROM inline_policies WHERE entity_kind = $1 AND entity_id = $2 AND name_fold = $3`, kind, eid, iamd.FoldName(name))
		if err != nil {
			return err
		}
		if n == 0 {
			return iamd.InlinePolicyNotFound(e, name)
		}
		logChange(q, entityChange(e.Kind), eid)
		return nil
	})
}

func (s *Store) ListInlinePolicies(ctx context.Context, e iamd.Entity, p iamd.Page) (names []string, next string, err error) {
	from, err := after(p)
	if err != nil {
		return nil, "", err
	}
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		eid, err := s.entityID(ctx, q, e, false)
		if err != nil {
			return err
		}
		_, kind := entityTable(e.Kind)
		rows, err := q.Query(ctx, `SELECT name FROM inline_policies WHERE entity_kind = $1 AND entity_id = $2 AND name_fold > $3 ORDER BY name_fold LIMIT $4`,
			kind, eid, from, p.MaxItems+1)
		names, err = collect(rows, err, func(r sqlkit.Row) (string, error) {
			var n string
			err := r.Scan(&n)
			return n, err
		})
		return err
	})
	if err != nil {
		return nil, "", err
	}
	names, next = page(names, p, iamd.FoldName)
	return names, next, nil
}

// ---- authorization ----

func (s *Store) UserPolicies(ctx context.Context, user string) ([]iamd.PolicySource, error) {
	return s.entityPolicies(ctx, iamd.Entity{Kind: iamd.EntityUser, Name: user})
}

func (s *Store) RolePolicies(ctx context.Context, role string) ([]iamd.PolicySource, error) {
	return s.entityPolicies(ctx, iamd.Entity{Kind: iamd.EntityRole, Name: role})
}

// entityPolicies returns the policies of a user or role: its inline and
// attached ones and, for a user, its groups'. Roles are in no group.
func (s *Store) entityPolicies(ctx context.Context, e iamd.Entity) (out []iamd.PolicySource, err error) {
	table, kind := entityTable(e.Kind)
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		var id, name string
		err := q.QueryRow(ctx, `SELECT id, name FROM `+table+` WHERE name_fold = $1`, s.nameKey(e.Name)).Scan(&id, &name)
		if errors.Is(err, s.db.NoRows) {
			return iamd.EntityNotFound(e)
		}
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx, `
			SELECT 0, '', 1, ip.name, '', '', ip.document FROM inline_policies ip WHERE ip.entity_kind = $2 AND ip.entity_id = $1
			UNION ALL
			SELECT 0, '', 0, '', a.policy_id, a.policy_arn, COALESCE(v.document, '') FROM attached_policies a
				LEFT JOIN policies p ON p.id = a.policy_id LEFT JOIN policy_versions v ON v.policy_id = p.id AND v.num = p.default_version
				WHERE a.entity_kind = $2 AND a.entity_id = $1
			UNION ALL
			SELECT 1, g.name, 1, ip.name, '', '', ip.document FROM group_members m JOIN iam_groups g ON g.id = m.group_id
				JOIN inline_policies ip ON ip.entity_kind = 1 AND ip.entity_id = g.id WHERE m.user_id = $1 AND $2 = 0
			UNION ALL
			SELECT 1, g.name, 0, '', a.policy_id, a.policy_arn, COALESCE(v.document, '') FROM group_members m JOIN iam_groups g ON g.id = m.group_id
				JOIN attached_policies a ON a.entity_kind = 1 AND a.entity_id = g.id
				LEFT JOIN policies p ON p.id = a.policy_id LEFT JOIN policy_versions v ON v.policy_id = p.id AND v.num = p.default_version
				WHERE m.user_id = $1 AND $2 = 0`, id, kind)
		out, err = collect(rows, err, func(r sqlkit.Row) (iamd.PolicySource, error) {
			var ps iamd.PolicySource
			var fromGroup, inline int
			err := r.Scan(&fromGroup, &ps.Entity.Name, &inline, &ps.Name, &ps.Policy.ID, &ps.Policy.ARN, &ps.Document)
			ps.Inline = inline == 1
			if fromGroup == 1 {
				ps.Entity.Kind = iamd.EntityGroup
			} else {
				ps.Entity = iamd.Entity{Kind: e.Kind, Name: name}
			}
			return ps, err
		})
		return err
	})
	return out, err
}

// ---- roles ----

const roleCols = `id, name, path, description, trust_policy, max_session, created_at, tags, trust_ids, boundary`

func scanRole(r sqlkit.Row) (*iamd.Role, error) {
	var ro iamd.Role
	var created int64
	var tags, ids string
	if err := r.Scan(&ro.ID, &ro.Name, &ro.Path, &ro.Description, &ro.TrustPolicy, &ro.MaxSessionDuration, &created, &tags, &ids, &ro.Boundary); err != nil {
		return nil, err
	}
	ro.CreatedAt = sqlkit.FromMS(created)
	var err error
	if ro.Tags, err = sqlkit.ParseTags(tags); err != nil {
		return nil, fmt.Errorf("corrupt tags of role %s: %w", ro.ID, err)
	}
	if err := json.Unmarshal([]byte(ids), &ro.TrustIDs); err != nil {
		return nil, fmt.Errorf("corrupt trust IDs of role %s: %w", ro.ID, err)
	}
	return &ro, nil
}

func roleKey(r *iamd.Role) string { return iamd.FoldName(r.Name) }

func trustIDsJSON(r *iamd.Role) string {
	if len(r.TrustIDs) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(r.TrustIDs) // a map of strings always encodes
	return string(b)
}

func (s *Store) CreateRole(ctx context.Context, r *iamd.Role) error {
	return s.write(ctx, func(q Q) error {
		_, err := q.Exec(ctx, `INSERT INTO iam_roles(`+roleCols+`, name_fold) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			r.ID, r.Name, r.Path, r.Description, r.TrustPolicy, r.MaxSessionDuration, sqlkit.MS(r.CreatedAt), sqlkit.TagsJSON(r.Tags), trustIDsJSON(r), r.Boundary, s.nameKey(r.Name))
		if s.db.IsUnique(err) {
			return iamd.RoleExists(r.Name)
		}
		logChange(q, iamd.ChangeRole, r.ID)
		return err
	})
}

func (s *Store) getRole(ctx context.Context, q Q, name, lock string) (*iamd.Role, error) {
	r, err := scanRole(q.QueryRow(ctx, `SELECT `+roleCols+` FROM iam_roles WHERE name_fold = $1`+lock, s.nameKey(name)))
	if errors.Is(err, s.db.NoRows) {
		return nil, iamd.RoleNotFound(name)
	}
	return r, err
}

func (s *Store) GetRole(ctx context.Context, name string) (*iamd.Role, error) {
	return getByName(ctx, s, "iam_roles", roleCols, scanRole, name, iamd.RoleNotFound)
}

func (s *Store) ListRoles(ctx context.Context, pathPrefix string, p iamd.Page) ([]*iamd.Role, string, error) {
	return listByPath(ctx, s, "iam_roles", roleCols, scanRole, roleKey, pathPrefix, p)
}

func (s *Store) UpdateRole(ctx context.Context, name string, fn func(*iamd.Role) error) error {
	return s.write(ctx, func(q Q) error {
		r, err := s.getRole(ctx, q, name, s.db.Lock)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `UPDATE iam_roles SET description = $1, trust_policy = $2, max_session = $3, tags = $4, trust_ids = $5, boundary = $6 WHERE id = $7`,
			r.Description, r.TrustPolicy, r.MaxSessionDuration, sqlkit.TagsJSON(r.Tags), trustIDsJSON(r), r.Boundary, r.ID); err != nil {
			return err
		}
		logChange(q, iamd.ChangeRole, r.ID)
		return nil
	})
}

func (s *Store) DeleteRole(ctx context.Context, name string) error {
	return s.write(ctx, func(q Q) error {
		id, err := s.entityID(ctx, q, iamd.Entity{Kind: iamd.EntityRole, Name: name}, true)
		if err != nil {
			return err
		}
		if err := s.dependents(ctx, q, kindRole, id); err != nil {
			return err
		}
		var inProfiles int
		if err := q.QueryRow(ctx, `SELECT count(*) FROM instance_profiles WHERE role_id = $1`, id).Scan(&inProfiles); err != nil {
			return err
		}
		if inProfiles > 0 {
			return iamd.ErrRoleInProfile
		}
		if _, err = q.Exec(ctx, `DELETE FROM iam_roles WHERE id = $1`, id); err != nil {
			return err
		}
		logGone(q, iamd.ChangeRole, id)
		return nil
	})
}
