package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"iamd/console"
)

// Config is how iamd serve is started. Secrets are tagged so that no dump
// of the config prints them.
type Config struct {
	Addr       string
	DataDir    string
	DB         string
	AccountID  string
	Region     string
	Regions    string // extra accepted signing regions, comma-separated, or "*"
	LogFormat  string // text or json
	Durability string // full or normal
	// DebugAddr, when set, serves Go's pprof profiles there (keep it local).
	DebugAddr string
	// BucketBundles is a JSON file of Lightsail bucket bundles; empty: built-in.
	BucketBundles string
	// MaxConnections bounds the client connections open at once; 0 is 1024.
	MaxConnections int
	// GatewaySocket, when set, is the unix socket on which an object
	// gateway (versitygw --iam-standalone-endpoint) asks iamd about its
	// requests; GatewaySocketMode is its mode.
	GatewaySocket     string
	GatewaySocketMode string
	// GatewayAddr, when set, serves the same protocol on TCP with mutual
	// TLS: GatewayTLSCert and GatewayTLSKey are iamd's certificate, and
	// GatewayClientCA the CA the gateway's client certificate must chain to.
	GatewayAddr, GatewayTLSCert, GatewayTLSKey, GatewayClientCA string
	// ObjectsEndpoint, when set, is the S3 address of the object gateway:
	// Lightsail buckets are made and deleted there.
	ObjectsEndpoint string
	// KeystoneAddr, when set, serves Keystone's s3tokens and ec2tokens
	// there, for Ceph RGW and Swift; KeystoneRoles are the roles every
	// answer carries; KeystoneTLSCert and KeystoneTLSKey, when set, make
	// it HTTPS.
	KeystoneAddr, KeystoneRoles, KeystoneTLSCert, KeystoneTLSKey string

	// TLSCert and TLSKey, when set, serve --addr over HTTPS (reloaded when
	// the files change or on SIGHUP); InsecureHTTP allows plain HTTP on an
	// address that is not loopback.
	TLSCert, TLSKey string
	InsecureHTTP    bool
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed.
	TrustedProxies string
	// AuditLog, when set, is the file the audit log is appended to.
	AuditLog string
	// ConsoleOIDCIssuer, ConsoleOIDCClientID and ConsoleOIDCRole, set
	// together, let people sign in to the console through that OpenID
	// Connect provider as that role; ConsoleOIDCName names it on the button.
	ConsoleOIDCIssuer, ConsoleOIDCClientID, ConsoleOIDCRole, ConsoleOIDCName string
	// MetricsAddr, when set, serves Prometheus metrics there.
	MetricsAddr string
	// MaxKeyAge, when set, is how old an IAM user's access key may grow
	// before it is Expired: "90d", or a Go duration such as "2160h".
	MaxKeyAge string
	// MaxStale is how long a node on PostgreSQL keeps deciding from its
	// replica without the database confirming it current.
	MaxStale time.Duration
	// ReplicaDB, when set, is a PostgreSQL standby whose change log the
	// node's replica follows (polled every ReplicaPoll), while writes go
	// to --db.
	ReplicaDB   string
	ReplicaPoll time.Duration

	RootAccessKeyID     string
	RootSecretAccessKey string `json:"-"`
	MasterKey           string `json:"-"`

	// Tests only.
	CredentialTTL time.Duration
	FlushInterval time.Duration
	Now           func() time.Time // the domain's clock (sessions' expiry); signatures keep the real one
}

var (
	reAccount  = regexp.MustCompile(`^[0-9]{12}$`)
	reRegion   = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
	reMode     = regexp.MustCompile(`^0?[0-7]{3}$`)
	reEndpoint = regexp.MustCompile(`^https?://[^/\s]+/?$`)
	reHTTPSURL = regexp.MustCompile(`^https://[^/\s?#]+(/[^\s?#]*)?$`)
	reRoleARN  = regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
)

// consoleConfig is what the console is served with: the provider people
// sign in through, when one is configured.
func (c *Config) consoleConfig() console.Config {
	if c.ConsoleOIDCIssuer == "" {
		return console.Config{}
	}
	name := c.ConsoleOIDCName
	if name == "" {
		name = strings.SplitN(strings.TrimPrefix(c.ConsoleOIDCIssuer, "https://"), "/", 2)[0]
	}
	return console.Config{SignIn: &console.SignIn{Issuer: c.ConsoleOIDCIssuer, ClientID: c.ConsoleOIDCClientID, RoleARN: c.ConsoleOIDCRole, Name: name}}
}

