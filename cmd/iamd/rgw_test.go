package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lightsail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// rgwCluster is Ceph from Debian's packages on 127.0.0.1: one monitor, one
// OSD on memstore (RAM, nothing on disk but the monitor's store) and a
// radosgw whose S3 API asks iamd's Keystone API about every request, with
// docs/openstack.md's options.
type rgwCluster struct {
	URL string
	dir string
	daemons
}

// rgwKeystoneOptions are docs/openstack.md's RGW options (its ini block from
// rgw_s3_auth_use_keystone on), with iamd's address and the service key
// put in where docs/openstack.md leaves them to the reader.
func rgwKeystoneOptions(t *testing.T, keystoneAddr, svcID, svcSecret string) string {
	t.Helper()
	block := readmeBlock(t, "```ini\nrgw_s3_auth_use_keystone")
	var out strings.Builder
	for line := range strings.Lines(block) {
		k, _, _ := strings.Cut(strings.TrimSpace(line), " = ")
		switch k {
		case "rgw_keystone_url":
			line = "rgw_keystone_url = http://" + keystoneAddr + "\n"
		case "rgw_keystone_admin_user":
			line = "rgw_keystone_admin_user = " + svcID + "\n"
		case "rgw_keystone_admin_password":
			line = "rgw_keystone_admin_password = " + svcSecret + "\n"
		}
		out.WriteString(line)
	}
	if strings.Contains(out.String(), "…") {
		t.Fatalf("a placeholder of docs/openstack.md is left in the RGW options:\n%s", out.String())
	}
	return out.String()
}

