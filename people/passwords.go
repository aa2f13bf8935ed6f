package people

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"

	"iamd"
)

// argon2id's parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1
// lane), which a 2-core host hashes in tens of milliseconds.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
)

var b64 = base64.RawStdEncoding

// hash returns password's argon2id hash in the PHC string format.
func hash(r io.Reader, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(r, salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verify reports whether password is the one encoded, comparing the
// derived keys in constant time. A malformed encoding verifies nothing.
func verify(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<20 || t == 0 || t > 16 || p == 0 {
		return false
	}
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is verified against when a user has no password, so that an
// unknown user costs what a wrong password costs.
var dummyHash = func() string {
	h, err := hash(zeroReader{}, "no password is this")
	if err != nil {
		panic(err) // zeroReader never fails
	}
	return h
}()

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// Policy defaults, as AWS applies them.
const (
	// defaultMinimum is UpdateAccountPasswordPolicy's minimum length when
	// it is not given.
	defaultMinimum = 6
	// withoutPolicy is the length a password needs when the account has no
	// policy: AWS's default policy (8 characters, three of the four kinds).
	withoutPolicy = 8
)

// check refuses password where p (nil for the account without a policy)
// does not allow it, naming the first rule it breaks. The texts are AWS's
// as its console words them; its API's are not public.
func check(p *iamd.PasswordPolicy, user, password string) error {
	violation := func(format string, args ...any) error {
		return iamd.Errorf(iamd.PasswordPolicyViolation, format, args...)
	}
	var upper, lower, digit, symbol bool
	for _, r := range password {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		case strings.ContainsRune("!@#$%^&*()_+-=[]{}|'", r):
			symbol = true
		}
	}
	n := len([]rune(password))
	if p == nil {
		kinds := 0
		for _, k := range []bool{upper, lower, digit, symbol} {
			if k {
				kinds++
			}
		}
		switch {
		case n < withoutPolicy:
			return violation("Password should have a minimum length of %d", withoutPolicy)
		case kinds < 3:
			return violation("Password should include at least three of the following: uppercase letters, lowercase letters, numbers, and symbols")
		case strings.EqualFold(password, user):
			return violation("Password should not be identical to your user name")
		}
		return nil
	}
	min := p.MinimumPasswordLength
	if min == 0 {
		min = defaultMinimum
	}
	switch {
	case n < min:
		return violation("Password should have a minimum length of %d", min)
	case p.RequireUppercaseCharacters && !upper:
		return violation("Password should have at least one uppercase letter")
	case p.RequireLowercaseCharacters && !lower:
		return violation("Password should have at least one lowercase letter")
	case p.RequireNumbers && !digit:
		return violation("Password should have at least one number")
	case p.RequireSymbols && !symbol:
		return violation("Password should have at least one symbol")
	}
	return nil
}
