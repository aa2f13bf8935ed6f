package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// daemon is a process a test runs; done is closed when it has exited.
type daemon struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// daemons are the processes of a test's cluster (Swift, Ceph), with their
// output, stopped together.
type daemons struct {
	list []*daemon
	logs []*bytes.Buffer
}

// start runs bin in the foreground of its own process.
func (ds *daemons) start(t *testing.T, bin string, args ...string) *daemon {
	t.Helper()
	log := &bytes.Buffer{}
	d := &daemon{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	d.cmd.Stdout, d.cmd.Stderr = log, log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	ds.list, ds.logs = append(ds.list, d), append(ds.logs, log)
	return d
}

// output is what the daemons printed.
func (ds *daemons) output() string {
	var b strings.Builder
	for _, l := range ds.logs {
		b.WriteString(l.String())
	}
	return b.String()
}

// stop kills the daemons, the last started first.
func (ds *daemons) stop() {
	for i := len(ds.list) - 1; i >= 0; i-- {
		ds.list[i].cmd.Process.Kill()
		<-ds.list[i].done
	}
	ds.list = nil
}

// waitHTTP waits until GET url is answered, with any status: the server
// serves HTTP, which a port that accepts connections does not prove. what
// and logs say what failed to start.
func waitHTTP(t *testing.T, url, what string, timeout time.Duration, logs func() string) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %s: %v\n%s", what, url, err, logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readmeBlock returns docs/openstack.md's fenced block that begins with opening
// (its fence line included, e.g. "```ini\n[pipeline:main]\n"), without
// the fence lines.
func readmeBlock(t *testing.T, opening string) string {
	t.Helper()
	readme, err := os.ReadFile("../../docs/openstack.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), opening)
	if !ok {
		t.Fatalf("docs/openstack.md has no block beginning %q", opening)
	}
	_, first, _ := strings.Cut(opening, "\n")
	block, _, _ := strings.Cut(first+rest, "```")
	return block
}
