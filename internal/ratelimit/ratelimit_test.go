package ratelimit

import (
	"strconv"
	"testing"
	"time"
)

// TestBuckets: a key gets its burst, then a token per interval; keys do
// not share; the buckets held stay bounded, dropping refilled ones first.
func TestBuckets(t *testing.T) {
	at := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	l := New(Rate{Burst: 3, Every: 10 * time.Second})
	for i := range 3 {
		if !l.Take("a", at) {
			t.Fatalf("take %d of a burst of 3 refused", i+1)
		}
	}
	if l.Take("a", at) {
		t.Fatal("a fourth at once allowed")
	}
	if !l.Take("b", at) {
		t.Fatal("another key shares the first's bucket")
	}
	if l.Take("a", at.Add(9*time.Second)) {
		t.Fatal("a token back before its interval")
	}
	if !l.Take("a", at.Add(20*time.Second)) {
		t.Fatal("no token back after its interval")
	}
	for i := range MaxBuckets + 100 {
		l.Take(strconv.Itoa(i), at.Add(time.Minute))
	}
	if len(l.m) > MaxBuckets {
		t.Fatalf("%d buckets held, at most %d", len(l.m), MaxBuckets)
	}
}
