package iamd

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"io"
)

// MasterKeySize is the size of the AES-256 key that seals secrets at rest.
const MasterKeySize = 32

const sealVersion = 1

// Sealer encrypts access-key secrets for storage with AES-256-GCM. The access
// key ID is bound as additional data, so a sealed secret copied onto another
// key's row does not open.
type Sealer struct {
	aead   cipher.AEAD
	macKey []byte // derived from the master key; tags temporary key IDs
	rand   io.Reader
}

// NewSealer returns a Sealer for a 32-byte master key.
func NewSealer(masterKey []byte) (*Sealer, error) {
	if len(masterKey) != MasterKeySize {
		return nil, errors.New("master key must be 32 bytes")
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, masterKey)
	m.Write([]byte("iamd key ID tag v1"))
	return &Sealer{aead: aead, macKey: m.Sum(nil), rand: rand.Reader}, nil
}

// sessionSecret is the secret of temporary key id: derived from the master
// key, so that the session token need not carry it.
func (s *Sealer) sessionSecret(id string) string {
	m := hmac.New(sha256.New, s.macKey)
	m.Write([]byte("session secret v1 " + id))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))[:40]
}

// tag returns n base32 characters of a MAC of data under the master key.
func (s *Sealer) tag(data string, n int) string {
	m := hmac.New(sha256.New, s.macKey)
	m.Write([]byte(data))
	return idEncoding.EncodeToString(m.Sum(nil))[:n]
}

// Seal encrypts secret for the key accessKeyID: version byte, nonce, ciphertext.
func (s *Sealer) Seal(accessKeyID string, secret []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(secret)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := io.ReadFull(s.rand, out[1:]); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out[1:], secret, []byte(accessKeyID)), nil
}

// Open decrypts what Seal returned for the same access key ID.
func (s *Sealer) Open(accessKeyID string, sealed []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errors.New("sealed secret is malformed")
	}
	return s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte(accessKeyID))
}

// IDs and secrets. Base32 characters carry 5 uniform bits each, so there is
// no modulo bias; the 16 characters of a key ID are exactly 10 random bytes.
var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func randomID(r io.Reader, prefix string, n int) (string, error) {
	b := make([]byte, (n*5+7)/8)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return prefix + idEncoding.EncodeToString(b)[:n], nil
}

// NewAccessKeyID returns "AKIA" and 16 characters of [A-Z2-7] that carry
// account (see KeyAccount), or are random when account is not a number
// of 12 digits or fewer.
func NewAccessKeyID(r io.Reader, account string) (string, error) { return newKeyID(r, "AKIA", account) }

// NewUserID returns "AIDA" and 17 characters of [A-Z2-7].
func NewUserID(r io.Reader) (string, error) { return randomID(r, "AIDA", 17) }

// NewSecret returns 40 characters of [A-Za-z0-9+/]: 30 random bytes in base64.
func NewSecret(r io.Reader) (string, error) {
	b := make([]byte, 30)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// RotateMasterKey re-encrypts every secret in st from the key of old to
// the key of new, and the account's key check with it, in one
// transaction. It refuses (ErrWrongMasterKey) when old does not open the
// store. No iamd may serve st meanwhile: it would keep the old key.
// Sessions and service tokens sealed under the old key die with it.
func RotateMasterKey(ctx context.Context, st Store, old, new *Sealer) (int, error) {
	acct, err := st.Init(ctx, Account{})
	if err != nil {
		return 0, err
	}
	if text, err := old.Open(keyCheckID, acct.KeyCheck); err != nil || string(text) != keyCheckText {
		return 0, ErrWrongMasterKey
	}
	check, err := new.Seal(keyCheckID, []byte(keyCheckText))
	if err != nil {
		return 0, err
	}
	return st.RewrapSecrets(ctx, check, func(id string, sealed []byte) ([]byte, error) {
		secret, err := old.Open(id, sealed)
		if err != nil {
			return nil, &Error{Kind: Internal, Message: "the secret of " + id + " does not open with the current master key", Err: err}
		}
		return new.Seal(id, secret)
	})
}

// NewInstanceProfileID returns a new instance profile ID, AIPA….
func NewInstanceProfileID(r io.Reader) (string, error) { return randomID(r, "AIPA", 17) }
