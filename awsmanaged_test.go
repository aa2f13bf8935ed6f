package iamd

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestREADMEPolicyDocument: the document the README shows for
// IAMSelfManageAccessKeys is the one iamd serves.
func TestREADMEPolicyDocument(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```json\n")
	if !ok {
		t.Fatal("the README shows no policy document")
	}
	block, _, _ = strings.Cut(block, "```")
	var shown, served any
	if err := json.Unmarshal([]byte(block), &shown); err != nil {
		t.Fatalf("the README's document: %v", err)
	}
	b := awsManagedByARN["arn:aws:iam::aws:policy/IAMSelfManageAccessKeys"]
	if b == nil {
		t.Fatal("no IAMSelfManageAccessKeys")
	}
	json.Unmarshal([]byte(b.Document), &served)
	if !reflect.DeepEqual(shown, served) {
		t.Errorf("the README shows\n%s\niamd serves\n%s", block, b.Document)
	}
}
