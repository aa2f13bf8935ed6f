package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lightsail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// swiftCluster is OpenStack Swift from Debian's packages on 127.0.0.1: one
// replica of each ring, account, container and object servers, and a proxy
// whose S3 API (s3api) asks iamd's Keystone API about every request
// (s3token) and lets a project's "member" operate its account
// (keystoneauth). The pipeline is docs/openstack.md's.
type swiftCluster struct {
	URL string
	daemons
}

// swiftProxyConf is docs/openstack.md's proxy-server.conf; %[1]s is the proxy's
// port, %[2]s the directory, %[3]s the user, %[4]s iamd's Keystone
// address and %[5]s, %[6]s the service key.
const swiftProxyConf = `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = %[1]s
swift_dir = %[2]s
user = %[3]s
workers = 0

[pipeline:main]
pipeline = catch_errors gatekeeper proxy-logging listing_formats s3api s3token keystoneauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo

[filter:versioned_writes]
use = egg:swift#versioned_writes

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:s3token]
use = egg:swift#s3token
auth_uri = http://%[4]s/v3
auth_type = password
auth_url = http://%[4]s/v3
username = %[5]s
password = %[6]s
user_domain_name = Default
project_name = service
project_domain_name = Default

[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = member
`

// startSwift builds the rings and starts the four servers.
func startSwift(t *testing.T, keystoneAddr, svcID, svcSecret string) *swiftCluster {
	t.Helper()
	if _, err := exec.LookPath("swift-proxy-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no swift-proxy-server: install Debian's swift swift-proxy swift-account swift-container swift-object")
		}
		t.Skip("no swift-proxy-server: install Debian's swift packages to test Keystone s3tokens with Swift")
	}
	dir := t.TempDir()
	u, _ := user.Current()
	if err := os.MkdirAll(filepath.Join(dir, "srv", "d1"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := &swiftCluster{}
	t.Cleanup(c.stop)
	ports := map[string]string{}
	for _, ring := range []string{"account", "container", "object"} {
		_, port, _ := net.SplitHostPort(freeAddr(t))
		ports[ring] = port
		b := filepath.Join(dir, ring+".builder")
		for _, args := range [][]string{{"create", "4", "1", "1"}, {"add", "r1z1-127.0.0.1:" + port + "/d1", "100"}, {"rebalance"}} {
			if out, err := exec.Command("swift-ring-builder", append([]string{b}, args...)...).CombinedOutput(); err != nil && !(args[0] == "rebalance" && strings.Contains(string(out), "Reassigned")) {
				t.Fatalf("swift-ring-builder %s: %v\n%s", args, err, out)
			}
		}
		conf := fmt.Sprintf("[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = %s\ndevices = %s\nmount_check = false\nuser = %s\nswift_dir = %s\nworkers = 0\n\n[pipeline:main]\npipeline = %s-server\n\n[app:%[5]s-server]\nuse = egg:swift#%[5]s\n",
			port, filepath.Join(dir, "srv"), u.Username, dir, ring)
		c.run(t, "swift-"+ring+"-server", filepath.Join(dir, ring+"-server.conf"), conf)
	}
	_, port, _ := net.SplitHostPort(freeAddr(t))
	c.URL = "http://127.0.0.1:" + port
	c.run(t, "swift-proxy-server", filepath.Join(dir, "proxy-server.conf"), fmt.Sprintf(swiftProxyConf, port, dir, u.Username, keystoneAddr, svcID, svcSecret))
	for _, p := range []string{ports["account"], ports["container"], ports["object"], port} {
		waitHTTP(t, "http://127.0.0.1:"+p+"/", "swift", 60*time.Second, c.output)
	}
	return c
}

// run writes conf to confPath and starts bin with it.
func (c *swiftCluster) run(t *testing.T, bin, confPath, conf string) {
	t.Helper()
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	c.start(t, bin, confPath, "-v")
}

// awsCLI runs the aws CLI against endpoint with key id/secret.
func awsCLI(t *testing.T, endpoint, id, secret string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("aws", append([]string{"--endpoint-url", endpoint, "--region", "us-east-1"}, args...)...)
	cmd.Env = append(cleanEnv(), "AWS_ACCESS_KEY_ID="+id, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// cleanEnv is the environment without AWS_ variables.
func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "AWS_") {
			env = append(env, e)
		}
	}
	return env
}

// boto3Script puts, gets and lists an object with boto3, printing what it
// read and listed.
const boto3Script = `
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
    aws_access_key_id=os.environ["KEY_ID"], aws_secret_access_key=os.environ["KEY_SECRET"])
s3.put_object(Bucket="photos", Key="from-boto3.txt", Body=b"boto3 was here")
print(s3.get_object(Bucket="photos", Key="from-boto3.txt")["Body"].read().decode())
print(",".join(o["Key"] for o in s3.list_objects_v2(Bucket="photos").get("Contents", [])))
`

