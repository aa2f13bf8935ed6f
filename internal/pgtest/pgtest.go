// Package pgtest gives tests a PostgreSQL database to use. The server is
// named by IAMD_TEST_POSTGRES (a postgres:// URL; scripts/with-postgres
// starts a throwaway cluster and sets it). Without it a test is skipped,
// except under CI=true, where a missing PostgreSQL is a failure.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// DSN returns a connection string whose search_path is a new, empty schema
// that is dropped when the test ends.
func DSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("IAMD_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("IAMD_TEST_POSTGRES is not set: CI must run the PostgreSQL tests (see scripts/with-postgres)")
		}
		t.Skip("IAMD_TEST_POSTGRES is not set; run under scripts/with-postgres to test PostgreSQL")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
