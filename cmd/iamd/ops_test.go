package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestHealth: /healthz and /readyz answer unsigned and say nothing else;
// every other unsigned request still gets AWS's error.
func TestHealth(t *testing.T) {
	s := start(t)
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/healthz?x=1": 403, "/": 403, "/metrics": 403} {
		resp, err := s.HTTP.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d %s, want %d", path, resp.StatusCode, body, want)
		}
		if want == 200 && string(body) != "ok\n" {
			t.Errorf("GET %s said %q", path, body)
		}
		if want == 403 && !strings.Contains(string(body), "MissingAuthenticationToken") {
			t.Errorf("GET %s unsigned: %s", path, body)
		}
	}
	s.Main.store.Close() // the store gone: not ready, still alive
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 503} {
		resp, err := s.HTTP.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s with the store closed: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// TestCommands: version, help that exits 0, per-command flags, and
// migrate on a new data dir, which serve then serves.
func TestCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run([]string{"version"}, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "iamd ") || !strings.Contains(out.String(), "go1.") {
		t.Fatalf("version: %q %v", out.String(), err)
	}
	for _, args := range [][]string{{"--help"}, {"help"}, {"serve", "-h"}, {"migrate", "-h"}, {"backup", "-h"}, {"rotate-master-key", "-h"}, {"proxy", "-h"}} {
		out.Reset()
		if err := run(args, &out, &errOut); err != errHelp || out.Len() == 0 {
			t.Errorf("%v: %v, %d bytes of help", args, err, out.Len())
		}
	}
	out.Reset()
	run([]string{"migrate", "-h"}, &out, &errOut)
	if !strings.Contains(out.String(), "usage: iamd migrate") || strings.Contains(out.String(), "-addr") {
		t.Errorf("migrate's help shows serve's flags: %s", out.String())
	}
	if err := run(nil, &out, &errOut); err != errUsage {
		t.Errorf("no command: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "new")
	for range 2 {
		if err := run([]string{"migrate", "--data-dir", dir}, &out, &errOut); err != nil {
			t.Fatalf("migrate on a new data dir: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "iamd.db")); err != nil {
		t.Fatal(err)
	}
	s := start(t, func(c *Config) { c.DataDir = dir }) // serve takes the migrated data dir over
	mustUser(t, s, "after-migrate")
	if err := (&Config{Addr: "0.0.0.0:8600", DataDir: "d", Region: "us-east-1", LogFormat: "text", Durability: "full"}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "--insecure-http") {
		t.Errorf("plain HTTP on every address: %v", err)
	}
}

// TestBackupUnderLoadAndRestore: a backup taken while keys are being
// made restores, beside the same master key, to a server on which every
// key made before the backup began authenticates.
func TestBackupUnderLoadAndRestore(t *testing.T) {
	s := start(t)
	mustUser(t, s, "seed")
	type key struct{ id, secret string }
	var mu sync.Mutex
	var made []key
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				name := "load-" + string(rune('a'+w)) + "-" + time.Now().Format("150405.000000")
				if _, err := s.root().CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
					continue
				}
				k, err := s.root().CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
				if err == nil {
					mu.Lock()
					made = append(made, key{*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey})
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	before := append([]key(nil), made...)
	mu.Unlock()
	backup := filepath.Join(t.TempDir(), "iamd-backup.db")
	var out, errOut bytes.Buffer
	if err := run([]string{"backup", "--data-dir", s.Dir, "--to", backup}, &out, &errOut); err != nil {
		t.Fatalf("backup: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if len(before) < 10 {
		t.Fatalf("only %d keys made before the backup", len(before))
	}
	// Restore: the file as <data-dir>/iamd.db, beside the same master.key.
	dir := t.TempDir()
	b, _ := os.ReadFile(backup)
	os.WriteFile(filepath.Join(dir, "iamd.db"), b, 0o600)
	mk, _ := os.ReadFile(filepath.Join(s.Dir, "master.key"))
	os.WriteFile(filepath.Join(dir, "master.key"), mk, 0o600)
	r := start(t, func(c *Config) { c.DataDir = dir })
	for _, k := range before {
		if _, err := r.sts(k.id, k.secret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("key %s made before the backup does not authenticate on the restored server: %v", k.id, err)
		}
	}
	t.Logf("backup under load: %d keys made before it began, all authenticate after the restore; %d made in all", len(before), len(made))
}

// TestRotateMasterKey: with the server stopped, rotate-master-key
// re-encrypts every secret; every key authenticates under the new key and
// the old key no longer opens the store. While the server runs, rotation
// is refused.
func TestRotateMasterKey(t *testing.T) {
	s := start(t)
	mustUser(t, s, "alice")
	k := mustKey(t, s.root(), "alice")
	oldKey, _ := os.ReadFile(filepath.Join(s.Dir, "master.key"))
	var out, errOut bytes.Buffer
	if err := run([]string{"rotate-master-key", "--data-dir", s.Dir}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "stop iamd serve") {
		t.Fatalf("rotation while serving: %v", err)
	}
	cfg := s.Main.cfg
	s.Main.Close()
	if err := run([]string{"rotate-master-key", "--data-dir", s.Dir}, &out, &errOut); err != nil {
		t.Fatalf("rotate-master-key: %v", err)
	}
	newKey, _ := os.ReadFile(filepath.Join(s.Dir, "master.key"))
	if bytes.Equal(oldKey, newKey) {
		t.Fatal("master.key did not change")
	}
	m := NewMain(cfg, &syncBuffer{})
	if err := m.Start(ctx); err != nil {
		t.Fatalf("start under the new key: %v", err)
	}
	r := &testServer{Main: m, URL: "http://" + m.Addr(), HTTP: newHTTPClient(t)}
	for _, kk := range [][2]string{{*k.AccessKeyId, *k.SecretAccessKey}, {rootID, rootSecret}} {
		if _, err := r.sts(kk[0], kk[1]).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Errorf("key %s after rotation: %v", kk[0], err)
		}
	}
	m.Close()
	cfg.MasterKey = strings.TrimSpace(string(oldKey))
	if err := NewMain(cfg, &syncBuffer{}).Start(ctx); err == nil {
		t.Fatal("the old master key still opens the store")
	}
}

// TestAuditLog: a scripted session leaves a line per change and per
// refusal, with who, from where, on what and how it ended, and no secret.
func TestAuditLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	s := start(t, func(c *Config) { c.AuditLog = path })
	mustUser(t, s, "alice")
	k := mustKey(t, s.root(), "alice")
	s.root().ListUsers(ctx, &iam.ListUsersInput{}) // a read: not audited
	_, err := s.iam(*k.AccessKeyId, *k.SecretAccessKey).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("mallory")})
	wantAPIError(t, err, "AccessDenied", 403)
	s.iam(*k.AccessKeyId, *k.SecretAccessKey+"x").ListUsers(ctx, &iam.ListUsersInput{})
	if _, err := s.root().CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"sts:AssumeRole"}}`)}); err != nil {
		t.Fatal(err)
	}
	ar, err := s.sts(*k.AccessKeyId, *k.SecretAccessKey).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.root().DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: k.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		recs = append(recs, m)
	}
	type want struct{ action, outcome, target, principal, code string }
	wants := []want{
		{"CreateUser", "allowed", "alice", "arn:aws:iam::123456789012:root", ""},
		{"CreateAccessKey", "allowed", "alice", "arn:aws:iam::123456789012:root", ""},
		{"CreateUser", "denied", "mallory", "arn:aws:iam::123456789012:user/alice", "AccessDenied"},
		{"ListUsers", "denied", "", "", "SignatureDoesNotMatch"},
		{"CreateRole", "allowed", "r", "arn:aws:iam::123456789012:root", ""},
		{"AssumeRole", "allowed", "arn:aws:iam::123456789012:role/r", "arn:aws:iam::123456789012:user/alice", ""},
		{"DeleteAccessKey", "allowed", "alice", "arn:aws:iam::123456789012:root", ""},
	}
	if len(recs) != len(wants) {
		t.Fatalf("%d audit lines, want %d:\n%s", len(recs), len(wants), raw)
	}
	for i, w := range wants {
		r := recs[i]
		got := want{r["action"].(string), r["outcome"].(string), str(r["target"]), str(r["principal"]), str(r["error_code"])}
		if got != w || r["source_ip"] != "127.0.0.1" || r["request_id"] == "" || r["time"] == "" {
			t.Errorf("line %d: %v, want %+v", i, r, w)
		}
	}
	for _, secret := range []string{*k.SecretAccessKey, *ar.Credentials.SecretAccessKey, *ar.Credentials.SessionToken, rootSecret} {
		if strings.Contains(string(raw), secret) {
			t.Error("a secret reached the audit log")
		}
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// TestTrustedProxies: aws:SourceIp is the forwarded address only when the
// peer is a trusted proxy.
func TestTrustedProxies(t *testing.T) {
	const doc = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}}`
	for _, tt := range []struct {
		trusted string
		allowed bool
	}{{"127.0.0.0/8", true}, {"", false}, {"10.0.0.0/8", false}} {
		s := start(t, func(c *Config) { c.TrustedProxies = tt.trusted })
		c := userWith(t, s, "alice", doc)
		fwd := iam.WithAPIOptions(smithyhttp.AddHeaderValue("X-Forwarded-For", "198.51.100.9, 203.0.113.7"))
		_, err := c.ListUsers(ctx, &iam.ListUsersInput{}, fwd)
		if (err == nil) != tt.allowed {
			t.Errorf("trusted %q: %v, want allowed %v", tt.trusted, err, tt.allowed)
		}
		s.Main.sink.Flush()
		if tt.allowed && !strings.Contains(s.Logs.String(), "client_ip=203.0.113.7") {
			t.Errorf("the log does not name the forwarded client")
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and the certificate's serial number.
func selfSigned(t *testing.T, dir string, serial int64) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "iamd test"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	cert, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(keyFile+".tmp", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	os.WriteFile(cert+".tmp", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.Rename(keyFile+".tmp", keyFile)
	os.Rename(cert+".tmp", cert)
	return cert, keyFile
}

// TestTLS: the aws CLI (--ca-bundle) and boto3 (verify=) call iamd over
// HTTPS; a renewed certificate is served without a restart.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir, 1)
	s := start(t, func(c *Config) { c.TLSCert, c.TLSKey = cert, key })
	url := "https://" + s.Main.Addr()
	out, err := exec.Command("aws", "--endpoint-url", url, "--region", "us-east-1", "--ca-bundle", cert, "sts", "get-caller-identity").CombinedOutput()
	if err == nil {
		t.Log("aws CLI without credentials answered: ", string(out))
	}
	cmd := exec.Command("aws", "--endpoint-url", url, "--region", "us-east-1", "--ca-bundle", cert, "sts", "get-caller-identity", "--output", "json")
	cmd.Env = append(cleanEnv(), "AWS_ACCESS_KEY_ID="+rootID, "AWS_SECRET_ACCESS_KEY="+rootSecret, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "arn:aws:iam::123456789012:root") {
		t.Fatalf("aws CLI over HTTPS: %v %s", err, out)
	}
	py := exec.Command("python3", "-c", `
import sys, boto3
c = boto3.client("sts", endpoint_url=sys.argv[1], region_name="us-east-1", verify=sys.argv[2],
                 aws_access_key_id=sys.argv[3], aws_secret_access_key=sys.argv[4])
print(c.get_caller_identity()["Arn"])`, url, cert, rootID, rootSecret)
	py.Env = cleanEnv()
	if out, err := py.CombinedOutput(); err != nil || !strings.Contains(string(out), ":root") {
		t.Fatalf("boto3 over HTTPS: %v %s", err, out)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Fatal("a certificate nobody trusts was accepted")
	}
	// Renewal: a new certificate in the same files is served within seconds.
	time.Sleep(1100 * time.Millisecond) // file times of a second's resolution
	selfSigned(t, dir, 2)
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := tls.Dial("tcp", s.Main.Addr(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		serial := conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
		conn.Close()
		if serial == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate is not served")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestMetrics: a scrape during load shows the request, cache, flush and
// commit series, and no key ID, user name or client-chosen action.
func TestMetrics(t *testing.T) {
	s := start(t, func(c *Config) { c.MetricsAddr = "127.0.0.1:0" })
	mustUser(t, s, "alice-metrics")
	k := mustKey(t, s.root(), "alice-metrics")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				s.sts(*k.AccessKeyId, *k.SecretAccessKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				s.sts("AKIANOTAKEYNOTAKEY99", "x").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			}
		})
	}
	// A signed request for an action a client made up.
	req, _ := http.NewRequest("POST", s.URL+"/", strings.NewReader("Action=NoSuchActionXyz&Version=2010-05-08"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	signedQuery(t, req, "Action=NoSuchActionXyz&Version=2010-05-08")
	if resp, err := s.HTTP.Do(req); err == nil {
		resp.Body.Close()
	}
	wg.Wait()
	time.Sleep(150 * time.Millisecond) // a key-use flush (every 50 ms in tests)
	text := scrape(t, s)
	for _, series := range []string{
		`iamd_requests_total{action="GetCallerIdentity",code="",service="sts"} 200`,
		`iamd_requests_total{action="other",code="InvalidClientTokenId",service="sts"} 200`, // refused before the body names it
		`iamd_requests_total{action="other",code="InvalidAction",service="iam"} 1`,
		`iamd_request_duration_seconds_bucket{action="GetCallerIdentity",service="sts",le=`,
		`iamd_credential_cache_total{result="hit"}`, `iamd_credential_cache_total{result="miss"}`,
		`iamd_key_use_flushes_total{result="ok"}`, `iamd_sqlite_group_commit_writes_count`, `go_goroutines`,
	} {
		if !strings.Contains(text, series) {
			t.Errorf("no %s in the scrape", series)
		}
	}
	for _, leak := range []string{"AKIA", "ASIA", "alice-metrics", "NoSuchActionXyz", rootSecret} {
		if strings.Contains(text, leak) {
			t.Errorf("the scrape holds %q", leak)
		}
	}
}

// scrape returns the text of s's /metrics.
func scrape(t *testing.T, s *testServer) string {
	t.Helper()
	resp, err := http.Get("http://" + s.Main.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// signedQuery signs a Query request with the root's key for IAM.
func signedQuery(t *testing.T, r *http.Request, body string) {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: rootID, SecretAccessKey: rootSecret}, r, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestSystemdUnit: contrib/iamd.service passes systemd-analyze verify
// (with the binary's path pointed at one that exists here).
func TestSystemdUnit(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("no systemd-analyze")
	}
	unit, err := os.ReadFile("../../contrib/iamd.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=iamd", "NoNewPrivileges=yes"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %s", want)
		}
	}
	path := filepath.Join(t.TempDir(), "iamd.service")
	os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/local/bin/iamd"), []byte("/bin/true")), 0o644)
	if out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestLoadToolCleansUp: iamd-load deletes the users it made, and stops
// the peers it started even when it ends on an error.
func TestLoadToolCleansUp(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "iamd-load")
	if out, err := exec.Command("go", "build", "-o", bin, "../iamd-load").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	s := start(t)
	creds := filepath.Join(t.TempDir(), "credentials")
	os.WriteFile(creds, []byte("[default]\naws_access_key_id = "+rootID+"\naws_secret_access_key = "+rootSecret+"\n"), 0o600)
	out, err := exec.Command(bin, "-endpoint", s.URL, "-credentials", creds, "-op", "create-user,list-access-keys", "-c", "2", "-d", "300ms", "-warmup", "0s").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "deleted the") {
		t.Fatalf("iamd-load: %v %q", err, out) // one line: scripts/test shows only lines naming a test file
	}
	users, err := s.root().ListUsers(ctx, &iam.ListUsersInput{})
	if err != nil || len(users.Users) != 0 {
		t.Fatalf("users left by the load tool: %d %v", len(users.Users), err)
	}
	out, err = exec.Command(bin, "-endpoint", s.URL, "-credentials", creds, "-op", "no-such-scenario", "-compare", "null").CombinedOutput()
	if err == nil {
		t.Fatalf("an unknown scenario was accepted: %s", out)
	}
	if ps, _ := exec.Command("pgrep", "-f", bin+" -serve-null").Output(); len(ps) > 0 {
		t.Fatalf("the null peer outlived iamd-load: pids %s", ps)
	}
	help, _ := exec.Command(bin, "-help").CombinedOutput()
	if !strings.Contains(string(help), "moto_server, which must be on PATH") {
		t.Errorf("-help does not name moto_server: %s", help)
	}
}

// TestDamagedStoreRefused: a database with a damaged page is refused at
// start with the advice to restore it, not served with errors later; an
// unreachable PostgreSQL is one line with what to check.
func TestDamagedStoreRefused(t *testing.T) {
	s := start(t)
	for i := range 300 {
		mustUser(t, s, "user-"+strings.Repeat("x", i%40)+string(rune('a'+i%26))+time.Now().Format("150405.000000"))
	}
	cfg := s.Main.cfg
	s.Main.Close()
	db := filepath.Join(cfg.DataDir, "iamd.db")
	f, err := os.OpenFile(db, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	junk := bytes.Repeat([]byte{0xA5}, 4096)
	for off := int64(8192); off+4096 < fi.Size(); off += 8192 {
		f.WriteAt(junk, off) // pages of the users' table and its index, not the header
	}
	f.Close()
	err = NewMain(cfg, &syncBuffer{}).Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "restore it from a backup") {
		t.Fatalf("a damaged database: %v", err)
	}
	var out, errOut bytes.Buffer
	err = run([]string{"migrate", "--db", "postgres://u:secretpw@127.0.0.1:1/iamd"}, &out, &errOut)
	if err == nil || strings.Count(err.Error(), "\n") > 0 || !strings.Contains(err.Error(), "check that PostgreSQL runs there") || strings.Contains(err.Error(), "secretpw") {
		t.Fatalf("an unreachable PostgreSQL: %q", err)
	}
}

// rawSQLite matches SQLite's own texts for what permissions cause.
var rawSQLite = regexp.MustCompile(`unable to open database file|readonly database|out of memory|\(\d+\)`)

// TestPermissionAdvice: a data dir, lock or database iamd may not write
// ends the start with one line that names the file and says to check its
// permissions, never SQLite's own text. As root (which permissions do not
// stop) the binary runs as nobody.
func TestPermissionAdvice(t *testing.T) {
	bin, err := buildIamd()
	if err != nil {
		t.Fatal(err)
	}
	var cred *syscall.Credential
	base := t.TempDir()
	if os.Getuid() == 0 {
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		// nobody must reach the binary and the test's directories.
		for _, d := range []string{filepath.Dir(bin), base, filepath.Dir(base)} {
			os.Chmod(d, 0o755)
		}
	}
	owned := func(dir string) { // a directory the server's user owns
		os.MkdirAll(dir, 0o700)
		if cred != nil {
			os.Chown(dir, int(cred.Uid), int(cred.Gid))
		}
	}
	// A database the server's user may not write: made by another user.
	theirs := filepath.Join(base, "theirs")
	var out, errOut bytes.Buffer
	if err := run([]string{"migrate", "--data-dir", theirs}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(theirs, "iamd.db.lock"))
	os.Chmod(filepath.Join(theirs, "iamd.db"), 0o444) // readable, not writable
	owned(theirs)
	readOnly := filepath.Join(base, "ro")
	os.MkdirAll(readOnly, 0o555)
	keyless := filepath.Join(base, "keyless") // its master key is not readable
	if err := run([]string{"migrate", "--data-dir", keyless}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(keyless, "iamd.db.lock"))
	os.Chmod(filepath.Join(keyless, "master.key"), 0o000)
	owned(keyless)
	if cred != nil { // theirs's master key is readable; its database is not writable
		os.Chown(filepath.Join(theirs, "master.key"), int(cred.Uid), int(cred.Gid))
	}
	for _, c := range []struct{ name, dataDir, want string }{
		{"data dir in a directory it may not write", filepath.Join(readOnly, "data"), "data dir " + filepath.Join(readOnly, "data") + ": "},
		{"master key it may not read", keyless, filepath.Join(keyless, "master.key")},
		{"database it may not write", theirs, filepath.Join(theirs, "iamd.db")},
	} {
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", c.dataDir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		line := strings.TrimSpace(stderr.String())
		if err == nil || strings.Count(line, "\n") > 0 || !strings.Contains(line, c.want) ||
			!strings.Contains(line, "check") || !strings.Contains(line, "permission") || rawSQLite.MatchString(line) {
			t.Errorf("%s: %v, stderr %q", c.name, err, line)
		}
		t.Logf("%s: %s", c.name, line)
	}
}

// TestWordsInTheLog: what a person running iamd reads. The console's
// address at start; each refused request with its error code; a line on
// shutdown; a root-credentials file that is gone explained with the way
// back; hints only where they are true.
func TestWordsInTheLog(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Addr: "127.0.0.1:0", DataDir: dir, Region: "us-east-1", LogFormat: "text", Durability: "full"}
	logs := &syncBuffer{}
	m := NewMain(cfg, logs)
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	url := "http://" + m.Addr()
	if !strings.Contains(logs.String(), "console="+url+"/console/") {
		t.Errorf("the console's address is not in the start-up line:\n%s", logs)
	}
	s := &testServer{Main: m, URL: url, Dir: dir, Logs: logs, HTTP: newHTTPClient(t)}
	_, err := s.sts("AKIAAAAAAAAAAAAAAAAA", strings.Repeat("x", 40)).GetCallerIdentity(ctx, nil)
	wantAPIError(t, err, "InvalidClientTokenId", 403)
	// The line is written once the answer is sent.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), "status=403") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "status=403") || !strings.Contains(logs.String(), "code=InvalidClientTokenId") || strings.Contains(logs.String(), `err=""`) {
		t.Errorf("a refused request's line has no error code, or an empty err:\n%s", logs)
	}
	// A browser at the server's address is sent to the console; a client
	// is not.
	req, _ := http.NewRequest("GET", url+"/", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil || resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console/" {
		t.Errorf("GET / from a browser: %v %v", resp, err)
	}
	if resp, err := http.Get(url + "/"); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET / without a browser's Accept: %v %v", resp, err)
	}
	// An identity provider sends the browser back to /console/ with a
	// code: the console; an API call's query on that path is not.
	for q, want := range map[string]int{"?code=abc&state=xyz": 200, "?error=access_denied&state=xyz": 200,
		"?Action=ListUsers&Version=2010-05-08": 403, "?X-Amz-Signature=00&code=abc": 403} {
		if resp, err := http.Get(url + "/console/" + q); err != nil || resp.StatusCode != want {
			t.Errorf("GET /console/%s: %v %v, want %d", q, resp, err, want)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`msg="stopped serving" requests_drained=0`, `msg="iamd stopped"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no %s on shutdown:\n%s", want, logs)
		}
	}

	// The root-credentials file gone: the way back, and it works.
	os.Remove(filepath.Join(dir, "root-credentials"))
	logs = &syncBuffer{}
	m = NewMain(cfg, logs)
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "root's credentials file is gone") || !strings.Contains(logs.String(), "IAMD_ROOT_ACCESS_KEY_ID") {
		t.Errorf("no way back for a lost root-credentials file:\n%s", logs)
	}
	m.Close()
	cfg.RootAccessKeyID, cfg.RootSecretAccessKey = rootID, rootSecret
	m = NewMain(cfg, &syncBuffer{})
	if err := m.Start(ctx); err != nil {
		t.Fatalf("the way back: %v", err)
	}
	defer m.Close()
	s = &testServer{Main: m, URL: "http://" + m.Addr(), HTTP: newHTTPClient(t)}
	keys, err := s.root().ListAccessKeys(ctx, nil)
	if err != nil || len(keys.AccessKeyMetadata) != 2 {
		t.Fatalf("the root after the way back: %v %v", keys, err)
	}

	// Hints only where true.
	if err := (&Config{Addr: "8600", DataDir: "d", Region: "us-east-1", LogFormat: "text", Durability: "full"}).Validate(); err == nil ||
		strings.Contains(err.Error(), "insecure-http") || !strings.Contains(err.Error(), "host:port") {
		t.Errorf("--addr 8600: %v", err)
	}
	busy := Config{Addr: m.Addr(), DataDir: t.TempDir(), Region: "us-east-1", LogFormat: "text", Durability: "full"}
	if err := NewMain(busy, &syncBuffer{}).Start(ctx); err == nil || !strings.Contains(err.Error(), "another server using the port") {
		t.Errorf("a port in use: %v", err)
	}
	bad := Config{Addr: "127.0.0.1:99999", DataDir: t.TempDir(), Region: "us-east-1", LogFormat: "text", Durability: "full"}
	if err := NewMain(bad, &syncBuffer{}).Start(ctx); err == nil || strings.Contains(err.Error(), "another server") {
		t.Errorf("a port that cannot be: %v", err)
	}
}
