package iamd

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestDocsPolicyDocument: the document docs/iam.md shows for
// IAMSelfManageAccessKeys is the one iamd serves.
func TestDocsPolicyDocument(t *testing.T) {
	readme, err := os.ReadFile("docs/iam.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```json\n")
	if !ok {
		t.Fatal("docs/iam.md shows no policy document")
	}
	block, _, _ = strings.Cut(block, "```")
	var shown, served any
	if err := json.Unmarshal([]byte(block), &shown); err != nil {
		t.Fatalf("docs/iam.md's document: %v", err)
	}
	b := awsManagedByARN["arn:aws:iam::aws:policy/IAMSelfManageAccessKeys"]
	if b == nil {
		t.Fatal("no IAMSelfManageAccessKeys")
	}
	json.Unmarshal([]byte(b.Document), &served)
	if !reflect.DeepEqual(shown, served) {
		t.Errorf("docs/iam.md shows\n%s\niamd serves\n%s", block, b.Document)
	}
}