// envOr returns a lookup of variables that falls back to a default: every
// flag's default is its variable.
func envOr(getenv func(string) string) func(name, def string) string {
	return func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
}

// ParseConfig reads flags, each defaulting to its environment variable.
func ParseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	env := envOr(getenv)
	var c Config
	fs := flag.NewFlagSet("iamd serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.Addr, "addr", env("IAMD_ADDR", "127.0.0.1:8600"), "listen address (IAMD_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", env("IAMD_DATA_DIR", "./iamd-data"), "data directory: database, master key, root credentials (IAMD_DATA_DIR)")
	fs.StringVar(&c.DB, "db", env("IAMD_DB", ""), "database; empty means the SQLite file in the data dir (IAMD_DB)")
	fs.StringVar(&c.AccountID, "account-id", env("IAMD_ACCOUNT_ID", ""), "12-digit account ID; generated on first start when empty (IAMD_ACCOUNT_ID)")
	fs.StringVar(&c.Region, "region", env("IAMD_REGION", "us-east-1"), "region iamd is in and accepts signatures for (IAMD_REGION)")
	fs.StringVar(&c.Regions, "regions", env("IAMD_REGIONS", ""), "more signing regions to accept, comma-separated, or * for any (IAMD_REGIONS)")
	fs.StringVar(&c.LogFormat, "log-format", env("IAMD_LOG_FORMAT", "text"), "log format: text or json (IAMD_LOG_FORMAT)")
	fs.StringVar(&c.Durability, "durability", env("IAMD_DURABILITY", "full"), "full: every write is fsynced before it is acknowledged; normal: survives a crash of iamd but not of the machine (IAMD_DURABILITY)")
	fs.StringVar(&c.DebugAddr, "debug-addr", env("IAMD_DEBUG_ADDR", ""), "if set, serve Go's pprof profiles on this address, e.g. 127.0.0.1:6060 (IAMD_DEBUG_ADDR)")
	fs.StringVar(&c.BucketBundles, "bucket-bundles", env("IAMD_BUCKET_BUNDLES", ""), "JSON file of Lightsail bucket bundles, as GetBucketBundles returns them; empty: small_1_0, medium_1_0, large_1_0 (IAMD_BUCKET_BUNDLES)")
	fs.IntVar(&c.MaxConnections, "max-connections", envInt(getenv, "IAMD_MAX_CONNECTIONS", 1024), "most client connections open at once; more wait until one closes (IAMD_MAX_CONNECTIONS)")
	fs.StringVar(&c.GatewaySocket, "gateway-socket", env("IAMD_GATEWAY_SOCKET", ""), "unix socket on which an object gateway (versitygw --iam-standalone-endpoint) asks iamd to decide its requests (IAMD_GATEWAY_SOCKET)")
	fs.StringVar(&c.GatewaySocketMode, "gateway-socket-mode", env("IAMD_GATEWAY_SOCKET_MODE", "0600"), "file mode of --gateway-socket (IAMD_GATEWAY_SOCKET_MODE)")
	fs.StringVar(&c.GatewayAddr, "gateway-addr", env("IAMD_GATEWAY_ADDR", ""), "also serve the object-gateway protocol on this TCP address, with mutual TLS (IAMD_GATEWAY_ADDR)")
	fs.StringVar(&c.GatewayTLSCert, "gateway-tls-cert", env("IAMD_GATEWAY_TLS_CERT", ""), "PEM certificate iamd presents on --gateway-addr (IAMD_GATEWAY_TLS_CERT)")
	fs.StringVar(&c.GatewayTLSKey, "gateway-tls-key", env("IAMD_GATEWAY_TLS_KEY", ""), "PEM private key of --gateway-tls-cert (IAMD_GATEWAY_TLS_KEY)")
	fs.StringVar(&c.GatewayClientCA, "gateway-client-ca", env("IAMD_GATEWAY_CLIENT_CA", ""), "PEM CA bundle the gateway's client certificate must chain to (IAMD_GATEWAY_CLIENT_CA)")
	fs.StringVar(&c.ObjectsEndpoint, "objects-endpoint", env("IAMD_OBJECTS_ENDPOINT", ""), "S3 address of the object gateway, e.g. http://127.0.0.1:7070: Lightsail buckets are made there (IAMD_OBJECTS_ENDPOINT)")
	fs.StringVar(&c.KeystoneAddr, "keystone-addr", env("IAMD_KEYSTONE_ADDR", ""), "serve Keystone's /v3/s3tokens and /v3/ec2tokens on this address, for Ceph RGW and Swift (IAMD_KEYSTONE_ADDR)")
	fs.StringVar(&c.KeystoneRoles, "keystone-roles", env("IAMD_KEYSTONE_ROLES", "member"), "comma-separated Keystone roles every s3tokens answer carries (IAMD_KEYSTONE_ROLES)")
	fs.StringVar(&c.KeystoneTLSCert, "keystone-tls-cert", env("IAMD_KEYSTONE_TLS_CERT", ""), "PEM certificate: serve --keystone-addr over HTTPS (IAMD_KEYSTONE_TLS_CERT)")
	fs.StringVar(&c.KeystoneTLSKey, "keystone-tls-key", env("IAMD_KEYSTONE_TLS_KEY", ""), "PEM private key of --keystone-tls-cert (IAMD_KEYSTONE_TLS_KEY)")
	fs.StringVar(&c.TLSCert, "tls-cert", env("IAMD_TLS_CERT", ""), "PEM certificate: serve --addr over HTTPS, TLS 1.2 or newer; reloaded when it changes or on SIGHUP (IAMD_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", env("IAMD_TLS_KEY", ""), "PEM private key of --tls-cert (IAMD_TLS_KEY)")
	fs.BoolVar(&c.InsecureHTTP, "insecure-http", env("IAMD_INSECURE_HTTP", "") == "true", "allow plain HTTP on --addr and --keystone-addr when they are not loopback (IAMD_INSECURE_HTTP=true)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", env("IAMD_TRUSTED_PROXIES", ""), "comma-separated CIDRs of proxies whose X-Forwarded-For gives the client's address (IAMD_TRUSTED_PROXIES)")
	fs.StringVar(&c.AuditLog, "audit-log", env("IAMD_AUDIT_LOG", ""), "append a JSON line per change and per refused request to this file, fsynced (IAMD_AUDIT_LOG)")
	fs.StringVar(&c.ConsoleOIDCIssuer, "console-oidc-issuer", env("IAMD_CONSOLE_OIDC_ISSUER", ""), "OpenID Connect issuer (https://…) people sign in to the console with; needs --console-oidc-client-id and --console-oidc-role (IAMD_CONSOLE_OIDC_ISSUER)")
	fs.StringVar(&c.ConsoleOIDCClientID, "console-oidc-client-id", env("IAMD_CONSOLE_OIDC_CLIENT_ID", ""), "the console's client ID at --console-oidc-issuer: a public client, with <iamd URL>/console/ as its redirect URI (IAMD_CONSOLE_OIDC_CLIENT_ID)")
	fs.StringVar(&c.ConsoleOIDCRole, "console-oidc-role", env("IAMD_CONSOLE_OIDC_ROLE", ""), "ARN of the role a console sign-in through --console-oidc-issuer assumes (IAMD_CONSOLE_OIDC_ROLE)")
	fs.StringVar(&c.ConsoleOIDCName, "console-oidc-name", env("IAMD_CONSOLE_OIDC_NAME", ""), "the provider's name on the console's sign-in button; the issuer's host by default (IAMD_CONSOLE_OIDC_NAME)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("IAMD_METRICS_ADDR", ""), "serve Prometheus metrics on this address, e.g. 127.0.0.1:9600 (IAMD_METRICS_ADDR)")
	fs.StringVar(&c.MaxKeyAge, "max-key-age", env("IAMD_MAX_KEY_AGE", ""), "expire IAM users' access keys older than this, e.g. 90d; empty: never (IAMD_MAX_KEY_AGE)")
	fs.DurationVar(&c.MaxStale, "max-stale", envDuration(getenv, "IAMD_MAX_STALE", DefaultMaxStale), "on PostgreSQL: how long the node keeps deciding from its replica while the database cannot confirm it current; then it refuses (IAMD_MAX_STALE)")
	fs.StringVar(&c.ReplicaDB, "replica-db", env("IAMD_REPLICA_DB", ""), "a PostgreSQL standby whose change log the node's replica follows, polled, while writes go to --db (IAMD_REPLICA_DB)")
	fs.DurationVar(&c.ReplicaPoll, "replica-poll", envDuration(getenv, "IAMD_REPLICA_POLL", 0), "how often the replica reads the change log without a wake-up; default 500ms on PostgreSQL (NOTIFY wakes it at once), 100ms with --replica-db (IAMD_REPLICA_POLL)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "usage: iamd serve [flags]")
			fs.PrintDefaults()
			return c, errHelp
		}
		return c, fmt.Errorf("%v (iamd serve -h lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (iamd serve -h lists the flags)", fs.Arg(0))
	}
	c.RootAccessKeyID = getenv("IAMD_ROOT_ACCESS_KEY_ID")
	c.RootSecretAccessKey = getenv("IAMD_ROOT_SECRET_ACCESS_KEY")
	c.MasterKey = getenv("IAMD_MASTER_KEY")
	return c, c.Validate()
}

// DefaultMaxStale is --max-stale's default: long enough to ride out a
// PostgreSQL restart, a failover or a network partition of several minutes,
// short enough that a node cut off from every change does not decide on
// old facts for long.
const DefaultMaxStale = 15 * time.Minute

// envDuration reads a duration variable; a value that is not one is kept
// as -1 so that Validate refuses it.
func envDuration(getenv func(string) string, name string, def time.Duration) time.Duration {
	v := getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return -1
	}
	return d
}

