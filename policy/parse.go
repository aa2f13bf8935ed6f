// Package policy parses, checks and evaluates AWS IAM identity-based policy
// documents. A document is compiled once by Parse; evaluating a compiled
// Set against a request allocates nothing unless a pattern uses policy
// variables.
//
// Parse refuses what Evaluate would not decide faithfully: an unknown
// element, condition operator, condition key or policy variable is a
// *SyntaxError naming it, never silently ignored.
package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// SyntaxError says why a document is refused; its message is safe to show
// to the author (MalformedPolicyDocument).
type SyntaxError struct{ Msg string }

func (e *SyntaxError) Error() string { return e.Msg }

func errorf(format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...)}
}

// Policy is a compiled policy document.
type Policy struct {
	Statements []*Statement
	variables  bool // Version 2012-10-17: ${…} in resources and condition values are policy variables
	trust      bool // a role's trust policy: Principal required, no Resource
}

// Position is a 1-based line and column in the document.
type Position struct{ Line, Column int }

// Statement is one compiled statement.
type Statement struct {
	Sid        string
	Deny       bool
	notAction  bool
	actions    []pattern // lower-cased
	notRes     bool
	resources  []resourcePattern
	conditions []condition
	principals *principals // trust policies only
	Start, End Position
}

// Versions a document may name. Without a Version element a document is
// 2008-10-17, in which ${…} is literal text.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// MaxStatements bounds the statements of one document, so that a single
// policy cannot make every request slow.
const MaxStatements = 200

// Parse checks and compiles a JSON identity-based policy document.
func Parse(doc string) (*Policy, error) { return parse(doc, false) }

// ParseTrust checks and compiles a role's trust policy: a resource-based
// policy whose statements name a Principal and no Resource, for the sts:
// actions that take a role (sts:AssumeRole, sts:TagSession, …).
func ParseTrust(doc string) (*Policy, error) { return parse(doc, true) }

func parse(doc string, trust bool) (*Policy, error) {
	if err := checkDuplicateKeys(doc); err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := strictUnmarshal([]byte(doc), &top); err != nil || top == nil {
		return nil, errorf("Syntax errors in policy.")
	}
	p := &Policy{trust: trust}
	version := Version2008
	for k, v := range top {
		switch k {
		case "Version":
			if err := json.Unmarshal(v, &version); err != nil || (version != Version2012 && version != Version2008) {
				return nil, errorf("The policy must contain a valid version string")
			}
		case "Id":
			var id string
			if err := json.Unmarshal(v, &id); err != nil {
				return nil, errorf("Syntax errors in policy.")
			}
		case "Statement":
		default:
			return nil, errorf("Syntax errors in policy: unknown element %s.", clip(k))
		}
	}
	p.variables = version == Version2012
	raw, ok := top["Statement"]
	if !ok {
		return nil, errorf("Missing required field Statement")
	}
	base := bytes.Index([]byte(doc), raw)
	if raw = bytes.TrimSpace(raw); len(raw) > 0 && raw[0] == '{' {
		st, err := p.statement(raw)
		if err != nil {
			return nil, err
		}
		st.Start, st.End = position(doc, base), position(doc, base+len(raw)-1)
		p.Statements = append(p.Statements, st)
	} else {
		dec := json.NewDecoder(bytes.NewReader(raw))
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return nil, errorf("Syntax errors in policy.")
		}
		for dec.More() {
			start := int(dec.InputOffset())
			var one json.RawMessage
			if err := dec.Decode(&one); err != nil {
				return nil, errorf("Syntax errors in policy.")
			}
			if len(p.Statements) == MaxStatements {
				return nil, errorf("A policy may have at most %d statements.", MaxStatements)
			}
			st, err := p.statement(one)
			if err != nil {
				return nil, err
			}
			// InputOffset before Decode points at the separator or space
			// before the value; the value starts at its first byte.
			start += bytes.Index(raw[start:], one)
			st.Start, st.End = position(doc, base+start), position(doc, base+start+len(one)-1)
			p.Statements = append(p.Statements, st)
		}
	}
	if len(p.Statements) == 0 {
		return nil, errorf("Syntax errors in policy: Statement is empty.")
	}
	seen := map[string]bool{}
	for _, st := range p.Statements {
		if st.Sid == "" {
			continue
		}
		if seen[st.Sid] {
			return nil, errorf("Statement IDs (SID) in a single policy must be unique: %s", clip(st.Sid))
		}
		seen[st.Sid] = true
	}
	return p, nil
}

// checkDuplicateKeys refuses a document in which an object names a key
// twice, at any depth. encoding/json keeps the last of them, so
// {"Effect":"Deny","Effect":"Allow"} would be evaluated as an Allow while
// the stored text shows a Deny.
func checkDuplicateKeys(doc string) error {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	// One entry per open container: the keys seen, nil for an array.
	var stack []map[string]bool
	expectKey := false
	for {
		t, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return errorf("Syntax errors in policy.")
		}
		switch v := t.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, map[string]bool{})
			case '[':
				stack = append(stack, nil)
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if expectKey {
				keys := stack[len(stack)-1]
				if keys[v] {
					return errorf("Syntax errors in policy: the key %s appears twice in one object.", clip(v))
				}
				keys[v] = true
			}
		}
		// In an object, a key comes next unless this token was a key.
		expectKey = len(stack) > 0 && stack[len(stack)-1] != nil && !(expectKey && isString(t))
	}
}

