package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"iamd"
	"iamd/accounts"
	"iamd/audit"
	"iamd/console"
	"iamd/federation"
	"iamd/gateway"
	"iamd/instanceprofiles"
	"iamd/keystone"
	"iamd/lightsailapi"
	"iamd/metrics"
	"iamd/organizations"
	"iamd/people"
	"iamd/postgres"
	"iamd/replica"
	"iamd/s3objects"
	"iamd/server"
	"iamd/signin"
	"iamd/sqlite"
	"iamd/tenants"
)

// Main is a running iamd: the wiring of store, service and server.
type Main struct {
	cfg     Config
	sink    *logSink
	log     *slog.Logger
	store   iamd.Store
	replica *replica.Replica
	repStop context.CancelFunc // ends the replica's follower
	standby iamd.Store         // --replica-db, when set
	svc     *iamd.Service
	tenants *tenants.Set // the deployment's other accounts
	http    *http.Server
	srv     *server.Server // what m.http serves
	debug   *http.Server
	gw      *http.Server
	ks      *http.Server
	ksAddr  string
	gwStop  context.CancelFunc // ends the gateway's streams (watch) at Close
	ln      net.Listener
	served  chan error
	lock    *os.File // held while serving a SQLite store
	certs   *certReloader
	audit   *audit.Log
	metrics *metrics.Metrics
	mhttp   *http.Server
	mAddr   string
}

// NewMain returns a Main for cfg that logs to logOut.
func NewMain(cfg Config, logOut io.Writer) *Main {
	sink := newLogSink(logOut, 200*time.Millisecond)
	var h slog.Handler = slog.NewTextHandler(sink, nil)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(sink, nil)
	}
	return &Main{cfg: cfg, sink: sink, log: slog.New(h)}
}

// MetricsAddr is the address metrics are served on, once started.
func (m *Main) MetricsAddr() string { return m.mAddr }

// KeystoneAddr is the address Keystone's API is served on, once started.
func (m *Main) KeystoneAddr() string { return m.ksAddr }

// Addr is the address the server listens on, once started.
func (m *Main) Addr() string { return m.ln.Addr().String() }

