package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// buildIamd compiles the command once per test run.
var buildIamd = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "iamd-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "iamd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// startProcess runs iamd serve as a separate process on a free port and
// returns it with its URL; extra are more flags.
func startProcess(t *testing.T, dataDir string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	bin, err := buildIamd()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--account-id", account}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "IAMD_ROOT_ACCESS_KEY_ID="+rootID, "IAMD_ROOT_SECRET_ACCESS_KEY="+rootSecret, "IAMD_MASTER_KEY="+testMasterKey)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg="iamd listening" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, "http://" + a
	case <-time.After(20 * time.Second):
		t.Fatal("iamd did not start")
	}
	return nil, ""
}

// TestKill9 creates keys, kills the server with SIGKILL the moment the
// last response arrives, and checks every acknowledged key after restart.
func TestKill9(t *testing.T) {
	dir := t.TempDir()
	cmd, url := startProcess(t, dir)
	s := &testServer{URL: url, HTTP: newHTTPClient(t)}
	const n = 24
	type key struct{ id, secret string }
	keys := make([]key, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("user%02d", i)
			if _, err := s.root().CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
				t.Error(err)
				return
			}
			out, err := s.root().CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = key{*out.AccessKey.AccessKeyId, *out.AccessKey.SecretAccessKey}
		}()
	}
	wg.Wait()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if t.Failed() {
		return
	}
	_, url = startProcess(t, dir)
	s = &testServer{URL: url, HTTP: newHTTPClient(t)}
	for i, k := range keys {
		id, err := s.sts(k.id, k.secret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("key %d after kill -9: %v", i, err)
		}
		if want := fmt.Sprintf("arn:aws:iam::%s:user/user%02d", account, i); *id.Arn != want {
			t.Fatalf("arn %s, want %s", *id.Arn, want)
		}
	}
}
