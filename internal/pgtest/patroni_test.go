package pgtest

import (
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// TestOperationsPatroniConfig: the Patroni configuration in
// docs/OPERATIONS.md is the one the failover test runs (member m1 on the
// addresses the document gives).
func TestOperationsPatroniConfig(t *testing.T) {
	doc, err := os.ReadFile("../../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "TestOperationsPatroniConfig")
	if !ok {
		t.Fatal("docs/OPERATIONS.md no longer names this test beside its Patroni configuration")
	}
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("no yaml block after the test's name in docs/OPERATIONS.md")
	}
	// Patroni reads YAML with PyYAML (python3-yaml, which it depends on).
	cmd := exec.Command("python3", "-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)")
	cmd.Stdin = strings.NewReader(block)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 with PyYAML (Debian python3-yaml, a dependency of patroni): %v", err)
	}
	var got, want any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(PatroniConfig("m1", 5432, 8008, "127.0.0.1:2379", "/var/lib/postgresql/15/iamd", "/var/run/postgresql", "/usr/lib/postgresql/15/bin"))
	json.Unmarshal(b, &want)
	if !reflect.DeepEqual(got, want) {
		w, _ := json.MarshalIndent(want, "", "  ")
		g, _ := json.MarshalIndent(got, "", "  ")
		t.Fatalf("docs/OPERATIONS.md's Patroni configuration differs from the test's:\ndocument:\n%s\ntest:\n%s", g, w)
	}
}
