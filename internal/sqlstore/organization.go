package sqlstore

import (
	"context"
	"errors"

	"iamd"
)

// The organization (package organizations) is one document in meta, read
// and replaced whole: it changes rarely and is read whole.

// Organization returns the organization's document; nil if there is none.
func (s *Store) Organization(ctx context.Context) (doc []byte, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		var v string
		err := q.QueryRow(ctx, `SELECT v FROM meta WHERE k = 'organization'`).Scan(&v)
		if errors.Is(err, s.db.NoRows) {
			return nil
		}
		doc = []byte(v)
		return err
	})
	return doc, err
}

// UpdateOrganization replaces the organization's document with what fn
// returns for the current one (nil: there is none), atomically; fn
// returning nil deletes it. Two updates that both found none: one
// succeeds, the other gets Conflict.
func (s *Store) UpdateOrganization(ctx context.Context, fn func([]byte) ([]byte, error)) error {
	return s.write(ctx, func(q Q) error {
		var cur []byte
		var v string
		err := q.QueryRow(ctx, `SELECT v FROM meta WHERE k = 'organization'`+s.db.Lock).Scan(&v)
		switch {
		case err == nil:
			cur = []byte(v)
		case !errors.Is(err, s.db.NoRows):
			return err
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		// Nodes decide from it (accounts open, SCPs): it is in the log.
		if next == nil {
			logGone(q, iamd.ChangeOrganization, "organization")
			_, err = q.Exec(ctx, `DELETE FROM meta WHERE k = 'organization'`)
			return err
		}
		logChange(q, iamd.ChangeOrganization, "organization")
		if cur == nil {
			_, err = q.Exec(ctx, `INSERT INTO meta(k, v) VALUES ('organization', $1)`, string(next))
			if s.db.IsUnique(err) {
				return iamd.Errorf(iamd.Conflict, "The organization was changed by another request.")
			}
			return err
		}
		_, err = q.Exec(ctx, `UPDATE meta SET v = $1 WHERE k = 'organization'`, string(next))
		return err
	})
}
