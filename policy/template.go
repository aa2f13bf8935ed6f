package policy

import (
	"strings"
)

// template is text that may hold policy variables: ${aws:username},
// ${aws:PrincipalTag/team, 'none'} (with a default), and the escapes ${*},
// ${?} and ${$}, which stand for those characters taken literally.
type template struct {
	static string // the text when it has no variables
	parts  []part // otherwise
}

type part struct {
	text   string // literal text, or the default of a variable
	key    key
	isVar  bool
	hasDef bool
}

// compileTemplate parses s; in a 2008-10-17 document it is all literal.
func (p *Policy) compileTemplate(s string) (template, error) {
	if !p.variables || !strings.Contains(s, "${") {
		return template{static: s}, nil
	}
	var t template
	var lit strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			lit.WriteString(s)
			break
		}
		lit.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return template{}, errorf("The policy variable in %s is not closed.", clip(s))
		}
		body := strings.TrimSpace(s[i+2 : i+end])
		s = s[i+end+1:]
		switch body {
		case "*":
			lit.WriteByte(litStar)
			continue
		case "?":
			lit.WriteByte(litQuestion)
			continue
		case "$":
			lit.WriteByte('$')
			continue
		}
		name, def, hasDef := strings.Cut(body, ",")
		name = strings.TrimSpace(name)
		if hasDef {
			def = strings.TrimSpace(def)
			if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
				return template{}, errorf("The default value of policy variable %s must be quoted with single quotes.", clip(name))
			}
			def = def[1 : len(def)-1]
		}
		k, ok := lookupKey(name)
		if !ok {
			return template{}, errorf("Policy variable ${%s} is not supported. Supported: %s.", clip(name), strings.Join(KeyNames(), ", "))
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{text: lit.String()})
			lit.Reset()
		}
		t.parts = append(t.parts, part{key: k, isVar: true, text: def, hasDef: hasDef})
	}
	if t.parts == nil {
		return template{static: lit.String()}, nil
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, part{text: lit.String()})
	}
	return t, nil
}

// expand returns the text for c; false when a variable without a default
// has no value, in which case the element it is in matches nothing.
func (t *template) expand(c *Context) (string, bool) {
	if t.parts == nil {
		return t.static, true
	}
	var b strings.Builder
	for _, p := range t.parts {
		if !p.isVar {
			b.WriteString(p.text)
			continue
		}
		one, many, ok := c.value(p.key)
		switch {
		case ok && many != nil:
			b.WriteString(many[0])
		case ok:
			b.WriteString(one)
		case p.hasDef:
			b.WriteString(p.text)
		default:
			return "", false
		}
	}
	return b.String(), true
}

// unescape turns the literal markers back into text, for comparisons that
// have no wildcards.
func unescape(s string) string {
	if !strings.ContainsAny(s, "\x00\x01") {
		return s
	}
	return strings.NewReplacer("\x00", "*", "\x01", "?").Replace(s)
}

// resourcePattern is a Resource or NotResource entry.
type resourcePattern struct {
	any bool // "*"
	t   template
}

func (p *Policy) compileResource(s string) (resourcePattern, error) {
	if s == "*" {
		return resourcePattern{any: true}, nil
	}
	if !strings.HasPrefix(s, "arn:") || strings.Count(s, ":") < 5 {
		return resourcePattern{}, errorf("Resource %s must be in ARN format or \"*\".", clip(s))
	}
	t, err := p.compileTemplate(s)
	return resourcePattern{t: t}, err
}

// match reports whether the request's resource matches. A request resource
// of "*" (an action that names no resource) is matched only by "*".
func (r *resourcePattern) match(resource string, c *Context) bool {
	if r.any {
		return true
	}
	if resource == "*" {
		return false
	}
	p, ok := r.t.expand(c)
	return ok && matchARN(p, resource)
}
