package people

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"time"
)

// TOTP as RFC 6238 defines it and every authenticator app computes it:
// HMAC-SHA1, 30-second steps, six digits.
const (
	step   = 30 * time.Second
	digits = 1_000_000
)

// Base32 is how a seed is shown: RFC 4648 base32 without padding, as
// authenticator apps read it.
var Base32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Code returns the six-digit code of seed at time step n (RFC 4226).
func Code(seed []byte, n int64) string {
	m := hmac.New(sha1.New, seed)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(n))
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%digits)
}

// StepAt is the time step of t.
func StepAt(t time.Time) int64 { return t.Unix() / int64(step/time.Second) }

// match returns the step in [from, to] whose code is code, comparing in
// constant time, or -1.
func match(seed []byte, code string, from, to int64) int64 {
	found := int64(-1)
	for n := from; n <= to; n++ {
		if subtle.ConstantTimeCompare([]byte(Code(seed, n)), []byte(code)) == 1 && found < 0 {
			found = n
		}
	}
	return found
}