// envInt reads an integer variable; a value that is not one is kept as -1
// so that Validate refuses it rather than silently using the default.
func envInt(getenv func(string) string, name string, def int) int {
	v := getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}

// Validate checks the config without touching the disk or network.
func (c *Config) Validate() error {
	for _, a := range []struct{ flag, addr string }{{"--addr", c.Addr}, {"--debug-addr", c.DebugAddr}, {"--gateway-addr", c.GatewayAddr},
		{"--keystone-addr", c.KeystoneAddr}, {"--metrics-addr", c.MetricsAddr}} {
		if err := checkAddr(a.flag, a.addr); err != nil {
			return err
		}
	}
	switch {
	case c.AccountID != "" && !reAccount.MatchString(c.AccountID):
		return fmt.Errorf("--account-id must be 12 digits, not %q", c.AccountID)
	case !reRegion.MatchString(c.Region):
		return fmt.Errorf("--region %q is not a region name", c.Region)
	case c.DataDir == "":
		return errors.New("--data-dir must not be empty")
	case c.LogFormat != "text" && c.LogFormat != "json":
		return fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
	case c.GatewaySocketMode != "" && !reMode.MatchString(c.GatewaySocketMode):
		return fmt.Errorf("--gateway-socket-mode must be an octal file mode such as 0600, not %q", c.GatewaySocketMode)
	case c.GatewayAddr != "" && (c.GatewayTLSCert == "" || c.GatewayTLSKey == "" || c.GatewayClientCA == ""):
		return errors.New("--gateway-addr needs --gateway-tls-cert, --gateway-tls-key and --gateway-client-ca: the protocol is served on TCP only with mutual TLS")
	case c.ObjectsEndpoint != "" && !reEndpoint.MatchString(c.ObjectsEndpoint):
		return fmt.Errorf("--objects-endpoint must be an http:// or https:// URL, not %q", c.ObjectsEndpoint)
	case (c.KeystoneTLSCert == "") != (c.KeystoneTLSKey == ""):
		return errors.New("set both --keystone-tls-cert and --keystone-tls-key, or neither")
	case c.KeystoneAddr != "" && len(keystoneRoles(c.KeystoneRoles)) == 0:
		return errors.New("--keystone-roles must name at least one role")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("set both --tls-cert and --tls-key, or neither")
	case c.TLSCert == "" && !c.InsecureHTTP && !loopback(c.Addr):
		return fmt.Errorf("--addr %s is not a loopback address: serve it with --tls-cert and --tls-key, or say --insecure-http (secrets cross the network in CreateAccessKey answers)", c.Addr)
	case c.KeystoneAddr != "" && c.KeystoneTLSCert == "" && !c.InsecureHTTP && !loopback(c.KeystoneAddr):
		return fmt.Errorf("--keystone-addr %s is not a loopback address: serve it with --keystone-tls-cert and --keystone-tls-key, or say --insecure-http (the store's login carries a key's secret)", c.KeystoneAddr)
	case c.trustedProxies() == nil && c.TrustedProxies != "":
		return fmt.Errorf("--trusted-proxies must be comma-separated CIDRs such as 10.0.0.0/8, not %q", c.TrustedProxies)
	case c.MaxKeyAge != "" && c.maxKeyAge() <= 0:
		return fmt.Errorf("--max-key-age must be a number of days such as 90d, or a duration such as 2160h, not %q", c.MaxKeyAge)
	case (c.ConsoleOIDCIssuer != "" || c.ConsoleOIDCClientID != "" || c.ConsoleOIDCRole != "") &&
		(c.ConsoleOIDCIssuer == "" || c.ConsoleOIDCClientID == "" || c.ConsoleOIDCRole == ""):
		return errors.New("set --console-oidc-issuer, --console-oidc-client-id and --console-oidc-role together, or none of them")
	case c.ConsoleOIDCIssuer != "" && !reHTTPSURL.MatchString(c.ConsoleOIDCIssuer):
		return fmt.Errorf("--console-oidc-issuer must be an https:// URL, as the ID token's iss claim gives it, not %q", c.ConsoleOIDCIssuer)
	case c.ConsoleOIDCRole != "" && !reRoleARN.MatchString(c.ConsoleOIDCRole):
		return fmt.Errorf("--console-oidc-role must be a role's ARN such as arn:aws:iam::123456789012:role/console, not %q", c.ConsoleOIDCRole)
	case c.MaxConnections < 0:
		return errors.New("--max-connections (IAMD_MAX_CONNECTIONS) must be a whole number of at least 1")
	case c.MaxStale < 0:
		return errors.New("--max-stale (IAMD_MAX_STALE) must be a positive duration such as 15m")
	case c.ReplicaPoll < 0:
		return errors.New("--replica-poll (IAMD_REPLICA_POLL) must be a duration such as 100ms")
	case c.ReplicaDB != "" && !isPostgres(c.DB):
		return errors.New("--replica-db follows a PostgreSQL standby: --db must name the PostgreSQL primary")
	case c.ReplicaDB != "" && !isPostgres(c.ReplicaDB):
		return fmt.Errorf("--replica-db must be a postgres:// URL, not %q", redactDSN(c.ReplicaDB))
	case c.Durability != "full" && c.Durability != "normal":
		return fmt.Errorf("--durability must be full or normal, not %q", c.Durability)
	case (c.RootAccessKeyID == "") != (c.RootSecretAccessKey == ""):
		return errors.New("set both IAMD_ROOT_ACCESS_KEY_ID and IAMD_ROOT_SECRET_ACCESS_KEY, or neither")
	}
	if c.RootAccessKeyID != "" {
		if !regexp.MustCompile(`^[A-Z0-9]{16,128}$`).MatchString(c.RootAccessKeyID) {
			return errors.New("IAMD_ROOT_ACCESS_KEY_ID must be 16 to 128 characters of A-Z and 0-9")
		}
		if len(c.RootSecretAccessKey) < 16 || len(c.RootSecretAccessKey) > 128 {
			return errors.New("IAMD_ROOT_SECRET_ACCESS_KEY must be 16 to 128 characters")
		}
	}
	for _, r := range strings.Split(c.Regions, ",") {
		if r = strings.TrimSpace(r); r != "" && r != "*" && !reRegion.MatchString(r) {
			return fmt.Errorf("--regions: %q is not a region name", r)
		}
	}
	return nil
}

