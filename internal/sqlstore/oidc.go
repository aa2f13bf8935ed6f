package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"iamd"
	"iamd/internal/sqlkit"
)

const providerCols = `id, url, client_ids, thumbprints, created_at, tags`

func scanProvider(r sqlkit.Row) (*iamd.OIDCProvider, error) {
	var p iamd.OIDCProvider
	var clients, thumbs, tags string
	var created int64
	if err := r.Scan(&p.ID, &p.URL, &clients, &thumbs, &created, &tags); err != nil {
		return nil, err
	}
	// The stored URL is unique within its account: "<account>/<url>".
	p.Account, p.URL, _ = strings.Cut(p.URL, "/")
	p.CreatedAt = sqlkit.FromMS(created)
	if err := errors.Join(json.Unmarshal([]byte(clients), &p.ClientIDs), json.Unmarshal([]byte(thumbs), &p.Thumbprints)); err != nil {
		return nil, fmt.Errorf("corrupt OIDC provider %s: %w", p.ID, err)
	}
	var err error
	if p.Tags, err = sqlkit.ParseTags(tags); err != nil {
		return nil, fmt.Errorf("corrupt tags of OIDC provider %s: %w", p.ID, err)
	}
	return &p, nil
}

// list is the stored form of a string list: a JSON array, never null.
func list(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *Store) CreateOIDCProvider(ctx context.Context, p *iamd.OIDCProvider) error {
	p.Account = s.acct()
	return s.write(ctx, func(q Q) error {
		_, err := q.Exec(ctx, `INSERT INTO oidc_providers(`+providerCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			p.ID, s.acct()+"/"+p.URL, list(p.ClientIDs), list(p.Thumbprints), sqlkit.MS(p.CreatedAt), sqlkit.TagsJSON(p.Tags))
		if s.db.IsUnique(err) {
			return iamd.OIDCProviderExists(p.URL)
		}
		logChange(q, iamd.ChangeProvider, p.ID)
		return err
	})
}

func (s *Store) getProvider(ctx context.Context, q Q, url, lock string) (*iamd.OIDCProvider, error) {
	p, err := scanProvider(q.QueryRow(ctx, `SELECT `+providerCols+` FROM oidc_providers WHERE url = $1`+lock, s.acct()+"/"+url))
	if errors.Is(err, s.db.NoRows) {
		return nil, iamd.Errorf(iamd.NotFound, "OpenIDConnect Provider not found for url %s", url)
	}
	return p, err
}

func (s *Store) GetOIDCProvider(ctx context.Context, url string) (p *iamd.OIDCProvider, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		p, err = s.getProvider(ctx, q, url, "")
		return err
	})
	return p, err
}

func (s *Store) ListOIDCProviders(ctx context.Context) (ps []*iamd.OIDCProvider, err error) {
	err = s.read(ctx, func(ctx context.Context, q Q) error {
		rows, err := q.Query(ctx, `SELECT `+providerCols+` FROM oidc_providers WHERE url > $1 AND url < $2 ORDER BY url`, s.lo(), s.hi())
		ps, err = collect(rows, err, scanProvider)
		return err
	})
	return ps, err
}

func (s *Store) UpdateOIDCProvider(ctx context.Context, url string, fn func(*iamd.OIDCProvider) error) error {
	return s.write(ctx, func(q Q) error {
		p, err := s.getProvider(ctx, q, url, s.db.Lock)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `UPDATE oidc_providers SET client_ids = $1, thumbprints = $2, tags = $3 WHERE id = $4`,
			list(p.ClientIDs), list(p.Thumbprints), sqlkit.TagsJSON(p.Tags), p.ID); err != nil {
			return err
		}
		logChange(q, iamd.ChangeProvider, p.ID)
		return nil
	})
}

func (s *Store) DeleteOIDCProvider(ctx context.Context, url string) error {
	return s.write(ctx, func(q Q) error {
		p, err := s.getProvider(ctx, q, url, s.db.Lock)
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `DELETE FROM oidc_providers WHERE id = $1`, p.ID); err != nil {
			return err
		}
		logGone(q, iamd.ChangeProvider, p.ID)
		return nil
	})
}
