package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"iamd"
	"iamd/internal/sqlkit"
)

func (s *Store) CreateBucket(ctx context.Context, b *iamd.Bucket) error {
	return s.write(ctx, func(tx wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO buckets(`+sqlkit.BucketCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			b.ID, b.Name, b.BundleID, sqlkit.MS(b.CreatedAt), sqlkit.TagsJSON(b.Tags), b.Versioning, b.PrincipalID)
		if isUnique(err) {
			return iamd.BucketExists(b.Name)
		}
		return err
	})
}

func (s *Store) GetBucket(ctx context.Context, name string) (*iamd.Bucket, error) {
	b, err := sqlkit.ScanBucket(s.readRow(ctx, `SELECT `+sqlkit.BucketCols+` FROM buckets WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
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
	rows, err := s.readRows(ctx, `SELECT `+sqlkit.BucketCols+` FROM buckets WHERE name > ? ORDER BY name LIMIT ?`, after, p.MaxItems+1)
	if err != nil {
		return nil, "", dbErr(err)
	}
	defer rows.Close()
	var out []*iamd.Bucket
	for rows.Next() {
		b, err := sqlkit.ScanBucket(rows)
		if err != nil {
			return nil, "", dbErr(err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
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
	err := s.write(ctx, func(tx wtx) error {
		deleted = nil
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM buckets WHERE name = ?`, name).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return iamd.BucketNotFound(name)
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM access_keys WHERE owner_kind = 2 AND owner_id = ?`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return err
			}
			deleted = append(deleted, k)
		}
		rows.Close()
		if len(deleted) > 0 && !force {
			return iamd.BucketHasKeys(name)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM access_keys WHERE owner_kind = 2 AND owner_id = ?`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM buckets WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}

func (s *Store) PutOperation(ctx context.Context, op *iamd.Operation) error {
	return s.write(ctx, func(tx wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO operations(`+sqlkit.OpCols+`) VALUES (?, ?, ?, ?, ?)`,
			op.ID, op.ResourceName, op.ResourceType, op.Type, sqlkit.MS(op.CreatedAt))
		return err
	})
}

func (s *Store) GetOperation(ctx context.Context, id string) (*iamd.Operation, error) {
	op, err := sqlkit.ScanOp(s.readRow(ctx, `SELECT `+sqlkit.OpCols+` FROM operations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, iamd.OperationNotFound(id)
	}
	return op, dbErr(err)
}

func (s *Store) ListOperations(ctx context.Context, p iamd.Page) ([]*iamd.Operation, string, error) {
	// Newest first: the marker is the (created_at, id) of the last row returned.
	var beforeAt int64 = 1<<63 - 1
	beforeID := ""
	if p.Marker != "" {
		var err error
		if beforeAt, beforeID, err = sqlkit.DecodeTimeIDMarker(p.Marker); err != nil {
			return nil, "", err
		}
	}
	rows, err := s.readRows(ctx, `SELECT `+sqlkit.OpCols+` FROM operations
		WHERE created_at < ? OR (created_at = ? AND id < ?) OR ? = ''
		ORDER BY created_at DESC, id DESC LIMIT ?`, beforeAt, beforeAt, beforeID, p.Marker, p.MaxItems+1)
	if err != nil {
		return nil, "", dbErr(err)
	}
	defer rows.Close()
	var out []*iamd.Operation
	for rows.Next() {
		op, err := sqlkit.ScanOp(rows)
		if err != nil {
			return nil, "", dbErr(err)
		}
		out = append(out, op)
	}
	if err := rows.Err(); err != nil {
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
