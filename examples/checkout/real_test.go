package checkout

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestRealCreatesMissingDatabase checks that the real backend creates its
// database when it does not exist, then migrates and seeds it.
func TestRealCreatesMissingDatabase(t *testing.T) {
	pgURL, _ := realEnv(t)
	base, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("checkout_autocreate_%d", os.Getpid())
	u := *base
	u.Path = "/" + name
	admin := *base
	admin.Path = "/postgres"

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		t.Fatalf("could not connect to the postgres database: %v", err)
	}
	// Cleanups run last first: drop the database, then close conn.
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	drop := func() {
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("could not drop %s: %v", name, err)
		}
	}
	drop()
	t.Cleanup(drop)

	t.Setenv("HEADROOM_TEST_PG_URL", u.String())
	srv := openReal(t, Config{PoolSize: 2})
	if got := srv.store.Catalog().Len(); got != NumProducts {
		t.Errorf("the new database has %d products, want %d", got, NumProducts)
	}
	var version, users int
	db, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatalf("the database was not created: %v", err)
	}
	defer db.Close(context.Background())
	if err := db.QueryRow(ctx, "SELECT max(version), (SELECT count(*) FROM users) FROM schema_version").Scan(&version, &users); err != nil {
		t.Fatal(err)
	}
	if version != len(migrations) || users != NumUsers {
		t.Errorf("schema version %d with %d users, want %d with %d", version, users, len(migrations), NumUsers)
	}
	_ = srv.Close()

	// Migrating and seeding again changes nothing.
	srv = openReal(t, Config{PoolSize: 2})
	_ = srv.Close()
	var versions int
	if err := db.QueryRow(ctx, "SELECT count(*), (SELECT count(*) FROM users) FROM schema_version").Scan(&versions, &users); err != nil {
		t.Fatal(err)
	}
	if versions != len(migrations) || users != NumUsers {
		t.Errorf("after a second start: %d schema versions and %d users, want %d and %d", versions, users, len(migrations), NumUsers)
	}
}