// TestKeystoneSwift: OpenStack Swift's S3 API accepts a Lightsail bucket
// key through iamd's s3tokens with configuration only, and refuses a
// deleted, inactive or tampered key and another bucket's key.
func TestKeystoneSwift(t *testing.T) {
	s, svcID, svcSecret := keystoneSetup(t)
	sw := startSwift(t, s.KeystoneAddr(), svcID, svcSecret)
	ls := lightsail.NewFromConfig(s.awsConfig(rootID, rootSecret))
	for _, b := range []string{"photos", "other"} {
		if _, err := ls.CreateBucket(ctx, &lightsail.CreateBucketInput{BucketName: aws.String(b), BundleId: aws.String("small_1_0")}); err != nil {
			t.Fatal(err)
		}
	}
	id, secret := bucketKey(t, ls, "photos")
	otherID, otherSecret := bucketKey(t, ls, "other")

	// The aws CLI: make the bucket's container, copy, list, remove.
	src := filepath.Join(t.TempDir(), "hello.txt")
	os.WriteFile(src, []byte("hello from the aws CLI\n"), 0o600)
	for _, args := range [][]string{{"s3", "mb", "s3://photos"}, {"s3", "cp", src, "s3://photos/hello.txt"}} {
		if out, err := awsCLI(t, sw.URL, id, secret, args...); err != nil {
			t.Fatalf("aws %s: %v\n%s\n%s", args, err, out, sw.output())
		}
	}
	if out, err := awsCLI(t, sw.URL, id, secret, "s3", "ls", "s3://photos/"); err != nil || !strings.Contains(out, "hello.txt") {
		t.Fatalf("aws s3 ls: %v %s", err, out)
	}

	// boto3 put, get, list.
	py := exec.Command("python3", "-c", boto3Script, sw.URL)
	py.Env = append(cleanEnv(), "KEY_ID="+id, "KEY_SECRET="+secret)
	if out, err := py.CombinedOutput(); err != nil || !strings.Contains(string(out), "boto3 was here\nfrom-boto3.txt,hello.txt") {
		t.Fatalf("boto3: %v\n%s", err, out)
	}

	// The Go SDK reads what the CLI wrote.
	s3c := func(id, secret string) *s3.Client {
		return s3.NewFromConfig(s.awsConfig(id, secret), func(o *s3.Options) { o.BaseEndpoint = aws.String(sw.URL); o.UsePathStyle = true })
	}
	obj, err := s3c(id, secret).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("hello.txt")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if string(body) != "hello from the aws CLI\n" {
		t.Fatalf("GetObject: %q", body)
	}

	// Another bucket's key lands in its own bucket's account: photos is not
	// there for it.
	if _, err := s3c(otherID, otherSecret).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("photos"), Key: aws.String("hello.txt")}); s3Code(err) != "NoSuchBucket" {
		t.Errorf("another bucket's key: %v, want NoSuchBucket", err)
	}
	if out, err := awsCLI(t, sw.URL, id, secret+"x", "s3", "ls", "s3://photos/"); err == nil {
		t.Errorf("tampered secret listed: %s", out)
	}

	// aws s3 rm, then the key is deleted and refused.
	if out, err := awsCLI(t, sw.URL, id, secret, "s3", "rm", "s3://photos/hello.txt"); err != nil {
		t.Fatalf("aws s3 rm: %v %s", err, out)
	}
	if _, err := ls.DeleteBucketAccessKey(ctx, &lightsail.DeleteBucketAccessKeyInput{BucketName: aws.String("photos"), AccessKeyId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c(id, secret).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("photos")}); err == nil {
		t.Error("a deleted bucket key still lists through Swift")
	}

	// An IAM user's key, deactivated, is refused at once.
	mustUser(t, s, "carol")
	carol := mustKey(t, s.root(), "carol")
	if _, err := s3c(*carol.AccessKeyId, *carol.SecretAccessKey).ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("IAM user key through Swift: %v", err)
	}
	if _, err := s.root().UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: carol.AccessKeyId, Status: "Inactive"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c(*carol.AccessKeyId, *carol.SecretAccessKey).ListBuckets(ctx, &s3.ListBucketsInput{}); err == nil {
		t.Error("an inactive key still lists through Swift")
	}
	for _, secret := range []string{secret, otherSecret, svcSecret, *carol.SecretAccessKey} {
		if strings.Contains(s.Logs.String(), secret) {
			t.Error("a secret reached iamd's log")
		}
	}
}

// TestSwiftConfIsDocumented: every setting of docs/openstack.md's proxy-server.conf
// is swiftProxyConf's, in the same section, so the configuration Swift is
// tested with is the one documented. Values docs/openstack.md leaves to the
// reader (the key, its secret, iamd's address) are the test's own.
func TestSwiftConfIsDocumented(t *testing.T) {
	block := readmeBlock(t, "```ini\n[pipeline:main]\n")
	settings := func(conf string) map[string]string {
		out, section := map[string]string{}, ""
		for line := range strings.Lines(conf) {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "[") {
				section = line
			} else if k, v, ok := strings.Cut(line, " = "); ok && !strings.HasPrefix(line, "#") {
				out[section+" "+k] = v
			}
		}
		return out
	}
	tested := settings(swiftProxyConf)
	documented := settings(block)
	if len(documented) < 15 {
		t.Fatalf("only %d settings found in the README's proxy-server.conf", len(documented))
	}
	for k, v := range documented {
		if strings.Contains(v, "…") || strings.Contains(v, "127.0.0.1:8635") {
			if _, ok := tested[k]; !ok {
				t.Errorf("%s: in the README, not in the tested configuration", k)
			}
			continue
		}
		if tested[k] != v {
			t.Errorf("%s: the README says %q, the test runs %q", k, v, tested[k])
		}
	}
}
