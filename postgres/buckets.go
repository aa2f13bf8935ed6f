package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"iamd"
	"iamd/internal/sqlkit"
)

const bucketCols = `id, name, bundle_id, created_at, tags, versioning, principal_id`

func scanBucket(row pgx.Row) (*iamd.Bucket, error) {
	var b iamd.Bucket
	var created int64
	var tags string
	if err := row.Scan(&b.ID, &b.Name, &b.BundleID, &created, &tags, &b.Versioning, &b.PrincipalID); err != nil {
		return nil, err
	}
	b.CreatedAt = sqlkit.FromMS(created)
	var err error
	if b.Tags, err = sqlkit.ParseTags(tags); err != nil {
		return nil, fmt.Errorf("postgres: corrupt tags of bucket %s: %w", b.Name, err)
	}
	return &b, nil
}

func (s *Store) CreateBucket(ctx context.Context, b *iamd.Bucket) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO buckets(`+bucketCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			b.ID, b.Name, b.BundleID, sqlkit.MS(b.CreatedAt), sqlkit.TagsJSON(b.Tags), b.Versioning, b.PrincipalID)
		if isUnique(err) {
			return iamd.BucketExists(b.Name)
		}
		return err
	})
}

func (s *Store) GetBucket(ctx context.Context, name string) (*iamd.Bucket, error) {
	ctx, cancel := s.read(ctx)
	defer cancel()
	b, err := scanBucket(s.pool.QueryRow(ctx, `SELECT `+bucketCols+` FROM buckets WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, iamd.BucketNotFound(name)
	}
	return b, dbErr(err)
}

func (s *Store) ListBuckets(ctx context.Context, p iamd.Page) ([]*iamd.Bucket, string, error) {
	after := ""
	if p.Marker != "" {
		var err error
		if after, err = sqlkit.DecodeMarker(p.Marker); err != nil {
			return nil, "", err
		}
	}
	ctx, cancel := s.read(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+bucketCols+` FROM buckets WHERE name > $1 ORDER BY name LIMIT $2`, after, p.MaxItems+1)
	if err != nil {
		return nil, "", dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*iamd.Bucket, error) { return scanBucket(r) })
	if err != nil {
		return nil, "", dbErr(err)
	}
	next := ""
	if len(out) > p.MaxItems {
		out = out[:p.MaxItems]
		next = sqlkit.EncodeMarker(out[len(out)-1].Name)
	}
	return out, next, nil
}

func (s *Store) DeleteBucket(ctx context.Context, name string, force bool) ([]string, error) {
	var deleted []string
	err := s.write(ctx, func(tx pgx.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `SELECT id FROM buckets WHERE name = $1 FOR UPDATE`, name).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return iamd.BucketNotFound(name)
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id FROM access_keys WHERE owner_kind = 2 AND owner_id = $1`, id)
		if err != nil {
			return err
		}
		if deleted, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		if len(deleted) > 0 && !force {
			return iamd.BucketHasKeys(name)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM access_keys WHERE owner_kind = 2 AND owner_id = $1`, id); err != nil {
			return err
		}
		for _, k := range deleted {
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, k); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `DELETE FROM buckets WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}

const opCols = `id, resource_name, resource_type, operation_type, created_at`

func scanOp(row pgx.Row) (*iamd.Operation, error) {
	var op iamd.Operation
	var created int64
	if err := row.Scan(&op.ID, &op.ResourceName, &op.ResourceType, &op.Type, &created); err != nil {
		return nil, err
	}
	op.CreatedAt = sqlkit.FromMS(created)
	return &op, nil
}

func (s *Store) PutOperation(ctx context.Context, op *iamd.Operation) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO operations(`+opCols+`) VALUES ($1, $2, $3, $4, $5)`,
			op.ID, op.ResourceName, op.ResourceType, op.Type, sqlkit.MS(op.CreatedAt))
		return err
	})
}

func (s *Store) GetOperation(ctx context.Context, id string) (*iamd.Operation, error) {
	ctx, cancel := s.read(ctx)
	defer cancel()
	op, err := scanOp(s.pool.QueryRow(ctx, `SELECT `+opCols+` FROM operations WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, iamd.OperationNotFound(id)
	}
	return op, dbErr(err)
}

func (s *Store) ListOperations(ctx context.Context, p iamd.Page) ([]*iamd.Operation, string, error) {
	var beforeAt int64 = 1<<63 - 1
	beforeID := ""
	if p.Marker != "" {
		var err error
		if beforeAt, beforeID, err = sqlkit.DecodeTimeIDMarker(p.Marker); err != nil {
			return nil, "", err
		}
	}
	ctx, cancel := s.read(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+opCols+` FROM operations
		WHERE $4 = '' OR created_at < $1 OR (created_at = $1 AND id < $2)
		ORDER BY created_at DESC, id DESC LIMIT $3`, beforeAt, beforeID, p.MaxItems+1, p.Marker)
	if err != nil {
		return nil, "", dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*iamd.Operation, error) { return scanOp(r) })
	if err != nil {
		return nil, "", dbErr(err)
	}
	next := ""
	if len(out) > p.MaxItems {
		out = out[:p.MaxItems]
		last := out[len(out)-1]
		next = sqlkit.TimeIDMarker(last.CreatedAt, last.ID)
	}
	return out, next, nil
}