func isString(t json.Token) bool { _, ok := t.(string); return ok }

// strictUnmarshal decodes one JSON value and refuses trailing data.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf("trailing data")
	}
	return nil
}

func position(doc string, off int) Position {
	if off < 0 {
		return Position{1, 1}
	}
	if off > len(doc) {
		off = len(doc)
	}
	line := 1 + strings.Count(doc[:off], "\n")
	col := off - strings.LastIndexByte(doc[:off], '\n')
	return Position{line, col}
}

func (p *Policy) statement(raw json.RawMessage) (*Statement, error) {
	var m map[string]json.RawMessage
	if err := strictUnmarshal(raw, &m); err != nil || m == nil {
		return nil, errorf("Syntax errors in policy.")
	}
	st := &Statement{}
	var haveEffect bool
	for k, v := range m {
		var err error
		switch k {
		case "Sid":
			if err = json.Unmarshal(v, &st.Sid); err != nil {
				return nil, errorf("Syntax errors in policy: Sid must be a string.")
			}
			for _, r := range st.Sid {
				if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
					return nil, errorf("Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*")
				}
			}
		case "Effect":
			var e string
			json.Unmarshal(v, &e)
			switch e {
			case "Allow":
			case "Deny":
				st.Deny = true
			default:
				return nil, errorf("Invalid effect: %s", clip(string(v)))
			}
			haveEffect = true
		case "Action", "NotAction":
			if st.actions != nil {
				return nil, errorf("Syntax errors in policy: a statement has either Action or NotAction, not both.")
			}
			st.notAction = k == "NotAction"
			st.actions, err = actions(v)
		case "Resource", "NotResource":
			if st.resources != nil {
				return nil, errorf("Syntax errors in policy: a statement has either Resource or NotResource, not both.")
			}
			st.notRes = k == "NotResource"
			st.resources, err = p.resources(v)
		case "Condition":
			st.conditions, err = p.conditions(v)
		case "Principal":
			if !p.trust {
				return nil, errorf("Policy document should not specify a principal.")
			}
			st.principals, err = parsePrincipals(v)
		case "NotPrincipal":
			if !p.trust {
				return nil, errorf("Policy document should not specify a principal.")
			}
			return nil, errorf("NotPrincipal is not supported in a trust policy; name the principals with Principal.")
		default:
			return nil, errorf("Syntax errors in policy: unknown element %s.", clip(k))
		}
		if err != nil {
			return nil, err
		}
	}
	switch {
	case !haveEffect:
		return nil, errorf("Missing required field Effect")
	case st.actions == nil:
		return nil, errorf("Missing required field Action")
	case p.trust && st.resources != nil:
		return nil, errorf("Has prohibited field Resource")
	case p.trust && st.principals == nil:
		return nil, errorf("Missing required field Principal")
	case p.trust:
		for _, a := range st.actions {
			if !strings.HasPrefix(a.text, "sts:") && a.text != "*" {
				return nil, errorf("AssumeRolePolicy policy: the action %s is not an sts: action.", clip(a.text))
			}
		}
		st.resources = []resourcePattern{{any: true}}
	case st.resources == nil:
		return nil, errorf("Missing required field Resource")
	}
	return st, nil
}

// strings decodes a string or a non-empty array of strings.
func stringList(v json.RawMessage, what string) ([]string, error) {
	var one string
	if err := json.Unmarshal(v, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(v, &many); err != nil || len(many) == 0 {
		return nil, errorf("Syntax errors in policy: %s must be a string or a non-empty array of strings.", what)
	}
	return many, nil
}

func actions(v json.RawMessage) ([]pattern, error) {
	list, err := stringList(v, "Action")
	if err != nil {
		return nil, err
	}
	out := make([]pattern, 0, len(list))
	for _, a := range list {
		if a != "*" {
			svc, name, ok := strings.Cut(a, ":")
			if !ok || svc == "" || name == "" || !isServicePrefix(svc) {
				return nil, errorf("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.: %s", clip(a))
			}
		}
		out = append(out, compilePattern(strings.ToLower(a)))
	}
	return out, nil
}

func isServicePrefix(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '*' || c == '?') {
			return false
		}
	}
	return true
}

func (p *Policy) resources(v json.RawMessage) ([]resourcePattern, error) {
	list, err := stringList(v, "Resource")
	if err != nil {
		return nil, err
	}
	out := make([]resourcePattern, 0, len(list))
	for _, r := range list {
		rp, err := p.compileResource(r)
		if err != nil {
			return nil, err
		}
		out = append(out, rp)
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}
