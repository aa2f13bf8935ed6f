// Package ratelimit holds token buckets by key, in bounded memory: what
// the unauthenticated and the guessing may spend at the doors that check
// passwords and one-time codes.
package ratelimit

import (
	"sync"
	"time"
)

// Rate is a bucket's size and how often it gains a token back.
type Rate struct {
	Burst int
	Every time.Duration
}

// Limiter is token buckets by key. At most MaxBuckets are held: when
// full, buckets that have refilled are dropped first, and if none has, the
// oldest.
type Limiter struct {
	rate Rate
	mu   sync.Mutex
	m    map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// MaxBuckets bounds a Limiter's memory.
const MaxBuckets = 10000

// New returns a Limiter whose buckets hold r.Burst tokens and gain one
// every r.Every.
func New(r Rate) *Limiter { return &Limiter{rate: r, m: map[string]*bucket{}} }

// Take spends a token of key's bucket at now, and reports whether there
// was one.
func (l *Limiter) Take(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		if len(l.m) >= MaxBuckets {
			l.evict(now)
		}
		b = &bucket{tokens: float64(l.rate.Burst), at: now}
		l.m[key] = b
	}
	b.tokens = min(float64(l.rate.Burst), b.tokens+float64(now.Sub(b.at))/float64(l.rate.Every))
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *Limiter) evict(now time.Time) {
	full := time.Duration(l.rate.Burst) * l.rate.Every
	var oldest string
	var oldestAt time.Time
	for k, b := range l.m {
		if now.Sub(b.at) >= full {
			delete(l.m, k)
		} else if oldest == "" || b.at.Before(oldestAt) {
			oldest, oldestAt = k, b.at
		}
	}
	if len(l.m) >= MaxBuckets {
		delete(l.m, oldest)
	}
}