// regionFilter returns the accepted-region check, nil for any region.
// Without --regions, IAM and STS (global services: clients sign with
// whatever region they are configured for) accept any region and Lightsail
// (regional) only --region; --regions restricts every service to --region
// and the regions it lists, and "*" accepts any everywhere.
func (c *Config) regionFilter() func(service, region string) bool {
	ok := map[string]bool{c.Region: true}
	listed := false
	for _, r := range strings.Split(c.Regions, ",") {
		r = strings.TrimSpace(r)
		if r == "*" {
			return nil
		}
		if r != "" {
			ok[r], listed = true, true
		}
	}
	return func(service, region string) bool {
		if !listed && (service == "iam" || service == "sts") {
			return reRegion.MatchString(region)
		}
		return ok[region]
	}
}

// keystoneRoles splits --keystone-roles.
func keystoneRoles(s string) []string {
	var out []string
	for _, r := range strings.Split(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}

// maxKeyAge parses --max-key-age: 0 when unset, -1 when malformed.
func (c *Config) maxKeyAge() time.Duration {
	if c.MaxKeyAge == "" {
		return 0
	}
	if d, ok := strings.CutSuffix(c.MaxKeyAge, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 36500 {
			return -1
		}
		return time.Duration(n) * 24 * time.Hour
	}
	d, err := time.ParseDuration(c.MaxKeyAge)
	if err != nil || d <= 0 {
		return -1
	}
	return d
}

// loopback reports whether addr (host:port) listens on loopback only.
// checkAddr says what is wrong with a listen address, if anything: the
// usual mistake is a port alone.
func checkAddr(flag, addr string) error {
	if addr == "" && flag != "--addr" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return fmt.Errorf("%s %q must be host:port, such as 127.0.0.1:8600 (or :8600 for every address)", flag, addr)
	}
	return nil
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// trustedProxies parses --trusted-proxies; nil when empty or malformed.
func (c *Config) trustedProxies() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range strings.Split(c.TrustedProxies, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}
