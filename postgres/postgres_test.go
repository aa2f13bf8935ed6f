package postgres_test

import (
	"context"
	"strings"
	"testing"

	"iamd"
	"iamd/internal/pgtest"
	"iamd/postgres"
	"iamd/storetest"

	"github.com/jackc/pgx/v5"
)

func open(t *testing.T) iamd.Store {
	s, err := postgres.Open(context.Background(), pgtest.DSN(t), true)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func TestSchemaVersion(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	if _, err := postgres.Open(ctx, dsn, false); err == nil || !strings.Contains(err.Error(), "iamd migrate") {
		t.Fatalf("unmigrated schema without migrate: %v", err)
	}
	s, err := postgres.Open(ctx, dsn, true)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = postgres.Open(ctx, dsn, false)
	if err != nil {
		t.Fatalf("current schema: %v", err)
	}
	s.Close()
	if err := postgres.SetVersion(ctx, dsn, postgres.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Open(ctx, dsn, true); err == nil || !strings.Contains(err.Error(), "newer than this iamd") {
		t.Fatalf("newer schema: %v", err)
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) iamd.Store {
		s, err := postgres.Open(context.Background(), pgtest.DSN(b), true)
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

// TestUpgradeToAccounts: a single-account database becomes the first
// account of the deployment.
func TestUpgradeToAccounts(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	if err := postgres.MigrateTo(ctx, dsn, storetest.UpgradeSchema); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, storetest.UpgradeRows)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(ctx, dsn, true)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	storetest.TestUpgrade(t, s)
}
