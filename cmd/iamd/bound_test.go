package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"iamd/server"
)

// rssBound is the documented bound (docs/SECURITY.md) on what a server
// holds, whatever clients that cannot sign send it: a base, the
// in-flight body budget, and at most a header's worth per open connection.
func rssBound(conns int) int64 {
	return 48<<20 + server.DefaultMaxBodyInFlight + int64(conns)*(64<<10)
}

// procKB reads a field (VmRSS, VmHWM) of /proc/<pid>/status, in bytes.
func procKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// TestMemoryBound attacks a real iamd process the way that once made it
// hold 6.5 GB in 5 s: many connections each sending a 1 MiB body but its
// last byte, with no signature, with an unknown key, and with the ID of a
// real key but no secret; and as many connections that send their headers
// a byte at a time. The server's peak RSS must stay under rssBound, and a
// client that signs must be served all along.
func TestMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 2,000 connections")
	}
	cmd, url := startProcess(t, t.TempDir())
	pid := cmd.Process.Pid
	addr := strings.TrimPrefix(url, "http://")
	s := &testServer{URL: url, HTTP: newHTTPClient(t)}
	if _, err := s.sts(rootID, rootSecret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	base := procKB(t, pid, "VmRSS")

	const bodies, slow = 1200, 800
	date := time.Now().UTC().Format("20060102T150405Z")
	auths := []string{
		"",
		"Authorization: AWS4-HMAC-SHA256 Credential=AKIAUNKNOWNUNKNOWN00/" + date[:8] + "/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64) + "\r\nX-Amz-Date: " + date + "\r\n",
		"Authorization: AWS4-HMAC-SHA256 Credential=" + rootID + "/" + date[:8] + "/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64) + "\r\nX-Amz-Date: " + date + "\r\n",
	}
	body := strings.Repeat("a", 1<<20-1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var answered, busy, refused atomic.Int64
	for i := range bodies {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer c.Close()
			go func() { <-stop; c.Close() }()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n%s\r\n", addr, 1<<20, auths[i%len(auths)])
			go io.WriteString(c, body) // fails once the server closes
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
				answered.Add(1)
				switch resp.StatusCode {
				case 503:
					busy.Add(1)
				case 400, 403:
					refused.Add(1)
				}
				resp.Body.Close()
			}
			<-stop
		})
	}
	for range slow {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer c.Close()
			head := "POST / HTTP/1.1\r\nHost: " + addr + "\r\nX-Pad: "
			for i := 0; i < len(head); i++ {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				if _, err := c.Write([]byte{head[i]}); err != nil {
					return
				}
			}
			<-stop
		})
	}
	// While the attack holds its connections, a client signing with the
	// very key whose ID the attack uses is served: at once, or after
	// retrying a 503 as the SDKs do (here at most 3 times, 300 ms apart).
	first, retried := 0, 0
	for i := 0; i < 20; i++ {
		time.Sleep(150 * time.Millisecond)
		var err error
		for try := 0; try < 4; try++ {
			if try > 0 {
				time.Sleep(300 * time.Millisecond)
			}
			if _, err = s.sts(rootID, rootSecret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
				if try == 0 {
					first++
				} else {
					retried++
				}
				break
			}
		}
		if err != nil {
			t.Errorf("a signed request during the attack, after 3 retries: %v", err)
		}
	}
	peak := procKB(t, pid, "VmHWM")
	close(stop)
	wg.Wait()
	bound := rssBound(bodies + slow)
	t.Logf("memory bound: %d body connections (%d answered: %d refused at the headers, %d busy) and %d slow-header connections; RSS %d MiB before, peak %d MiB, bound %d MiB; of 20 signed requests %d served at once, %d after retrying a 503",
		bodies, answered.Load(), refused.Load(), busy.Load(), slow, base>>20, peak>>20, bound>>20, first, retried)
	if peak > bound {
		t.Fatalf("peak RSS %d MiB passes the bound of %d MiB", peak>>20, bound>>20)
	}
}
