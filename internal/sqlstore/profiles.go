package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"iamd"
	"iamd/internal/sqlkit"
)

// profiles is instance_profiles with the name of each one's role.
const profiles = `(SELECT p.id, p.name, p.name_fold, p.path, p.created_at, p.tags, p.role_id, COALESCE(r.name, '') AS role_name
	FROM instance_profiles p LEFT JOIN iam_roles r ON r.id = p.role_id) ip`

const profileCols = `id, name, path, created_at, tags, role_name`

func scanProfile(r sqlkit.Row) (*iamd.InstanceProfile, error) {
	var p iamd.InstanceProfile
	var created int64
	var tags string
	if err := r.Scan(&p.ID, &p.Name, &p.Path, &created, &tags, &p.Role); err != nil {
		return nil, err
	}
	p.CreatedAt = sqlkit.FromMS(created)
	var err error
	if p.Tags, err = sqlkit.ParseTags(tags); err != nil {
		return nil, fmt.Errorf("corrupt tags of instance profile %s: %w", p.ID, err)
	}
	return &p, nil
}

func profileKey(p *iamd.InstanceProfile) string { return iamd.FoldName(p.Name) }

func (s *Store) CreateInstanceProfile(ctx context.Context, p *iamd.InstanceProfile) error {
	return s.write(ctx, func(q Q) error {
		_, err := q.Exec(ctx, `INSERT INTO instance_profiles(id, name, name_fold, path, created_at, tags) VALUES ($1, $2, $3, $4, $5, $6)`,
			p.ID, p.Name, s.nameKey(p.Name), p.Path, sqlkit.MS(p.CreatedAt), sqlkit.TagsJSON(p.Tags))
		if s.db.IsUnique(err) {
			return iamd.InstanceProfileExists(p.Name)
		}
		return err
	})
}

func (s *Store) GetInstanceProfile(ctx context.Context, name string) (*iamd.InstanceProfile, error) {
	return getByName(ctx, s, profiles, profileCols, scanProfile, name, iamd.InstanceProfileNotFound)
}

func (s *Store) ListInstanceProfiles(ctx context.Context, pathPrefix, role string, p iamd.Page) ([]*iamd.InstanceProfile, string, error) {
	if role == "" {
		return listByPath(ctx, s, profiles, profileCols, scanProfile, profileKey, pathPrefix, p)
	}
	from, _, err := s.span(p)
	if err != nil {
		return nil, "", err
	}
	var items []*iamd.InstanceProfile
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		rid, err := s.entityID(ctx, q, iamd.Entity{Kind: iamd.EntityRole, Name: role}, false)
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT `+profileCols+` FROM `+profiles+` WHERE role_id = $1 AND name_fold > $2 ORDER BY name_fold LIMIT $3`,
			rid, from, p.MaxItems+1)
		items, err = collect(rows, err, scanProfile)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	items, next := page(items, p, profileKey)
	return items, next, nil
}

func (s *Store) UpdateInstanceProfileTags(ctx context.Context, name string, fn func([]iamd.Tag) ([]iamd.Tag, error)) error {
	return s.write(ctx, func(q Q) error {
		p, err := scanProfile(q.QueryRow(ctx, `SELECT `+profileCols+` FROM `+profiles+` WHERE name_fold = $1`, s.nameKey(name)))
		if errors.Is(err, s.db.NoRows) {
			return iamd.InstanceProfileNotFound(name)
		}
		if err != nil {
			return err
		}
		tags, err := fn(p.Tags)
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `UPDATE instance_profiles SET tags = $1 WHERE id = $2`, sqlkit.TagsJSON(tags), p.ID)
		return err
	})
}

func (s *Store) SetInstanceProfileRole(ctx context.Context, profile, role string, add bool) error {
	return s.write(ctx, func(q Q) error {
		var pid, held string
		err := q.QueryRow(ctx, `SELECT id, role_id FROM instance_profiles WHERE name_fold = $1`+s.db.Lock, s.nameKey(profile)).Scan(&pid, &held)
		if errors.Is(err, s.db.NoRows) {
			return iamd.InstanceProfileNotFound(profile)
		}
		if err != nil {
			return err
		}
		rid, err := s.entityID(ctx, q, iamd.Entity{Kind: iamd.EntityRole, Name: role}, true)
		if err != nil {
			return err
		}
		switch {
		case add && held != "":
			return iamd.Errorf(iamd.LimitExceeded, "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
		case add:
			_, err = q.Exec(ctx, `UPDATE instance_profiles SET role_id = $1 WHERE id = $2`, rid, pid)
		case held != rid:
			return iamd.Errorf(iamd.NotFound, "The role with name %s cannot be found.", role)
		default:
			_, err = q.Exec(ctx, `UPDATE instance_profiles SET role_id = '' WHERE id = $1`, pid)
		}
		return err
	})
}

func (s *Store) DeleteInstanceProfile(ctx context.Context, name string) error {
	return s.write(ctx, func(q Q) error {
		var id, held string
		err := q.QueryRow(ctx, `SELECT id, role_id FROM instance_profiles WHERE name_fold = $1`+s.db.Lock, s.nameKey(name)).Scan(&id, &held)
		if errors.Is(err, s.db.NoRows) {
			return iamd.InstanceProfileNotFound(name)
		}
		if err != nil {
			return err
		}
		if held != "" {
			return iamd.ErrRoleInProfile
		}
		_, err = q.Exec(ctx, `DELETE FROM instance_profiles WHERE id = $1`, id)
		return err
	})
}
