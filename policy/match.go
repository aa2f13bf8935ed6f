package policy

import (
	"strings"
)

// Bytes that stand for a literal '*' and '?' in an expanded pattern: the
// policy variables ${*} and ${?} produce them, so that they match only
// themselves. Neither can occur in a JSON string decoded from a policy
// (they are control characters the document pattern refuses).
const (
	litStar     = '\x00'
	litQuestion = '\x01'
)

// pattern is a glob with '*' (any run, also empty) and '?' (one byte).
type pattern struct {
	text    string
	literal bool   // no wildcard: compare whole
	prefix  string // for a glob, the text before its first wildcard
}

func compilePattern(s string) pattern {
	i := strings.IndexAny(s, "*?")
	if i < 0 {
		return pattern{text: s, literal: true}
	}
	return pattern{text: s, prefix: s[:i]}
}

// match reports whether s matches p; with fold, s is compared ASCII
// case-insensitively against a lower-case pattern. Most patterns a request
// meets do not match it, so the literal prefix is checked first.
func (p *pattern) match(s string, fold bool) bool {
	if p.literal {
		if fold {
			return len(s) == len(p.text) && strings.EqualFold(s, p.text)
		}
		return p.text == s
	}
	n := len(p.prefix)
	if len(s) < n {
		return false
	}
	if fold && !strings.EqualFold(s[:n], p.prefix) || !fold && s[:n] != p.prefix {
		return false
	}
	return glob(p.text[n:], s[n:], fold)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// glob matches s against pattern p in linear time: on a mismatch it
// backtracks only to the last '*'.
func glob(p, s string, fold bool) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		if pi < len(p) {
			c := p[pi]
			switch c {
			case '*':
				star, mark = pi, si
				pi++
				continue
			case '?':
				pi++
				si++
				continue
			case litStar:
				c = '*'
			case litQuestion:
				c = '?'
			}
			b := s[si]
			if fold {
				b = lower(b)
			}
			if c == b {
				pi++
				si++
				continue
			}
		}
		if star < 0 {
			return false
		}
		pi = star + 1
		mark++
		si = mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchARN matches an ARN against an ARN pattern segment by segment, as
// IAM does: the first five colon-separated segments match separately, so
// a '*' in one never spans a ':'; the sixth (the resource) takes the rest.
func matchARN(p, arn string) bool {
	for i := 0; i < 5; i++ {
		ps, prest, pok := strings.Cut(p, ":")
		as, arest, aok := strings.Cut(arn, ":")
		if !pok || !aok {
			return false
		}
		if !glob(ps, as, false) {
			return false
		}
		p, arn = prest, arest
	}
	return glob(p, arn, false)
}