// URL is where a browser or client on this machine reaches the server.
func (m *Main) URL() string {
	scheme := "http"
	if m.certs != nil {
		scheme = "https"
	}
	host, port, _ := net.SplitHostPort(m.Addr())
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// Account is the account iamd serves.
func (m *Main) Account() iamd.Account { return m.svc.Account() }

// Start opens the data dir and store, makes sure the root has credentials,
// and starts serving. Flags and the listen address are checked before
// anything is made in the data dir; on error everything opened is closed
// again and what this start made in the data dir is removed.
func (m *Main) Start(ctx context.Context) (err error) {
	c := m.cfg
	var bundles []lightsailapi.Bundle
	if c.BucketBundles != "" {
		b, err := os.ReadFile(c.BucketBundles)
		if err != nil {
			return fmt.Errorf("--bucket-bundles: %w", err)
		}
		if bundles, err = lightsailapi.ParseBundles(b); err != nil {
			return fmt.Errorf("--bucket-bundles %s: %w", c.BucketBundles, err)
		}
	}
	if c.TLSCert != "" {
		if m.certs, err = newCertReloader(c.TLSCert, c.TLSKey, func(err error) {
			m.log.Error("reloading the TLS certificate failed; the previous one stays in use", "err", err)
		}); err != nil {
			return err
		}
	}
	m.ln, err = net.Listen("tcp", c.Addr)
	if err != nil {
		if m.certs != nil {
			m.certs.close()
		}
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("listen on %s: %w (is another server using the port? --addr picks another)", c.Addr, err)
		}
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	if m.certs != nil {
		m.ln = tls.NewListener(m.ln, m.certs.config())
	}
	found := snapshotDataDir(c)
	defer func() {
		if err != nil {
			m.Close()
			found.restore()
		}
	}()
	if err := privateDir(c.DataDir); err != nil {
		return fmt.Errorf("data dir %s: %w (check the directory's permissions)", c.DataDir, err)
	}
	if !isPostgres(c.DB) {
		if m.lock, err = lockStore(sqlitePath(c)); err != nil {
			return err
		}
	}
	// The master key comes first: a crash between creating the database
	// and writing a new key would leave a database no key opens.
	key, err := loadMasterKey(c.MasterKey, filepath.Join(c.DataDir, "master.key"), storeExists(c))
	if err != nil {
		return err
	}
	var onCommit func(int)
	if c.MetricsAddr != "" {
		m.metrics = metrics.New()
		onCommit = m.metrics.Commit
	}
	st, dbName, err := openStoreWith(ctx, c, true, onCommit, true)
	if err != nil {
		return err
	}
	m.store = st
	if isPostgres(c.DB) {
		// Several nodes share the database: each decides from a replica
		// of its own. A SQLite database is this node's own file.
		if err := m.openReplica(ctx); err != nil {
			return err
		}
	}
	if f, ok := st.(interface{ OnFailure(func(iamd.Kind)) }); ok && m.metrics != nil {
		f.OnFailure(m.metrics.StoreFailure)
	}
	sealer, err := iamd.NewSealer(key)
	if err != nil {
		return err
	}
	account := c.AccountID
	if account == "" {
		account = randomAccount()
	}
	var objects iamd.ObjectStore
	if c.ObjectsEndpoint != "" {
		// The store signs with the root's key, which it asks the Service
		// for when it first needs it: m.svc is set by then.
		objects = s3objects.New(c.ObjectsEndpoint, c.Region, func(ctx context.Context) (string, []byte, error) {
			return m.svc.RootSigningCredential(ctx)
		})
	}
	var rep iamd.Replica // nil, not a nil *replica.Replica, without one
	if m.replica != nil {
		rep = m.replica
	}
	svcCfg := iamd.Config{
		Store: st, Replica: rep, Sealer: sealer, Account: iamd.Account{ID: account}, Region: c.Region, Logger: m.log,
		CredentialTTL: c.CredentialTTL, FlushInterval: c.FlushInterval, Objects: objects, Now: c.Now,
		MaxKeyAge: c.maxKeyAge(), Observer: m.observer(),
	}
	m.svc, err = iamd.NewService(ctx, svcCfg)
	if err != nil {
		return fmt.Errorf("database %s: %w", dbName, err)
	}
	if c.AccountID != "" && m.svc.Account().ID != c.AccountID {
		return fmt.Errorf("the data in %s belongs to account %s, not --account-id %s", c.DataDir, m.svc.Account().ID, c.AccountID)
	}
	if err := m.rootCredentials(ctx); err != nil {
		if iamd.KindOf(err) != iamd.Unavailable || m.replica == nil {
			return err
		}
		// Restarted during an outage: the root's keys are in the replica.
		m.log.Warn("the database is unavailable: the root's credentials are not checked until it is back", "err", err)
	}
	if m.metrics != nil && m.replica != nil {
		m.metrics.Replica(m.replica.Status)
	}
	if m.replica != nil {
		rctx, stop := context.WithCancel(context.Background())
		m.repStop = stop
		m.replica.Start(rctx)
	}
	if c.AuditLog != "" {
		if m.audit, err = audit.Open(c.AuditLog); err != nil {
			return fmt.Errorf("--audit-log: %w (check the file's permissions)", err)
		}
	}
	m.ln = server.LimitListener(m.ln, m.maxConns())
	// Federation reads providers where decisions read: the replica, on
	// PostgreSQL, so that tokens are exchanged while the database is away.
	var providers federation.ProviderView = st
	if m.replica != nil {
		providers = m.replica
	}
	fed := federation.New(federation.Config{Service: m.svc, Store: st, View: providers, Logger: m.log, Now: c.Now})
	ppl := people.New(people.Config{Service: m.svc, Store: st, Sealer: sealer, Now: c.Now})
	accts := accounts.New(m.svc, st)
	// The organization's other accounts: each its own Service and doors
	// over its part of the store and the replica.
	orgs := organizations.New(m.svc, st)
	if m.replica != nil {
		orgs.ReadFrom(m.replica)
	}
	m.tenants = tenants.New(tenants.Config{First: m.svc, Service: svcCfg, Open: orgs.OpenAccounts, Guardrail: orgs.Guardrail, Now: c.Now})
	orgs.OnCreate(m.tenants.Opened)
	orgs.OnClose(m.tenants.Closed)
	// An account's doors are made once per Service: the server's APIs and
	// the sign-in door share them (an MFA device's attempts are counted
	// once).
	var partsMu sync.Mutex
	madeParts := map[*iamd.Service]server.Parts{}
	tenantParts := func(svc *iamd.Service) server.Parts {
		partsMu.Lock()
		defer partsMu.Unlock()
		if p, ok := madeParts[svc]; ok {
			return p
		}
		acct := svc.Account().ID
		tst := st.In(acct)
		var view federation.ProviderView = tst
		if m.replica != nil {
			view = m.replica.In(acct)
		}
		p := server.Parts{Service: svc, People: people.New(people.Config{Service: svc, Store: tst, Sealer: sealer, Now: c.Now}), Accounts: accounts.New(svc, tst),
			Federation:       federation.New(federation.Config{Service: svc, Store: tst, View: view, Logger: m.log, Now: c.Now}),
			InstanceProfiles: instanceprofiles.New(svc, tst, c.Now)}
		for old := range madeParts {
			if old.Account().ID == acct {
				delete(madeParts, old) // its account was closed and is served anew
			}
		}
		madeParts[svc] = p
		return p
	}
	// People of every account sign in at the console's one door, naming
	// their account by ID or alias.
	signInAccount := func(ctx context.Context, name string) (signin.Account, bool) {
		id := name
		if !iamd.IsAccountID(name) {
			var err error
			if id, err = st.AliasAccount(ctx, name); err != nil {
				return signin.Account{}, false
			}
		}
		if id == m.svc.Account().ID {
			return signin.Account{Service: m.svc, Store: st, People: ppl}, true
		}
		svc, err := m.tenants.Service(ctx, id)
		if err != nil {
			return signin.Account{}, false
		}
		return signin.Account{Service: svc, Store: st.In(id), People: tenantParts(svc).People}, true
	}
	m.srv = server.New(server.Config{
		Service: m.svc, Regions: c.regionFilter(), Logger: m.log, Bundles: bundles, Federation: fed,
		InstanceProfiles: instanceprofiles.New(m.svc, st, c.Now),
		People:           ppl,
		SignIn:           signin.New(signin.Config{Service: m.svc, Store: st, People: ppl, Accounts: accts, Resolve: signInAccount, Now: c.Now}),
		Accounts:         accts,
		Organizations:    organizations.NewAPI(orgs),
		Tenants:          m.tenants, TenantParts: tenantParts,
		TrustedProxies: c.trustedProxies(), Audit: m.audit, Observe: m.observeRequest(), Console: console.Handler(c.consoleConfig()),
	})
	m.http = server.NewHTTPServer(m.srv, m.log)
	if c.DebugAddr != "" {
		dln, err := m.listen(c.DebugAddr)
		if err != nil {
			return fmt.Errorf("--debug-addr: %w", err)
		}
		m.debug = server.NewHTTPServer(debugMux(), m.log)
		m.debug.WriteTimeout = 2 * time.Minute // a CPU profile takes 30 s to write by default
		go m.debug.Serve(dln)
		m.log.Info("pprof profiles", "addr", dln.Addr().String())
	}
	if c.MetricsAddr != "" {
		mln, err := m.listen(c.MetricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.metrics.Handler())
		m.mhttp = server.NewHTTPServer(mux, m.log)
		m.mAddr = mln.Addr().String()
		go m.mhttp.Serve(mln)
		m.log.Info("metrics", "addr", mln.Addr().String())
	}
	if err := m.startGateway(); err != nil {
		return err
	}
	if err := m.startKeystone(); err != nil {
		return err
	}
	m.served = make(chan error, 1)
	go func() { m.served <- m.http.Serve(m.ln) }()
	m.log.Info("iamd listening", "addr", m.Addr(), "tls", m.certs != nil, "account", m.svc.Account().ID, "region", c.Region, "data_dir", c.DataDir,
		"console", m.URL()+"/console/")
	m.sink.Flush()
	return nil
}

// openStore opens the store --db names: empty or sqlite:PATH for SQLite,
// postgres:// or postgresql:// for PostgreSQL. It returns a printable name.
func openStore(ctx context.Context, c Config, migrate bool) (iamd.Store, string, error) {
	return openStoreWith(ctx, c, migrate, nil, false)
}

// openStoreWith is openStore telling onCommit of SQLite's group commits;
// with lazy, a PostgreSQL store is returned while its database cannot be
// reached if the node has a replica snapshot to serve from meanwhile.
func openStoreWith(ctx context.Context, c Config, migrate bool, onCommit func(int), lazy bool) (iamd.Store, string, error) {
	switch {
	case isPostgres(c.DB):
		name := redactDSN(c.DB)
		// serve starts on its replica's snapshot while the database is
		// away (the store connects when it can); a command needs it now.
		st, err := postgres.OpenWith(ctx, c.DB, postgres.Options{Migrate: migrate, Lazy: lazy && snapshotExists(c)})
		if err != nil {
			return nil, name, fmt.Errorf("database %s: %w", name, err)
		}
		return st, name, nil
	case c.DB == "", strings.HasPrefix(c.DB, "sqlite:"):
		path := sqlitePath(c)
		sync := "FULL"
		if c.Durability == "normal" {
			sync = "NORMAL"
		}
		st, err := sqlite.Open(path, sqlite.Options{Synchronous: sync, OnCommit: onCommit})
		if err != nil {
			return nil, path, fmt.Errorf("database %s: %w", path, err)
		}
		// Files made before the umask was set may be readable by others.
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Chmod(f, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
				st.Close()
				return nil, path, fmt.Errorf("database %s: %w", path, err)
			}
		}
		return st, path, nil
	}
	return nil, "", fmt.Errorf("--db %q: use sqlite:PATH or a postgres:// URL", redactDSN(c.DB))
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func sqlitePath(c Config) string {
	if c.DB == "" {
		return filepath.Join(c.DataDir, "iamd.db")
	}
	return strings.TrimPrefix(strings.TrimPrefix(c.DB, "sqlite:"), "//")
}

// storeExists reports whether the SQLite file exists already; for
// PostgreSQL it says false, and the master-key check at start catches a
// node with the wrong key.
func storeExists(c Config) bool {
	if isPostgres(c.DB) {
		return false
	}
	_, err := os.Stat(sqlitePath(c))
	return err == nil
}

// privateDir makes dir, or narrows an existing one, to mode 0700: it holds
// the master key, the root's credentials and the database.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}

// Close stops serving, waits for requests in flight, flushes key uses and
// closes the store.
func (m *Main) Close() error {
	serving := m.served != nil
	var errs []error
	if m.debug != nil {
		m.debug.Close()
		m.debug = nil
	}
	if m.mhttp != nil {
		m.mhttp.Close()
		m.mhttp = nil
	}
	if m.gw != nil {
		m.gwStop()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		m.gw.Shutdown(ctx)
		cancel()
		m.gw = nil
	}
	if m.ks != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		m.ks.Shutdown(ctx)
		cancel()
		m.ks = nil
	}
	if m.served != nil { // serving: stop, and wait for requests in flight
		began, n := time.Now(), m.srv.InFlight()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := m.http.Shutdown(ctx)
		cancel()
		if err != nil {
			m.log.Warn("stopped serving before every request in flight was answered", "requests_in_flight", m.srv.InFlight(), "err", err)
		} else {
			m.log.Info("stopped serving", "requests_drained", n, "took_ms", time.Since(began).Milliseconds())
		}
		errs = append(errs, err)
		if err := <-m.served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		m.http, m.served, m.ln = nil, nil, nil
	} else if m.ln != nil {
		m.ln.Close()
		m.ln = nil
	}
	if m.replica != nil {
		if m.repStop != nil {
			m.repStop()
		}
		m.replica.Close() // writes its snapshot
		m.replica, m.repStop = nil, nil
	}
	if m.tenants != nil {
		m.tenants.Close()
		m.tenants = nil
	}
	if m.svc != nil {
		errs = append(errs, m.svc.Close())
		m.svc = nil
	}
	if m.store != nil {
		errs = append(errs, m.store.Close())
		m.store = nil
	}
	if m.standby != nil {
		m.standby.Close()
		m.standby = nil
	}
	if m.audit != nil {
		m.audit.Close()
		m.audit = nil
	}
	if m.certs != nil {
		m.certs.close()
		m.certs = nil
	}
	if m.lock != nil {
		m.lock.Close() // releases the lock
		m.lock = nil
	}
	err := errors.Join(errs...)
	if serving && err == nil {
		m.log.Info("iamd stopped")
	}
	m.sink.Close()
	return err
}

