package policy

import (
	"strings"
	"sync"
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

// glob reports whether s matches pattern p, in which '*' matches any run
// of bytes and '?' any one byte; with fold, s is compared as if lower-cased
// (p is lower case).
//
// The pieces of p between stars have fixed lengths, so taking each at its
// leftmost occurrence is never worse than taking it later: the first piece
// must start s, the last must end it, and each middle one is searched for
// once, from where the previous one ended. No byte of s is looked at twice
// for the same piece, which makes matching linear in len(s) + len(p) for
// pieces without '?', and O(len(s)·⌈k/64⌉) for a piece of k bytes with
// '?' (a bit-parallel search), however many stars p has.
func glob(p, s string, fold bool) bool {
	first, rest, star := strings.Cut(p, "*")
	if !star {
		return len(first) == len(s) && equalPiece(first, s, fold)
	}
	if len(s) < len(first) || !equalPiece(first, s[:len(first)], fold) {
		return false
	}
	s = s[len(first):]
	last := rest
	middle := ""
	if i := strings.LastIndexByte(rest, '*'); i >= 0 {
		middle, last = rest[:i], rest[i+1:]
	}
	if len(s) < len(last) || !equalPiece(last, s[len(s)-len(last):], fold) {
		return false
	}
	s = s[:len(s)-len(last)]
	for middle != "" {
		var piece string
		piece, middle, _ = strings.Cut(middle, "*")
		if piece == "" {
			continue
		}
		i := indexPiece(s, piece, fold)
		if i < 0 {
			return false
		}
		s = s[i+len(piece):]
	}
	return true
}

// byteMatches reports whether text byte b matches pattern byte c.
func byteMatches(c, b byte, fold bool) bool {
	switch c {
	case '?':
		return true
	case litStar:
		return b == '*'
	case litQuestion:
		return b == '?'
	}
	if fold {
		b = lower(b)
	}
	return c == b
}

// equalPiece matches a star-free piece against s of the same length.
func equalPiece(piece, s string, fold bool) bool {
	for i := 0; i < len(piece); i++ {
		if !byteMatches(piece[i], s[i], fold) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// indexPiece returns the offset of the leftmost match of a star-free
// piece in s, or -1.
func indexPiece(s, piece string, fold bool) int {
	if !fold && !strings.ContainsAny(piece, "?\x00\x01") {
		return strings.Index(s, piece)
	}
	k := len(piece)
	if k > len(s) {
		return -1
	}
	// Shift-and on ⌈k/64⌉ words: bit j of d is set when piece[:j+1] ends
	// at s[i]. The table comes zeroed from the pool, and only the entries
	// the piece set are cleared again, so a piece costs O(k) to set up.
	words := (k + 63) / 64
	t := getTable(words)
	masks, anyByte, d := t.masks[:256*words], t.anyByte[:words], t.d[:words]
	for j := 0; j < k; j++ {
		setBit(masks, &anyByte[j/64], words, j/64, piece[j], uint64(1)<<(j%64), fold)
	}
	found := -1
	if words == 1 {
		var d0 uint64
		hit := uint64(1) << (k - 1)
		for i := 0; i < len(s); i++ {
			d0 = (d0<<1 | 1) & (masks[s[i]] | anyByte[0])
			if d0&hit != 0 {
				found = i - k + 1
				break
			}
		}
	} else {
		hitWord, hit := (k-1)/64, uint64(1)<<((k-1)%64)
		for i := 0; i < len(s); i++ {
			m := masks[int(s[i])*words : int(s[i])*words+words]
			for w := words - 1; w > 0; w-- {
				d[w] = (d[w]<<1 | d[w-1]>>63) & (m[w] | anyByte[w])
			}
			d[0] = (d[0]<<1 | 1) & (m[0] | anyByte[0])
			if d[hitWord]&hit != 0 {
				found = i - k + 1
				break
			}
		}
	}
	for j := 0; j < k; j++ {
		c := piece[j]
		for _, b := range [...]byte{c, upper(c), '*', '?'} {
			clear(masks[int(b)*words : int(b)*words+words])
		}
	}
	clear(anyByte)
	clear(d)
	tables.Put(t)
	return found
}

// table is indexPiece's scratch: 256 masks of some words, kept zeroed.
type table struct {
	masks, anyByte, d []uint64
}

var tables sync.Pool

func getTable(words int) *table {
	if t, ok := tables.Get().(*table); ok && len(t.anyByte) >= words {
		return t
	}
	n := max(words, 1)
	return &table{masks: make([]uint64, 256*n), anyByte: make([]uint64, n), d: make([]uint64, n)}
}

// setBit marks that pattern byte c (at word w of a table of words words
// per byte) matches, setting bit in the masks of the bytes c stands for.
func setBit(masks []uint64, anyByte *uint64, words, w int, c byte, bit uint64, fold bool) {
	switch c {
	case '?':
		*anyByte |= bit
	case litStar:
		masks['*'*words+w] |= bit
	case litQuestion:
		masks['?'*words+w] |= bit
	default:
		masks[int(c)*words+w] |= bit
		if fold {
			masks[int(upper(c))*words+w] |= bit
		}
	}
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
