package iamd

import (
	"bytes"
	"crypto/rand"
	"regexp"
	"strings"
	"testing"
)

func TestIDFormats(t *testing.T) {
	reKey := regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`)
	reUser := regexp.MustCompile(`^AIDA[A-Z2-7]{17}$`)
	reSecret := regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`)
	seen := map[string]bool{}
	chars := map[rune]int{}
	for range 2000 {
		k, _ := NewAccessKeyID(rand.Reader, "") // random: no account to carry
		u, _ := NewUserID(rand.Reader)
		s, _ := NewSecret(rand.Reader)
		if !reKey.MatchString(k) || !reUser.MatchString(u) || !reSecret.MatchString(s) {
			t.Fatalf("bad format: %q %q %q", k, u, s)
		}
		if seen[k] {
			t.Fatalf("duplicate key ID %s", k)
		}
		seen[k] = true
		for _, c := range k[4:] {
			chars[c]++
		}
	}
	// 32 000 characters over 32 symbols: each about 1000 times. A biased
	// mapping (e.g. byte % 26 over letters) would starve or flood some.
	if len(chars) != 32 {
		t.Fatalf("key IDs use %d distinct characters, want all 32", len(chars))
	}
	for c, n := range chars {
		if n < 800 || n > 1200 {
			t.Fatalf("character %c appears %d times of ~1000", c, n)
		}
	}
}

func TestSealer(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	sealed, err := s.Seal("AKIAAAAAAAAAAAAAAAAA", secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed secret holds the plaintext")
	}
	again, _ := s.Seal("AKIAAAAAAAAAAAAAAAAA", secret)
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals are equal: nonce reused")
	}
	got, err := s.Open("AKIAAAAAAAAAAAAAAAAA", sealed)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open("AKIABBBBBBBBBBBBBBBB", sealed); err == nil {
		t.Fatal("opened under another key ID")
	}
	bad := bytes.Clone(sealed)
	bad[len(bad)-1] ^= 1
	if _, err := s.Open("AKIAAAAAAAAAAAAAAAAA", bad); err == nil {
		t.Fatal("opened a tampered seal")
	}
	other, _ := NewSealer(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open("AKIAAAAAAAAAAAAAAAAA", sealed); err == nil {
		t.Fatal("opened with another master key")
	}
	for _, short := range [][]byte{nil, {1}, sealed[:10]} {
		if _, err := s.Open("AKIAAAAAAAAAAAAAAAAA", short); err == nil {
			t.Fatalf("opened %x", short)
		}
	}
	if _, err := NewSealer(key[:16]); err == nil {
		t.Fatal("accepted a 16-byte master key")
	}
}

func TestErrorKinds(t *testing.T) {
	err := UserNotFound("bob")
	if !strings.Contains(err.Error(), "bob cannot be found") || KindOf(err) != NotFound {
		t.Fatalf("%v", err)
	}
	if KindOf(errorsNew("x")) != Internal || MessageOf(errorsNew("x")) != "" {
		t.Fatal("unknown errors must be Internal without a client message")
	}
}

type plainErr string

func (e plainErr) Error() string { return string(e) }

func errorsNew(s string) error { return plainErr(s) }

func TestNewUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id, err := NewUUID(rand.Reader)
		if err != nil || !re.MatchString(id) || seen[id] {
			t.Fatalf("NewUUID = %q, %v", id, err)
		}
		seen[id] = true
	}
}