// rootCredentials gives the root its key from the environment, or on first
// start generates one and writes it to <data-dir>/root-credentials.
func (m *Main) rootCredentials(ctx context.Context) error {
	c := m.cfg
	if c.RootAccessKeyID != "" {
		if err := m.svc.EnsureRootKey(ctx, c.RootAccessKeyID, c.RootSecretAccessKey); err != nil {
			return fmt.Errorf("root credentials from IAMD_ROOT_ACCESS_KEY_ID: %w", err)
		}
		m.log.Info("root credentials from the environment", "access_key_id", c.RootAccessKeyID)
		return nil
	}
	path := filepath.Join(c.DataDir, "root-credentials")
	k, secret, err := m.svc.BootstrapRoot(ctx)
	if err != nil {
		return fmt.Errorf("root credentials: %w", err)
	}
	if k == nil {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			// The root already has its key, whose secret was only ever in
			// that file: iamd cannot show it again, and does not make
			// another by itself.
			m.log.Warn("the root's credentials file is gone; its secret cannot be shown again. To sign in as the root, restart once with "+
				"IAMD_ROOT_ACCESS_KEY_ID and IAMD_ROOT_SECRET_ACCESS_KEY set to a new key of your choosing (16-128 characters of A-Z and 0-9, and a secret of 16-128): "+
				"iamd adds it to the root; then delete the lost key with `aws iam delete-access-key --access-key-id ID` signed by the new one "+
				"(`aws iam list-access-keys` shows it). A root has two keys at most.", "file", path)
			return nil
		}
		m.log.Info("root credentials", "file", path, "access_key_id", credentialsFileKeyID(path))
		return nil
	}
	doc := "[default]\naws_access_key_id = " + k.ID + "\naws_secret_access_key = " + secret + "\n"
	if err := writeFileAtomic(path, []byte(doc), 0o600); err != nil {
		if derr := m.svc.DeleteRootKey(ctx, k.ID); derr != nil {
			err = errors.Join(err, derr)
		}
		return fmt.Errorf("writing root credentials: %w", err)
	}
	m.log.Info("root credentials", "file", path, "access_key_id", k.ID)
	return nil
}

