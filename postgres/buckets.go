package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"iamd"
	"iamd/internal/sqlkit"
)

func (s *Store) CreateBucket(ctx context.Context, b *iamd.Bucket) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO buckets(`+sqlkit.BucketCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
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
	b, err := sqlkit.ScanBucket(s.pool.QueryRow(ctx, `SELECT `+sqlkit.BucketCols+` FROM buckets WHERE name = $1`, name))
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
	rows, err := s.pool.Query(ctx, `SELECT `+sqlkit.BucketCols+` FROM buckets WHERE name > $1 ORDER BY name LIMIT $2`, after, p.MaxItems+1)
	if err != nil {
		return nil, "", dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*iamd.Bucket, error) { return sqlkit.ScanBucket(r) })
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

func (s *Store) PutOperation(ctx context.Context, op *iamd.Operation) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO operations(`+sqlkit.OpCols+`) VALUES ($1, $2, $3, $4, $5)`,
			op.ID, op.ResourceName, op.ResourceType, op.Type, sqlkit.MS(op.CreatedAt))
		return err
	})
}

func (s *Store) GetOperation(ctx context.Context, id string) (*iamd.Operation, error) {
	ctx, cancel := s.read(ctx)
	defer cancel()
	op, err := sqlkit.ScanOp(s.pool.QueryRow(ctx, `SELECT `+sqlkit.OpCols+` FROM operations WHERE id = $1`, id))
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
	rows, err := s.pool.Query(ctx, `SELECT `+sqlkit.OpCols+` FROM operations
		WHERE $4 = '' OR created_at < $1 OR (created_at = $1 AND id < $2)
		ORDER BY created_at DESC, id DESC LIMIT $3`, beforeAt, beforeID, p.MaxItems+1, p.Marker)
	if err != nil {
		return nil, "", dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*iamd.Operation, error) { return sqlkit.ScanOp(r) })
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
