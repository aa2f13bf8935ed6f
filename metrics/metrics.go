// Package metrics exposes iamd's counters in Prometheus's format
// (client_golang). Labels are bounded: a service, an action iamd serves
// (or "other"), an error code from iamd's own tables; never a key ID, a
// name or anything else a client chooses.
package metrics

import (
	"net/http"
	"time"

	"iamd"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds iamd's collectors.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	creds     *prometheus.CounterVec
	flushes   *prometheus.CounterVec
	flushSize prometheus.Histogram
	commits   prometheus.Histogram
	failures  *prometheus.CounterVec
	applied   prometheus.Counter
	lag       prometheus.Histogram
}

// New returns Metrics registered in a registry of their own, with Go's
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iamd_requests_total", Help: "Requests answered, by service, action and error code (empty when it succeeded).",
		}, []string{"service", "action", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "iamd_request_duration_seconds", Help: "Time to answer a request, by service and action.",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1},
		}, []string{"service", "action"}),
		creds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iamd_credential_cache_total", Help: "Credential lookups, by result: hit (memory) or miss (store).",
		}, []string{"result"}),
		flushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iamd_key_use_flushes_total", Help: "Batched writes of keys' last use, by result: ok or error.",
		}, []string{"result"}),
		flushSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "iamd_key_use_flush_keys", Help: "Keys in one batched write of last use.", Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		commits: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "iamd_sqlite_group_commit_writes", Help: "Writes sharing one SQLite commit.", Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
		applied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "iamd_replica_entries_applied_total", Help: "Change-log entries the node's replica applied.",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "iamd_replica_apply_lag_seconds", Help: "Time from a change's commit to its application in this node's replica (the newest of each batch).",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iamd_store_errors_total", Help: "Store calls that failed in the store itself, by kind: unavailable (the database could not be reached) or internal.",
		}, []string{"kind"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.creds, m.flushes, m.flushSize, m.commits, m.failures, m.applied, m.lag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the exposition.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Request counts an answered request (server.Config.Observe).
func (m *Metrics) Request(service, action, code string, took time.Duration) {
	if action == "" {
		action = "other"
	}
	if service == "" {
		service = "none"
	}
	m.requests.WithLabelValues(service, action, code).Inc()
	m.latency.WithLabelValues(service, action).Observe(took.Seconds())
}

// Commit counts a SQLite group commit (sqlite.Options.OnCommit).
func (m *Metrics) Commit(writes int) { m.commits.Observe(float64(writes)) }

// CredentialLookup and KeyUseFlush make Metrics an iamd.Observer.
func (m *Metrics) CredentialLookup(hit bool) {
	if hit {
		m.creds.WithLabelValues("hit").Inc()
	} else {
		m.creds.WithLabelValues("miss").Inc()
	}
}

func (m *Metrics) KeyUseFlush(batch int, err error) {
	if err != nil {
		m.flushes.WithLabelValues("error").Inc()
		return
	}
	m.flushes.WithLabelValues("ok").Inc()
	m.flushSize.Observe(float64(batch))
}

// Applied counts a batch of change-log entries the replica applied, and
// the lag of its newest (replica.Config.Applied).
func (m *Metrics) Applied(entries int, lag time.Duration) {
	m.applied.Add(float64(entries))
	m.lag.Observe(lag.Seconds())
}

// Replica exposes the replica's state at each scrape: the last entry
// applied, how long since the database confirmed it current, and whether
// it is too stale to decide (the node refuses then).
func (m *Metrics) Replica(status func() iamd.ReplicaStatus) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iamd_replica_sequence", Help: "The last change-log entry the node's replica applied."},
			func() float64 { return float64(status().Seq) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iamd_replica_age_seconds", Help: "Seconds since the database last confirmed the node's replica current."},
			func() float64 { return time.Since(status().Synced).Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iamd_replica_database_reachable", Help: "1 when the last read of the change log succeeded, 0 when the node decides from its replica alone."},
			func() float64 {
				if status().Err != nil {
					return 0
				}
				return 1
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "iamd_replica_stale", Help: "1 when the replica is older than --max-stale and the node refuses decisions."},
			func() float64 {
				if status().Stale {
					return 1
				}
				return 0
			}),
	)
}

// StoreFailure counts a store call that failed in the store itself
// (sqlstore's OnFailure).
func (m *Metrics) StoreFailure(k iamd.Kind) {
	if k == iamd.Unavailable {
		m.failures.WithLabelValues("unavailable").Inc()
		return
	}
	m.failures.WithLabelValues("internal").Inc()
}
