package iamd

import (
	"io"
	"strconv"
	"strings"
)

// Access key IDs carry their account as AWS's new-generation keys do. The
// 16 characters after "AKIA" or "ASIA" are 10 bytes in base32; the first
// 6, read as a big-endian number z, have bit 47 set (the generation bit:
// AWS's older keys have it clear; iamd's before this format are random,
// so about half of them have it set and read as some account) and
// hold the account in bits 7–46: (z & 0x7fffffffff80) >> 7, the decoding
// AWS's keys are publicly known to follow (Aidan Steele, "AWS Access Key
// ID formats", 2020; Tal Be'ery, "A short note on AWS KEY ID", 2023;
// WithSecure Labs, "A bitwise analysis of AWS access key identifiers",
// 2024, for the generation bit). The other bits are random. So a key
// names its account without a lookup: GetAccessKeyInfo answers for any
// new-generation key, and a deployment of several accounts can tell which
// one a request is for from its signature alone.

// maxAccount bounds account numbers: 12 digits, which fit the 40 bits a
// key ID holds them in.
const maxAccount = 1_000_000_000_000

// newKeyID returns prefix and 16 characters carrying account; for an
// account that is not a number that fits, 16 random characters.
func newKeyID(r io.Reader, prefix, account string) (string, error) {
	b := make([]byte, 10)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	n, err := strconv.ParseUint(account, 10, 64)
	if err == nil && n < maxAccount {
		// The generation bit, the account, and 7 random bits; the 4
		// bytes after z stay random.
		z := 1<<47 | n<<7 | uint64(b[5]&0x7f)
		for i := range 6 {
			b[i] = byte(z >> (40 - 8*i))
		}
	}
	return prefix + idEncoding.EncodeToString(b), nil
}

// KeyAccount returns the account a new-generation access key ID names, by
// AWS's decoding; false for other IDs, older keys' among them. It says
// nothing of whether the key exists.
func KeyAccount(id string) (string, bool) {
	if len(id) != 20 || !strings.HasPrefix(id, "AKIA") && !strings.HasPrefix(id, "ASIA") {
		return "", false
	}
	b, err := idEncoding.DecodeString(id[4:])
	if err != nil || len(b) != 10 {
		return "", false
	}
	var z uint64
	for _, c := range b[:6] {
		z = z<<8 | uint64(c)
	}
	if z&(1<<47) == 0 {
		return "", false // an older key: its account is not in its ID
	}
	account := (z & 0x7fffffffff80) >> 7
	if account >= maxAccount {
		return "", false // 40 bits hold more than 12 digits: no account's
	}
	// 12 digits, leading zeros kept, without fmt: every request asks.
	var digits [12]byte
	for i := 11; i >= 0; i-- {
		digits[i] = byte('0' + account%10)
		account /= 10
	}
	return string(digits[:]), true
}

// IsAccountID reports whether s is an account ID: 12 digits.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
