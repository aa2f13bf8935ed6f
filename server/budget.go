package server

import (
	"sync"
	"time"
)

// budget bounds the request-body bytes held at once, in all and per access
// key ID. Bodies are held only while they arrive and are checked; an
// attacker who knows a key's ID (no secret) but not its secret can start
// requests whose bodies never finish. Room for a new request is made by
// cutting off the oldest bodies that have been arriving for longer than
// grace: a client that sends its body promptly always finishes within it,
// while one that stalls loses its place to the next request.
type budget struct {
	mu        sync.Mutex
	used, max int64
	perKey    map[string]int64
	maxPerKey int64
	grace     time.Duration
	holds     []*hold // oldest first
}

// hold is one request's reservation.
type hold struct {
	key   string
	n     int64
	since time.Time
	cut   func() // ends the request's body read at once
	gone  bool   // cut off and given back already
}

func newBudget(max, maxPerKey int64, grace time.Duration) *budget {
	return &budget{max: max, maxPerKey: maxPerKey, grace: grace, perKey: map[string]int64{}}
}

// take reserves n bytes for key, cutting off old holds if that makes room,
// or returns nil when it cannot.
func (b *budget) take(key string, n int64, cut func()) *hold {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.max || n > b.maxPerKey {
		return nil
	}
	old := time.Now().Add(-b.grace)
	// First within the key, then across keys, oldest first.
	for i := 0; i < len(b.holds) && b.perKey[key]+n > b.maxPerKey; i++ {
		if h := b.holds[i]; h.key == key && h.since.Before(old) {
			b.release(i)
			i--
		}
	}
	for i := 0; i < len(b.holds) && b.used+n > b.max; i++ {
		if h := b.holds[i]; h.since.Before(old) {
			b.release(i)
			i--
		}
	}
	if b.used+n > b.max || b.perKey[key]+n > b.maxPerKey {
		return nil
	}
	h := &hold{key: key, n: n, since: time.Now(), cut: cut}
	b.used += n
	b.perKey[key] += n
	b.holds = append(b.holds, h)
	return h
}

// release cuts off the hold at i and gives its bytes back.
func (b *budget) release(i int) {
	h := b.holds[i]
	h.gone = true
	h.cut()
	b.forget(i)
}

func (b *budget) forget(i int) {
	h := b.holds[i]
	b.holds = append(b.holds[:i], b.holds[i+1:]...)
	b.used -= h.n
	if b.perKey[h.key] -= h.n; b.perKey[h.key] <= 0 {
		delete(b.perKey, h.key)
	}
}

// give returns what take reserved, unless it was cut off already.
func (b *budget) give(h *hold) {
	if h == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if h.gone {
		return
	}
	for i, x := range b.holds {
		if x == h {
			b.forget(i)
			return
		}
	}
}
