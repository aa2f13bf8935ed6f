package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"sort"

	"github.com/jackc/pgx/v5"
)

// SetVersion pretends another iamd migrated the schema at dsn to v.
func SetVersion(ctx context.Context, dsn string, v int) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, fmt.Sprintf("UPDATE schema_version SET version = %d", v))
	return err
}

// MigrateTo applies only the first n migrations at dsn, as an older iamd
// left the database.
func MigrateTo(ctx context.Context, dsn string, n int) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(names)
	for _, name := range names[:n] {
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, string(body)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	_, err = conn.Exec(ctx, fmt.Sprintf("CREATE TABLE schema_version (version INT NOT NULL); INSERT INTO schema_version VALUES (%d)", n))
	return err
}
