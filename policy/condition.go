package policy

import (
	"encoding/json"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// opFamily groups condition operators that compare the same way.
type opFamily uint8

const (
	famStringEquals opFamily = iota
	famStringEqualsIgnoreCase
	famStringLike
	famNumeric
	famDate
	famBool
	famIP
	famARNEquals
	famARNLike
	famNull
)

type cmp uint8

const (
	cmpEq cmp = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

type operator struct {
	fam    opFamily
	negate bool
	cmp    cmp
}

// operators are the condition operators iamd evaluates; each also has an
// …IfExists form (except Null).
var operators = map[string]operator{
	"StringEquals":              {famStringEquals, false, cmpEq},
	"StringNotEquals":           {famStringEquals, true, cmpEq},
	"StringEqualsIgnoreCase":    {famStringEqualsIgnoreCase, false, cmpEq},
	"StringNotEqualsIgnoreCase": {famStringEqualsIgnoreCase, true, cmpEq},
	"StringLike":                {famStringLike, false, cmpEq},
	"StringNotLike":             {famStringLike, true, cmpEq},
	"NumericEquals":             {famNumeric, false, cmpEq},
	"NumericNotEquals":          {famNumeric, true, cmpEq},
	"NumericLessThan":           {famNumeric, false, cmpLt},
	"NumericLessThanEquals":     {famNumeric, false, cmpLe},
	"NumericGreaterThan":        {famNumeric, false, cmpGt},
	"NumericGreaterThanEquals":  {famNumeric, false, cmpGe},
	"DateEquals":                {famDate, false, cmpEq},
	"DateNotEquals":             {famDate, true, cmpEq},
	"DateLessThan":              {famDate, false, cmpLt},
	"DateLessThanEquals":        {famDate, false, cmpLe},
	"DateGreaterThan":           {famDate, false, cmpGt},
	"DateGreaterThanEquals":     {famDate, false, cmpGe},
	"Bool":                      {famBool, false, cmpEq},
	"IpAddress":                 {famIP, false, cmpEq},
	"NotIpAddress":              {famIP, true, cmpEq},
	"ArnEquals":                 {famARNEquals, false, cmpEq},
	"ArnNotEquals":              {famARNEquals, true, cmpEq},
	"ArnLike":                   {famARNLike, false, cmpEq},
	"ArnNotLike":                {famARNLike, true, cmpEq},
	"Null":                      {famNull, false, cmpEq},
}

// OperatorNames returns the condition operators iamd evaluates.
func OperatorNames() []string {
	names := make([]string, 0, len(operators))
	for n := range operators {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// condition is one key under one operator: true when any value matches
// (for a negated operator: when none does).
type condition struct {
	op       operator
	set      setOp  // ForAnyValue:, ForAllValues:, or neither
	opName   string // as written, for Unmet
	keyName  string
	ifExists bool
	key      key
	strs     []template // string, ARN and Null operands
	nums     []float64
	times    []time.Time
	prefixes []netip.Prefix
	boolean  bool
}

// setOp is a condition's set qualifier, for keys with several values
// (aws:TagKeys, a token's amr).
type setOp uint8

const (
	setNone setOp = iota
	setAnyValue
	setAllValues
)

// keysUsable says which key types each operator family accepts.
func usable(f opFamily, t keyType) bool {
	if t == typeAny {
		return true
	}
	switch f {
	case famStringEquals, famStringEqualsIgnoreCase, famStringLike:
		return t == typeString || t == typeARN
	case famARNEquals, famARNLike:
		return t == typeARN
	case famNumeric:
		return t == typeNumeric || t == typeDate
	case famDate:
		return t == typeDate
	case famBool:
		return t == typeBool
	case famIP:
		return t == typeIP
	}
	return true // Null
}

func (p *Policy) conditions(v json.RawMessage) ([]condition, error) {
	var blocks map[string]map[string]json.RawMessage
	if err := json.Unmarshal(v, &blocks); err != nil {
		return nil, errorf("Syntax errors in policy: Condition must map operators to objects of keys and values.")
	}
	var out []condition
	for opName, keys := range blocks {
		name, ifExists := strings.CutSuffix(opName, "IfExists")
		set := setNone
		if rest, ok := strings.CutPrefix(name, "ForAnyValue:"); ok {
			name, set = rest, setAnyValue
		} else if rest, ok := strings.CutPrefix(name, "ForAllValues:"); ok {
			name, set = rest, setAllValues
		}
		op, ok := operators[name]
		if !ok || (ifExists && op.fam == famNull) || (set != setNone && op.fam == famNull) {
			return nil, errorf("Condition operator %s is not supported. Supported operators: %s (each also with IfExists, except Null; each but Null also after ForAnyValue: or ForAllValues:).",
				clip(opName), strings.Join(OperatorNames(), ", "))
		}
		for keyName, raw := range keys {
			k, ok := lookupKey(keyName)
			if !ok {
				return nil, errorf("Condition key %s is not supported. Supported keys: %s.", clip(keyName), strings.Join(KeyNames(), ", "))
			}
			if !usable(op.fam, k.typ) {
				return nil, errorf("Condition operator %s cannot be used with key %s.", clip(opName), clip(keyName))
			}
			c, err := p.condition(op, ifExists, k, raw, opName, keyName)
			if err != nil {
				return nil, err
			}
			c.set, c.opName, c.keyName = set, clip(opName), clip(keyName)
			out = append(out, c)
		}
	}
	return out, nil
}

// operands decodes a condition value: a string, number or boolean, or a
// non-empty array of them, as text.
func operands(raw json.RawMessage) ([]string, bool) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		list = []json.RawMessage{raw}
	}
	if len(list) == 0 {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, r := range list {
		var s string
		if err := json.Unmarshal(r, &s); err == nil {
			out = append(out, s)
			continue
		}
		var n json.Number
		if err := json.Unmarshal(r, &n); err == nil {
			out = append(out, n.String())
			continue
		}
		var b bool
		if err := json.Unmarshal(r, &b); err == nil {
			out = append(out, strconv.FormatBool(b))
			continue
		}
		return nil, false
	}
	return out, true
}

func (p *Policy) condition(op operator, ifExists bool, k key, raw json.RawMessage, opName, keyName string) (condition, error) {
	c := condition{op: op, ifExists: ifExists, key: k}
	vals, ok := operands(raw)
	if !ok {
		return c, errorf("Syntax errors in policy: the value of %s under %s must be a string, number or boolean, or a list of them.", clip(keyName), clip(opName))
	}
	bad := func(v string) error {
		return errorf("Invalid value %s for condition operator %s on key %s.", clip(v), clip(opName), clip(keyName))
	}
	for _, v := range vals {
		switch op.fam {
		case famStringEquals, famStringEqualsIgnoreCase, famStringLike, famARNEquals, famARNLike:
			t, err := p.compileTemplate(v)
			if err != nil {
				return c, err
			}
			c.strs = append(c.strs, t)
		case famNull, famBool:
			b, err := strconv.ParseBool(strings.ToLower(v))
			if err != nil || (strings.ToLower(v) != "true" && strings.ToLower(v) != "false") {
				return c, bad(v)
			}
			if len(vals) > 1 {
				return c, errorf("Condition operator %s on key %s takes one value.", clip(opName), clip(keyName))
			}
			c.boolean = b
		case famNumeric:
			n, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
				return c, bad(v)
			}
			c.nums = append(c.nums, n)
		case famDate:
			t, ok := parseDate(v)
			if !ok {
				return c, bad(v)
			}
			c.times = append(c.times, t)
		case famIP:
			pf, ok := parseIP(v)
			if !ok {
				return c, bad(v)
			}
			c.prefixes = append(c.prefixes, pf)
		}
	}
	return c, nil
}

// parseDate accepts the forms IAM does: ISO 8601 date-times (with or
// without seconds and fraction), a bare date, or seconds since the epoch.
func parseDate(s string) (time.Time, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func parseIP(s string) (netip.Prefix, bool) {
	if pf, err := netip.ParsePrefix(s); err == nil {
		return pf.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// eval decides the condition for a request. A key absent from the
// request makes a positive operator false and a negated one true; with
// IfExists an absent key makes either true.
func (cd *condition) eval(c *Context) bool {
	if cd.op.fam == famNull {
		_, _, ok := c.value(cd.key)
		return ok != cd.boolean // Null true: the key must be absent
	}
	if cd.set != setNone {
		return cd.evalSet(c)
	}
	present, hit := cd.match(c)
	if !present {
		return cd.ifExists || cd.op.negate
	}
	return hit != cd.op.negate
}

// evalSet decides a ForAnyValue: or ForAllValues: condition, value by
// value: ForAnyValue is true when some value of the request's passes
// (absent: false), ForAllValues when every one does (absent: true); a
// value passes a negated operator when it matches no operand.
func (cd *condition) evalSet(c *Context) bool {
	one, many, ok := c.value(cd.key)
	if !ok {
		return cd.ifExists || cd.set == setAllValues
	}
	if many == nil {
		many = []string{one}
	}
	for _, v := range many {
		pass := cd.matchText(v, c) != cd.op.negate
		if cd.set == setAnyValue && pass {
			return true
		}
		if cd.set == setAllValues && !pass {
			return false
		}
	}
	return cd.set == setAllValues
}

// match reports whether the key is present and whether any of its values
// matches any operand.
func (cd *condition) match(c *Context) (present, hit bool) {
	// Typed fast paths for the request's own values.
	if c.Values == nil {
		switch cd.key.id {
		case keySourceIP:
			if !c.SourceIP.IsValid() {
				return false, false
			}
			return true, cd.matchIP(c.SourceIP.Unmap())
		case keyCurrentTime, keyEpochTime:
			if c.CurrentTime.IsZero() {
				return false, false
			}
			if cd.op.fam == famNumeric {
				return true, cd.matchNum(float64(c.CurrentTime.Unix()))
			}
			t := c.CurrentTime
			if cd.key.id == keyEpochTime {
				t = t.Truncate(time.Second)
			}
			return true, cd.matchTime(t)
		}
	}
	return c.each(cd.key, func(v string) bool { return cd.matchText(v, c) })
}

func (cd *condition) matchText(v string, c *Context) bool {
	switch cd.op.fam {
	case famStringEquals, famStringEqualsIgnoreCase, famStringLike, famARNEquals, famARNLike:
		for i := range cd.strs {
			want, ok := cd.strs[i].expand(c)
			if !ok {
				continue
			}
			switch cd.op.fam {
			case famStringEquals, famARNEquals:
				if unescape(want) == v {
					return true
				}
			case famStringEqualsIgnoreCase:
				if strings.EqualFold(unescape(want), v) {
					return true
				}
			case famStringLike:
				if glob(want, v, false) {
					return true
				}
			case famARNLike:
				if matchARN(want, v) {
					return true
				}
			}
		}
	case famBool:
		b, err := strconv.ParseBool(strings.ToLower(v))
		return err == nil && b == cd.boolean
	case famNumeric:
		n, err := strconv.ParseFloat(v, 64)
		return err == nil && cd.matchNum(n)
	case famDate:
		t, ok := parseDate(v)
		return ok && cd.matchTime(t)
	case famIP:
		a, err := netip.ParseAddr(v)
		return err == nil && cd.matchIP(a.Unmap())
	}
	return false
}

func (cd *condition) matchIP(a netip.Addr) bool {
	for _, p := range cd.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (cd *condition) matchNum(n float64) bool {
	for _, want := range cd.nums {
		if compare(cd.op.cmp, cmpFloat(n, want)) {
			return true
		}
	}
	return false
}

func (cd *condition) matchTime(t time.Time) bool {
	for _, want := range cd.times {
		if compare(cd.op.cmp, t.Compare(want)) {
			return true
		}
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compare applies op to the sign of (request value − operand).
func compare(op cmp, sign int) bool {
	switch op {
	case cmpLt:
		return sign < 0
	case cmpLe:
		return sign <= 0
	case cmpGt:
		return sign > 0
	case cmpGe:
		return sign >= 0
	}
	return sign == 0
}