// startRGW makes the cluster and starts its three daemons.
func startRGW(t *testing.T, keystoneAddr, svcID, svcSecret string) *rgwCluster {
	t.Helper()
	for _, bin := range []string{"ceph-mon", "ceph-osd", "radosgw", "ceph", "monmaptool"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("no %s: install Debian's ceph-mon ceph-osd radosgw ceph-common", bin)
			}
			t.Skipf("no %s: install Debian's ceph-mon, ceph-osd, radosgw and ceph-common to test Keystone s3tokens with Ceph RGW", bin)
		}
	}
	// Ceph's paths go into a configuration file and its admin sockets
	// must stay short: a directory of its own under /tmp.
	dir, err := os.MkdirTemp("", "iamd-rgw-")
	if err != nil {
		t.Fatal(err)
	}
	c := &rgwCluster{dir: dir}
	t.Cleanup(c.stop)
	for _, d := range []string{"mon", "osd", "run", "log"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	monAddr, rgwAddr := freeAddr(t), freeAddr(t)
	fsid, osdUUID := newUUID(t), newUUID(t)
	conf := filepath.Join(dir, "ceph.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`[global]
fsid = %[1]s
mon host = v1:%[2]s
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
ms bind msgr2 = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 1
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 536870912
run dir = %[3]s/run
admin socket = %[3]s/run/$name.asok
log file = %[3]s/log/$name.log
pid file = %[3]s/run/$name.pid
mon data = %[3]s/mon/$name
osd data = %[3]s/osd/$name
keyring = %[3]s/keyring

[client.rgw.a]
rgw frontends = beast endpoint=%[4]s
rgw data = %[3]s/rgw
%[5]s`, fsid, monAddr, dir, rgwAddr, rgwKeystoneOptions(t, keystoneAddr, svcID, svcSecret))), 0o600)
	os.WriteFile(filepath.Join(dir, "keyring"), nil, 0o600)
	monmap := filepath.Join(dir, "monmap")
	c.cmd(t, "monmaptool", "--create", "--addv", "a", "[v1:"+monAddr+"]", "--fsid", fsid, monmap)
	c.cmd(t, "ceph-mon", "-c", conf, "--mkfs", "-i", "a", "--monmap", monmap)
	c.start(t, "ceph-mon", "-c", conf, "-i", "a", "-f")
	// The next command waits for the monitor (--connect-timeout).
	id := strings.TrimSpace(c.cmd(t, "ceph", "-c", conf, "--connect-timeout", "30", "osd", "create", osdUUID))
	os.MkdirAll(filepath.Join(dir, "osd", "osd."+id), 0o755)
	c.cmd(t, "ceph-osd", "-c", conf, "-i", id, "--mkfs", "--osd-uuid", osdUUID)
	// An OSD started right after the monitor sometimes gives up at once
	// ("wrong fsid" for its first command): start it again.
	for attempt := 1; !c.osdUp(t, conf, c.start(t, "ceph-osd", "-c", conf, "-i", id, "-f")); attempt++ {
		if attempt == 3 {
			t.Fatalf("the OSD did not come up:\n%s", c.log())
		}
		t.Logf("the OSD did not come up (attempt %d); starting it again", attempt)
	}
	c.start(t, "radosgw", "-c", conf, "-n", "client.rgw.a", "-f")
	c.URL = "http://" + rgwAddr
	// radosgw answers once it has made its pools, which needs the OSD up.
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(c.URL + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("radosgw did not answer on %s: %v\n%s", rgwAddr, err, c.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func newUUID(t *testing.T) string {
	b, err := os.ReadFile("/proc/sys/kernel/random/uuid") // Linux, as Ceph
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// cmd runs a set-up command to its end and returns its output.
func (c *rgwCluster) cmd(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// osdUp waits until the cluster counts one OSD up, or osd has exited.
func (c *rgwCluster) osdUp(t *testing.T, conf string, osd *daemon) bool {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-osd.done:
			return false
		case <-time.After(200 * time.Millisecond):
		}
		out, err := exec.Command("ceph", "-c", conf, "--connect-timeout", "5", "osd", "stat").CombinedOutput()
		if err == nil && strings.Contains(string(out), "1 up") {
			return true
		}
	}
	osd.cmd.Process.Kill()
	<-osd.done
	return false
}

// log is what the daemons printed and the ends of their log files.
func (c *rgwCluster) log() string {
	var b strings.Builder
	b.WriteString(c.output())
	logs, _ := filepath.Glob(filepath.Join(c.dir, "log", "*.log"))
	for _, f := range logs {
		data, _ := os.ReadFile(f)
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "--- %s\n%s", filepath.Base(f), data)
	}
	return b.String()
}

func (c *rgwCluster) stop() {
	c.daemons.stop()
	os.RemoveAll(c.dir)
}

// TestKeystoneRGW: Ceph RGW, configured with docs/openstack.md's options only,
// accepts an IAM user's key and a Lightsail bucket key through iamd's
// s3tokens (the aws CLI, boto3 and the Go SDK), keeps a bucket key's
// bucket out of the account's reach, and refuses a tampered, deleted or
// inactive key; no secret is ever handed to RGW.
func TestKeystoneRGW(t *testing.T) {
	s, svcID, svcSecret := keystoneSetup(t)
	rgw := startRGW(t, s.KeystoneAddr(), svcID, svcSecret)
	s3c := func(id, secret string) *s3.Client {
		return s3.NewFromConfig(s.awsConfig(id, secret), func(o *s3.Options) { o.BaseEndpoint = aws.String(rgw.URL); o.UsePathStyle = true })
	}

	// An IAM user's key: the aws CLI makes a bucket and copies a file in.
	mustUser(t, s, "carol")
	carol := mustKey(t, s.root(), "carol")
	cid, csecret := *carol.AccessKeyId, *carol.SecretAccessKey
	src := filepath.Join(t.TempDir(), "hello.txt")
	os.WriteFile(src, []byte("hello from the aws CLI\n"), 0o600)
	for _, args := range [][]string{{"s3", "mb", "s3://carols"}, {"s3", "cp", src, "s3://carols/hello.txt"}} {
		if out, err := awsCLI(t, rgw.URL, cid, csecret, args...); err != nil {
			t.Fatalf("aws %s: %v\n%s\n%s", args, err, out, rgw.log())
		}
	}
	obj, err := s3c(cid, csecret).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("carols"), Key: aws.String("hello.txt")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if string(body) != "hello from the aws CLI\n" {
		t.Fatalf("GetObject: %q", body)
	}

	// A bucket key: boto3 in a bucket of its own project.
	ls := lightsail.NewFromConfig(s.awsConfig(rootID, rootSecret))
	if _, err := ls.CreateBucket(ctx, &lightsail.CreateBucketInput{BucketName: aws.String("photos"), BundleId: aws.String("small_1_0")}); err != nil {
		t.Fatal(err)
	}
	bid, bsecret := bucketKey(t, ls, "photos")
	if _, err := s3c(bid, bsecret).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("photos")}); err != nil {
		t.Fatalf("a bucket key makes its bucket: %v", err)
	}
	py := exec.Command("python3", "-c", boto3Script, rgw.URL)
	py.Env = append(cleanEnv(), "KEY_ID="+bid, "KEY_SECRET="+bsecret)
	if out, err := py.CombinedOutput(); err != nil || !strings.Contains(string(out), "boto3 was here\nfrom-boto3.txt") {
		t.Fatalf("boto3 with a bucket key: %v\n%s", err, out)
	}
	// The account's users do not reach the bucket key's project, nor it theirs.
	if _, err := s3c(cid, csecret).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("photos")}); s3Code(err) != "AccessDenied" {
		t.Errorf("an IAM user in a bucket key's bucket: %v, want AccessDenied", err)
	}
	if _, err := s3c(bid, bsecret).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("carols"), Key: aws.String("hello.txt")}); s3Code(err) != "AccessDenied" {
		t.Errorf("a bucket key in the account's bucket: %v, want AccessDenied", err)
	}

	// Refusals: a tampered secret, a deleted bucket key, an inactive key.
	if _, err := s3c(cid, csecret+"x").ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("carols")}); s3Code(err) != "SignatureDoesNotMatch" {
		t.Errorf("a tampered secret: %v, want SignatureDoesNotMatch", err)
	}
	if _, err := ls.DeleteBucketAccessKey(ctx, &lightsail.DeleteBucketAccessKeyInput{BucketName: aws.String("photos"), AccessKeyId: aws.String(bid)}); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, "a deleted bucket key", func() error {
		_, err := s3c(bid, bsecret).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("photos")})
		return err
	})
	if _, err := s.root().UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: carol.AccessKeyId, Status: "Inactive"}); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, "an inactive key", func() error {
		_, err := s3c(cid, csecret).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("carols")})
		return err
	})
	for _, secret := range []string{csecret, bsecret, svcSecret} {
		if strings.Contains(s.Logs.String(), secret) {
			t.Error("a secret reached iamd's log")
		}
	}
	// RGW asks Keystone's credentials API for each key's secret, to cache
	// it; iamd serves no such thing.
	asked := false
	for line := range strings.Lines(s.Logs.String()) {
		if strings.Contains(line, "/credentials/OS-EC2/") {
			asked = true
			if !strings.Contains(line, "status=404") {
				t.Errorf("the credentials API answered: %s", line)
			}
		}
	}
	if !asked {
		t.Error("RGW never asked for a secret: docs/openstack.md says it does")
	}
}

// refusedWithin waits for call to fail, for at most the 10 s an
// s3tokens answer may be cached, and logs how long it took.
func refusedWithin(t *testing.T, what string, call func() error) {
	t.Helper()
	began := time.Now()
	for call() == nil {
		if time.Since(began) > 12*time.Second {
			t.Errorf("%s still works through RGW after %v", what, time.Since(began))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("RGW: %s refused after %v", what, time.Since(began).Round(time.Millisecond))
}
