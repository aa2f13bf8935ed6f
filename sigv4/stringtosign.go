package sigv4

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// ParseStringToSign reads a SigV4 string to sign as another service built
// it (Keystone's s3tokens carries one): the algorithm line, the request
// time, the scope and the canonical request's hash. It returns the Auth
// those lines describe, without AccessKeyID or Signature, or an error for
// anything but exactly four well-formed lines. It does not check the time.
func ParseStringToSign(sts []byte) (*Auth, error) {
	lines := bytes.Split(sts, []byte("\n"))
	if len(lines) != 4 || string(lines[0]) != algorithm {
		return nil, errorf(CodeIncomplete, "The string to sign is not an AWS4-HMAC-SHA256 string to sign.")
	}
	t, err := time.Parse(amzDate, string(lines[1]))
	if err != nil || len(lines[1]) != len(amzDate) {
		return nil, errorf(CodeIncomplete, "The string to sign has no valid ISO-8601 request time.")
	}
	scope := bytes.Split(lines[2], []byte("/"))
	if len(scope) != 4 || string(scope[3]) != terminator || len(scope[1]) == 0 || len(scope[2]) == 0 {
		return nil, errorf(CodeIncomplete, "The string to sign has no valid credential scope.")
	}
	a := &Auth{
		AmzDate: string(lines[1]), Time: t,
		Date: string(scope[0]), Region: string(scope[1]), Service: string(scope[2]),
		Scope: string(lines[2]),
	}
	if a.Date != a.AmzDate[:8] {
		return nil, errorf(CodeSignatureMismatch, "Date in Credential scope does not match the request time.")
	}
	if len(lines[3]) != 64 || !isLowerHex(string(lines[3])) {
		return nil, errorf(CodeIncomplete, "The string to sign has no valid canonical request hash.")
	}
	return a, nil
}

// CheckStringToSign reports whether signature, in lower-case hex, is the
// SigV4 signature of sts under signingKey. It compares in constant time.
func CheckStringToSign(sts []byte, signature string, signingKey []byte) bool {
	m := hmac.New(sha256.New, signingKey)
	m.Write(sts)
	var want [64]byte
	hex.Encode(want[:], m.Sum(nil))
	return hmac.Equal(want[:], []byte(signature))
}
