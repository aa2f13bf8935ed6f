package server

import (
	"slices"
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
	read  bool   // the body is in: nothing left to cut off
}

func newBudget(max, maxPerKey int64, grace time.Duration) *budget {
	return &budget{max: max, maxPerKey: maxPerKey, grace: grace, perKey: map[string]int64{}}
}

// take reserves n bytes for key, cutting off old holds if that makes room,
// or returns nil when it cannot; it cuts off nothing in vain.
func (b *budget) take(key string, n int64, cut func()) *hold {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.max || n > b.maxPerKey {
		return nil
	}
	// Choose, oldest first, the holds to cut: the key's own while the key
	// is over its bound, then any while the whole is over.
	old := time.Now().Add(-b.grace)
	var victims []*hold
	used, mine := b.used, b.perKey[key]
	for _, h := range b.holds {
		if mine+n <= b.maxPerKey {
			break
		}
		if h.key == key && !h.read && h.since.Before(old) {
			victims = append(victims, h)
			used, mine = used-h.n, mine-h.n
		}
	}
	for _, h := range b.holds {
		if used+n <= b.max {
			break
		}
		if !h.read && h.since.Before(old) && !slices.Contains(victims, h) {
			victims = append(victims, h)
			used -= h.n
			if h.key == key {
				mine -= h.n
			}
		}
	}
	if used+n > b.max || mine+n > b.maxPerKey {
		return nil
	}
	for _, v := range victims {
		b.release(slices.Index(b.holds, v))
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

// arrived marks the hold's body as read: its bytes stay counted until
// give, but it is no longer cut off to make room.
func (b *budget) arrived(h *hold) {
	if h == nil {
		return
	}
	b.mu.Lock()
	h.read = true
	b.mu.Unlock()
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
