package dashboards

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/headroom-sh/headroom/model"

	goldenfile "github.com/headroom-sh/headroom/internal/golden"
)

// golden compares got with testdata/<test name>.golden, rewriting the file
// under -update.
func golden(t *testing.T, got []byte) {
	t.Helper()
	goldenfile.File(t, filepath.Join("testdata", strings.ReplaceAll(t.Name(), "/", "__")+".golden"), got)
}

// testCatalog is a small catalog that exercises every shape of query: a
// resource with two families (the first with limit fallbacks, one of them
// an exporter's, and queueing), an exporter's family, a resource without a
// limit, and a custom kind whose limit is a number.
func testCatalog() *model.Catalog {
	return &model.Catalog{Resources: []model.CatalogResource{
		{
			Kind: model.KindDBPool, Name: "DB connection pool",
			Description: "The application's pool of database connections.",
			Families: []model.MetricFamily{
				{
					Name: "pgxpool", Detect: "pgxpool_max_conns",
					Usage: "sum(pgxpool_acquired_conns)", Limit: "sum(pgxpool_max_conns)",
					Saturation: "sum(rate(pgxpool_acquire_duration_seconds_total[30s]))", SaturationUnit: "waiting acquirers",
					Unit: "connections",
				},
				{
					Name: "hikaricp", Detect: "hikaricp_connections_max",
					Usage: "sum(hikaricp_connections_active)", Limit: "sum(hikaricp_connections_max)",
					Saturation: "sum(hikaricp_connections_pending)", SaturationUnit: "waiting threads",
					Unit: "connections",
				},
			},
		},
		{
			Kind: model.KindCPU, Name: "CPU",
			Families: []model.MetricFamily{
				{
					Name: "process", Detect: "process_cpu_seconds_total",
					Usage: "sum(rate(process_cpu_seconds_total[30s]))",
					Limit: "sum(go_sched_gomaxprocs_threads)",
					LimitFallbacks: []model.LimitFallback{
						{Query: `count(node_cpu_seconds_total{mode="idle"})`, External: true, Source: "machine cores"},
					},
					Unit: "cores",
				},
			},
		},
		{
			Kind: model.KindDBServerConnections, Name: "PostgreSQL server connections",
			Families: []model.MetricFamily{
				{
					Name: "postgres_exporter", Detect: "pg_settings_max_connections",
					Usage: "sum(pg_stat_activity_count)", Limit: "sum(pg_settings_max_connections)",
					Unit: "connections", External: true,
				},
			},
		},
		{
			Kind: model.KindHTTPInflight, Name: "HTTP requests in flight",
			Families: []model.MetricFamily{
				{Name: "http_server", Detect: "http_server_requests_in_flight", Usage: "sum(http_server_requests_in_flight)", Unit: "requests"},
			},
		},
		{
			Kind: "kafka_consumer", Name: "Kafka consumers",
			Families: []model.MetricFamily{
				{Name: "sarama", Detect: "kafka_consumer_active", Usage: "sum(kafka_consumer_active)", Limit: "4", Unit: "consumers"},
			},
		},
	}}
}
