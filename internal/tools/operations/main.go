// Command operations writes the README's list of the operations iamd
// serves, from the doors' own dispatch tables, against botocore's models:
//
//	go run ./internal/tools/operations            # rewrites README.md's section
//	go run ./internal/tools/operations -check     # exit 1 if it has drifted
//
// botocore is found through python3 (or -botocore DIR). The section lies
// between the markers below; the test of this package fails when it no
// longer matches what the code serves.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"iamd/accounts"
	"iamd/federation"
	"iamd/iamapi"
	"iamd/instanceprofiles"
	"iamd/internal/botomodel"
	"iamd/lightsailapi"
	"iamd/organizations"
	"iamd/people"
	"iamd/stsapi"
)

const (
	begin = "<!-- operations: written by `go run ./internal/tools/operations`; a test fails when it drifts -->"
	end   = "<!-- operations: end -->"
)

// services are the doors whose operations are listed, with the botocore
// model each is measured against.
func services() []service {
	fed := federation.New(federation.Config{})
	return []service{
		{"IAM", "iam", iamapi.New(nil, iamapi.Parts{Federation: fed, InstanceProfiles: instanceprofiles.New(nil, nil, nil), People: people.New(people.Config{}), Accounts: accounts.New(nil, nil)}).Actions()},
		{"STS", "sts", stsapi.New(nil, fed, nil).Actions()},
		{"Lightsail", "lightsail", lightsailapi.New(nil, nil).Actions()},
		{"Organizations", "organizations", organizations.NewAPI(nil).Actions()},
	}
}

type service struct {
	name, model string
	served      []string
}

func main() {
	check := flag.Bool("check", false, "report whether README.md's section is current, and change nothing")
	botocore := flag.String("botocore", "", "botocore's package directory (default: python3's)")
	readme := flag.String("readme", "README.md", "the file holding the section")
	flag.Parse()
	if err := run(*readme, *botocore, *check); err != nil {
		fmt.Fprintln(os.Stderr, "operations:", err)
		os.Exit(1)
	}
}

func run(readme, botocore string, check bool) error {
	if botocore == "" {
		dir, err := botomodel.Dir()
		if err != nil {
			return fmt.Errorf("%w (or -botocore DIR)", err)
		}
		botocore = dir
	}
	section, err := Section(botocore)
	if err != nil {
		return err
	}
	text, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	updated, err := replace(string(text), section)
	if err != nil {
		return fmt.Errorf("%s: %w", readme, err)
	}
	if check {
		if updated != string(text) {
			return fmt.Errorf("%s's list of operations is not what the code serves: run go run ./internal/tools/operations", readme)
		}
		return nil
	}
	return os.WriteFile(readme, []byte(updated), 0o644)
}

func replace(text, section string) (string, error) {
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		return "", errors.New("no operations markers")
	}
	return text[:i] + section + text[j:], nil
}

// Section is the README's text between the markers, begin included.
func Section(botocore string) (string, error) {
	var b bytes.Buffer
	b.WriteString(begin + "\n\n| service | operations served | in botocore's model |\n|---|---|---|\n")
	var details bytes.Buffer
	for _, s := range services() {
		model, err := modelOperations(botocore, s.model)
		if err != nil {
			return "", err
		}
		served := slices.Clone(s.served)
		slices.Sort(served)
		var missing []string
		for _, op := range model {
			if !slices.Contains(served, op) {
				missing = append(missing, op)
			}
		}
		for _, op := range served {
			if !slices.Contains(model, op) {
				return "", fmt.Errorf("%s serves %s, which botocore's model does not have", s.name, op)
			}
		}
		fmt.Fprintf(&b, "| %s | %d | %d |\n", s.name, len(served), len(model))
		fmt.Fprintf(&details, "\n<details><summary>%s: the %d served</summary>\n\n%s\n</details>\n", s.name, len(served), strings.Join(served, ", "))
		if len(missing) > 0 {
			fmt.Fprintf(&details, "<details><summary>%s: the %d not served</summary>\n\n%s\n</details>\n", s.name, len(missing), strings.Join(missing, ", "))
		}
	}
	b.Write(details.Bytes())
	b.WriteString("\n")
	return b.String(), nil
}

// modelOperations lists the operations of botocore's newest model of svc.
func modelOperations(botocore, svc string) ([]string, error) {
	m, err := botomodel.Load(botocore, svc)
	if err != nil {
		return nil, err
	}
	return m.OperationNames(), nil
}