// startGateway serves the object-gateway protocol on the unix socket and
// the mutual-TLS address configured, if any.
func (m *Main) startGateway() error {
	c := m.cfg
	var lns []net.Listener
	if c.GatewaySocket != "" {
		ln, err := listenUnix(c.GatewaySocket, c.GatewaySocketMode)
		if err != nil {
			return fmt.Errorf("--gateway-socket: %w", err)
		}
		lns = append(lns, ln)
		m.log.Info("object gateway protocol", "socket", c.GatewaySocket)
	}
	if c.GatewayAddr != "" {
		tc, err := mutualTLS(c.GatewayTLSCert, c.GatewayTLSKey, c.GatewayClientCA)
		if err != nil {
			closeAll(lns)
			return fmt.Errorf("--gateway-addr: %w", err)
		}
		ln, err := tls.Listen("tcp", c.GatewayAddr, tc)
		if err != nil {
			closeAll(lns)
			return fmt.Errorf("--gateway-addr: %w", err)
		}
		lns = append(lns, ln)
		m.log.Info("object gateway protocol", "addr", ln.Addr().String(), "tls", "mutual")
	}
	if len(lns) == 0 {
		return nil
	}
	base, stop := context.WithCancel(context.Background())
	m.gwStop = stop
	m.gw = server.NewHTTPServer(gateway.New(gateway.Config{Service: m.svc, Accounts: m.tenants, Logger: m.log, Audit: m.audit}), m.log)
	m.gw.BaseContext = func(net.Listener) context.Context { return base }
	for _, ln := range lns {
		go m.gw.Serve(server.LimitListener(ln, m.maxConns()))
	}
	return nil
}

