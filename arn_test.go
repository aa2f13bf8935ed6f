package iamd

import "testing"

// FuzzParsePolicyARN: parsing a policy ARN never panics, and what it
// accepts puts back together into the same ARN.
func FuzzParsePolicyARN(f *testing.F) {
	for _, s := range []string{"arn:aws:iam::123456789012:policy/a/b/Guardrail", "arn:aws:iam::aws:policy/AdministratorAccess",
		"arn:aws:iam::1:policy/", "arn:aws:iam:::policy/x", "arn:aws:iam::1:policyx/y", "arn:aws:iam::1:policy//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arn string) {
		account, path, name, ok := parsePolicyARN(arn)
		if !ok {
			return
		}
		if account == "" || name == "" || path == "" || path[0] != '/' || path[len(path)-1] != '/' {
			t.Fatalf("parsePolicyARN(%q) = %q %q %q", arn, account, path, name)
		}
		if back := "arn:aws:iam::" + account + ":policy" + path + name; back != arn {
			t.Fatalf("parsePolicyARN(%q) puts back as %q", arn, back)
		}
	})
}
