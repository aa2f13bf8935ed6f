// Package botomodel reads botocore's service models, the final word on
// the shapes of AWS's answers, and checks a query-protocol (XML) answer
// against its operation's output shape. Tools and tests use it; the
// server does not.
package botomodel

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Dir finds botocore's package directory through python3.
func Dir() (string, error) {
	out, err := exec.Command("python3", "-c", "import botocore, os; print(os.path.dirname(botocore.__file__))").Output()
	if err != nil {
		return "", fmt.Errorf("python3 with botocore is needed to read AWS's models: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Model is one service's model: its operations and shapes.
type Model struct {
	Operations map[string]Operation `json:"operations"`
	Shapes     map[string]*Shape    `json:"shapes"`
}

// Operation is an operation's input and output.
type Operation struct {
	Input  *Ref `json:"input"`
	Output *Ref `json:"output"`
}

// Ref names a shape; an output's resultWrapper is the element that holds
// it in the query protocol.
type Ref struct {
	Shape         string `json:"shape"`
	ResultWrapper string `json:"resultWrapper"`
	LocationName  string `json:"locationName"`
}

// Shape is a type of the model.
type Shape struct {
	Type     string          `json:"type"`
	Members  map[string]*Ref `json:"members"`
	Member   *Ref            `json:"member"` // of a list
	Key      *Ref            `json:"key"`    // of a map
	Value    *Ref            `json:"value"`
	Required []string        `json:"required"`
	Enum     []string        `json:"enum"`
}

// Load reads the newest model of svc ("iam", "sts") under dir.
func Load(dir, svc string) (*Model, error) {
	versions, _ := filepath.Glob(filepath.Join(dir, "data", svc, "*", "service-2.json*"))
	if len(versions) == 0 {
		return nil, fmt.Errorf("no botocore model of %s under %s", svc, dir)
	}
	slices.Sort(versions)
	f, err := os.Open(versions[len(versions)-1])
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(f.Name(), ".gz") { // botocore ships its models compressed
		if r, err = gzip.NewReader(f); err != nil {
			return nil, err
		}
	}
	var m Model
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return &m, nil
}

// OperationNames lists the model's operations, sorted.
func (m *Model) OperationNames() []string {
	ops := make([]string, 0, len(m.Operations))
	for op := range m.Operations {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

// node is an XML element as read for checking.
type node struct {
	XMLName  xml.Name
	Children []node `xml:",any"`
	Text     string `xml:",chardata"`
}

// CheckQueryResponse checks body, op's successful answer in the query
// protocol, against the model: the <opResponse> root, the result wrapper
// present exactly when the model has an output shape (empty or not), and
// within it every element a member of its shape, every required member
// present, lists of <member>, maps of <entry>, and scalars of their type.
// It returns what differs, nil when nothing does.
func (m *Model) CheckQueryResponse(op string, body []byte) []string {
	o, ok := m.Operations[op]
	if !ok {
		return []string{op + " is not in the model"}
	}
	var root node
	if err := xml.Unmarshal(body, &root); err != nil {
		return []string{fmt.Sprintf("%s: the answer is not XML: %v", op, err)}
	}
	var problems []string
	if root.XMLName.Local != op+"Response" {
		problems = append(problems, fmt.Sprintf("root element <%s>, want <%sResponse>", root.XMLName.Local, op))
	}
	var result *node
	for i, c := range root.Children {
		switch c.XMLName.Local {
		case "ResponseMetadata":
		case op + "Result":
			result = &root.Children[i]
		default:
			problems = append(problems, fmt.Sprintf("unexpected <%s> in <%sResponse>", c.XMLName.Local, op))
		}
	}
	switch {
	case o.Output == nil && result != nil:
		problems = append(problems, fmt.Sprintf("<%sResult> in an answer the model gives no output", op))
	case o.Output != nil && result == nil:
		problems = append(problems, fmt.Sprintf("no <%s> (the model's output, which clients require even empty)", o.Output.ResultWrapper))
	case o.Output != nil:
		problems = append(problems, m.check(o.Output.Shape, result, op+"Result")...)
	}
	return problems
}

var (
	integer   = regexp.MustCompile(`^-?[0-9]+$`)
	timestamp = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`)
)

// check checks element n (at path) against shape name.
func (m *Model) check(name string, n *node, path string) []string {
	s := m.Shapes[name]
	if s == nil {
		return []string{fmt.Sprintf("%s: shape %s is not in the model", path, name)}
	}
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, path+": "+fmt.Sprintf(format, args...))
	}
	switch s.Type {
	case "structure":
		seen := map[string]bool{}
		for i := range n.Children {
			c := &n.Children[i]
			member, ref := "", (*Ref)(nil)
			for mn, r := range s.Members {
				if el := cmp.Or(r.LocationName, mn); el == c.XMLName.Local {
					member, ref = mn, r
				}
			}
			if ref == nil {
				bad("<%s> is not a member of %s", c.XMLName.Local, name)
				continue
			}
			if seen[member] {
				bad("<%s> twice", c.XMLName.Local)
			}
			seen[member] = true
			problems = append(problems, m.check(ref.Shape, c, path+"/"+c.XMLName.Local)...)
		}
		for _, r := range s.Required {
			if !seen[r] {
				bad("required member %s is missing", r)
			}
		}
	case "list":
		el := cmp.Or(s.Member.LocationName, "member")
		for i := range n.Children {
			c := &n.Children[i]
			if c.XMLName.Local != el {
				bad("<%s> in a list of <%s>", c.XMLName.Local, el)
				continue
			}
			problems = append(problems, m.check(s.Member.Shape, c, path+"/"+el)...)
		}
	case "map":
		for i := range n.Children {
			e := &n.Children[i]
			if e.XMLName.Local != "entry" {
				bad("<%s> in a map, want <entry>", e.XMLName.Local)
				continue
			}
			for j := range e.Children {
				c := &e.Children[j]
				switch c.XMLName.Local {
				case cmp.Or(s.Key.LocationName, "key"):
					problems = append(problems, m.check(s.Key.Shape, c, path+"/entry/key")...)
				case cmp.Or(s.Value.LocationName, "value"):
					problems = append(problems, m.check(s.Value.Shape, c, path+"/entry/value")...)
				default:
					bad("<%s> in a map entry", c.XMLName.Local)
				}
			}
		}
	default:
		if len(n.Children) > 0 {
			bad("elements inside a %s", s.Type)
		}
		v := n.Text
		switch s.Type {
		case "integer", "long":
			if !integer.MatchString(v) {
				bad("%q is not an integer", v)
			}
		case "boolean":
			if v != "true" && v != "false" {
				bad("%q is not a boolean", v)
			}
		case "timestamp":
			if !timestamp.MatchString(v) {
				bad("%q is not an ISO 8601 timestamp", v)
			}
		case "string":
			if len(s.Enum) > 0 && !slices.Contains(s.Enum, v) {
				bad("%q is not one of %v", v, s.Enum)
			}
		case "blob":
		default:
			bad("a %s, which the checker does not know", s.Type)
		}
	}
	return problems
}

// ErrNoModel is returned by Open when botocore cannot be found.
var ErrNoModel = errors.New("botocore is not installed")

// Open finds botocore and loads svc's model.
func Open(svc string) (*Model, error) {
	dir, err := Dir()
	if err != nil {
		return nil, errors.Join(ErrNoModel, err)
	}
	return Load(dir, svc)
}

// Action reads the Action parameter of a query-protocol request body.
func Action(body []byte) string {
	for _, kv := range bytes.Split(body, []byte("&")) {
		if v, ok := bytes.CutPrefix(kv, []byte("Action=")); ok {
			return string(v)
		}
	}
	return ""
}
