package postgres

import (
	"context"
	"fmt"

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