// maxConns is how many connections each listener holds open at once.
func (m *Main) maxConns() int { return cmp.Or(m.cfg.MaxConnections, server.MaxConnections) }

// listen opens a TCP listener bounded as every listener of iamd's is.
func (m *Main) listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return server.LimitListener(ln, m.maxConns()), nil
}

// startKeystone serves Keystone's s3tokens and ec2tokens, if configured.
func (m *Main) startKeystone() error {
	c := m.cfg
	if c.KeystoneAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", c.KeystoneAddr)
	if err != nil {
		return fmt.Errorf("--keystone-addr: %w", err)
	}
	if c.KeystoneTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.KeystoneTLSCert, c.KeystoneTLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--keystone-tls-cert: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	ln = server.LimitListener(ln, m.maxConns())
	m.ks = server.NewHTTPServer(keystone.New(keystone.Config{Service: m.svc, Accounts: m.tenants, Roles: keystoneRoles(c.KeystoneRoles), Logger: m.log, Audit: m.audit}), m.log)
	m.ksAddr = ln.Addr().String()
	go m.ks.Serve(ln)
	m.log.Info("keystone s3tokens", "addr", ln.Addr().String(), "tls", c.KeystoneTLSCert != "")
	return nil
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}

// mutualTLS is a server config that requires a client certificate chaining
// to the CA bundle in caFile, TLS 1.2 or newer.
func mutualTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}, nil
}

