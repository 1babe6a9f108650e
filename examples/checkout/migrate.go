package checkout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are the schema versions in order; migrations[i] brings the
// schema from version i to i+1. Each statement is idempotent, so a half
// applied version can be rerun. Append, never edit.
var migrations = []string{
	// Version 1: users, products, orders and their items.
	`CREATE TABLE IF NOT EXISTS users (
		id         integer PRIMARY KEY,
		username   text NOT NULL UNIQUE,
		created_at timestamptz NOT NULL DEFAULT now()
	);
	CREATE TABLE IF NOT EXISTS products (
		id          text PRIMARY KEY,
		name        text NOT NULL,
		price_cents integer NOT NULL CHECK (price_cents >= 0),
		variants    text[] NOT NULL DEFAULT '{S,M,L,XL}'
	);
	CREATE TABLE IF NOT EXISTS orders (
		id          bigserial PRIMARY KEY,
		user_id     integer NOT NULL REFERENCES users (id),
		status      text NOT NULL,
		total_cents bigint NOT NULL,
		created_at  timestamptz NOT NULL DEFAULT now()
	);
	CREATE INDEX IF NOT EXISTS orders_user_id_idx ON orders (user_id);
	CREATE TABLE IF NOT EXISTS order_items (
		order_id         bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
		line             integer NOT NULL,
		product_id       text NOT NULL REFERENCES products (id),
		variant          text NOT NULL CHECK (variant IN ('S', 'M', 'L', 'XL')),
		quantity         integer NOT NULL CHECK (quantity > 0),
		unit_price_cents integer NOT NULL,
		PRIMARY KEY (order_id, line)
	);`,
}

// migrationLockKey serializes migrations of concurrent starts
// (pg_advisory_xact_lock key; "checkout" in ASCII).
const migrationLockKey = 0x636865636b6f7574

// migrate brings the schema to the latest version, recording each applied
// version in schema_version.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockKey)); err != nil {
			return fmt.Errorf("could not take the migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version    integer PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return fmt.Errorf("could not create schema_version: %w", err)
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&current); err != nil {
			return fmt.Errorf("could not read the schema version: %w", err)
		}
		if current > len(migrations) {
			return fmt.Errorf("schema version %d is newer than this binary's %d", current, len(migrations))
		}
		for v := current; v < len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("could not apply schema version %d: %w", v+1, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, v+1); err != nil {
				return fmt.Errorf("could not record schema version %d: %w", v+1, err)
			}
		}
		return nil
	})
}

// seed inserts the users and products that are missing; existing rows are
// left as they are.
func seed(ctx context.Context, pool *pgxpool.Pool) error {
	products := seedProducts()
	ids := make([]string, len(products))
	names := make([]string, len(products))
	prices := make([]int64, len(products))
	for i, p := range products {
		ids[i], names[i], prices[i] = p.ID, p.Name, p.PriceCents
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO users (id, username)
			SELECT g, 'user' || g FROM generate_series(1, $1::integer) AS g
			ON CONFLICT (id) DO NOTHING`, NumUsers); err != nil {
			return fmt.Errorf("could not seed users: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO products (id, name, price_cents)
			SELECT * FROM unnest($1::text[], $2::text[], $3::integer[])
			ON CONFLICT (id) DO NOTHING`, ids, names, prices); err != nil {
			return fmt.Errorf("could not seed products: %w", err)
		}
		return nil
	})
}

// loadCatalog reads the products table.
func loadCatalog(ctx context.Context, pool *pgxpool.Pool) (*Catalog, error) {
	rows, err := pool.Query(ctx, `SELECT id, name, price_cents FROM products ORDER BY length(id), id`)
	if err != nil {
		return nil, fmt.Errorf("could not read products: %w", err)
	}
	products, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Product, error) {
		var p Product
		err := row.Scan(&p.ID, &p.Name, &p.PriceCents)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("could not read products: %w", err)
	}
	if len(products) == 0 {
		return nil, errors.New("the products table is empty")
	}
	return newCatalog(products), nil
}

// Codes of PostgreSQL errors handled when connecting.
const (
	pgInvalidCatalogName = "3D000" // the database does not exist
	pgDuplicateDatabase  = "42P04"
)

// openPool connects to the database, creating it first when it does not
// exist and the user may create databases. Creation is best effort: when it
// fails, both errors are returned.
func openPool(ctx context.Context, cfg *pgxpool.Config, log *slog.Logger) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("could not configure the database pool: %w", err)
	}
	err = pool.Ping(ctx)
	if err == nil {
		return pool, nil
	}
	pool.Close()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != pgInvalidCatalogName {
		return nil, fmt.Errorf("could not connect to database %q on %s: %w", cfg.ConnConfig.Database, cfg.ConnConfig.Host, err)
	}
	if cerr := createDatabase(ctx, cfg.ConnConfig); cerr != nil {
		return nil, fmt.Errorf("database %q does not exist and could not be created (%w): %w", cfg.ConnConfig.Database, cerr, err)
	}
	log.Info("created database", "database", cfg.ConnConfig.Database)
	pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("could not configure the database pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("could not connect to the new database %q: %w", cfg.ConnConfig.Database, err)
	}
	return pool, nil
}

// createDatabase creates cfg's database through the "postgres" maintenance
// database on the same server, with the same credentials.
func createDatabase(ctx context.Context, cfg *pgx.ConnConfig) error {
	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("could not connect to the postgres database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.Database}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == pgDuplicateDatabase {
		return nil // created concurrently
	}
	return err
}