// listenUnix listens on a unix socket at path with the given octal mode,
// replacing a socket left by an earlier run; any other file is an error.
func listenUnix(path, mode string) (net.Listener, error) {
	perm, err := strconv.ParseUint(cmp.Or(mode, "0600"), 8, 32)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, fs.FileMode(perm)); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// debugMux serves net/http/pprof's handlers.
func debugMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// credentialsFileKeyID reads the key ID (never the secret) from a
// shared-credentials file, or says it is missing.
func credentialsFileKeyID(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "(file missing; the root's keys are in the database)"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && strings.TrimSpace(k) == "aws_access_key_id" {
			return strings.TrimSpace(v)
		}
	}
	return "(none in file)"
}

// loadMasterKey returns the 32-byte master key from IAMD_MASTER_KEY (base64
// or hex), or from path, creating path when no database exists yet.
func loadMasterKey(fromEnv, path string, dbExists bool) ([]byte, error) {
	if fromEnv != "" {
		k, err := decodeKey(fromEnv)
		if err != nil {
			return nil, fmt.Errorf("IAMD_MASTER_KEY: %w", err)
		}
		return k, nil
	}
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := decodeKey(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("master key %s: %w", path, err)
		}
		return k, nil
	}
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("master key: %w (check the file's permissions)", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if dbExists {
		return nil, fmt.Errorf("master key %s is missing but the database exists: restore the key or set IAMD_MASTER_KEY", path)
	}
	k := make([]byte, iamd.MasterKeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, []byte(base64.StdEncoding.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return k, nil
}

func decodeKey(s string) ([]byte, error) {
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == iamd.MasterKeySize {
		return k, nil
	}
	if k, err := hex.DecodeString(s); err == nil && len(k) == iamd.MasterKeySize {
		return k, nil
	}
	return nil, errors.New("must be 32 bytes in base64 or hex")
}

// writeFileAtomic writes data to path through a synced temporary file, so
// a crash leaves either the old file or the whole new one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// randomAccount returns 12 random digits, not starting with 0.
func randomAccount() string {
	n, err := rand.Int(rand.Reader, big.NewInt(9e11))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return fmt.Sprintf("%012d", n.Int64()+1e11)
}

// redactDSN hides a password in a connection string.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if j := strings.LastIndex(dsn, "@"); j > i {
			return dsn[:i+3] + "…@" + dsn[j+1:]
		}
	}
	return dsn
}

// observer is the Service's observer: the metrics, if served.
func (m *Main) observer() iamd.Observer {
	if m.metrics == nil {
		return nil
	}
	return m.metrics
}

func (m *Main) observeRequest() func(service, action, code string, took time.Duration) {
	if m.metrics == nil {
		return nil
	}
	return m.metrics.Request
}
