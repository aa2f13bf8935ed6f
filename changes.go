package iamd

import (
	"context"
	"sync"
)

// Change is a change that may alter what keys may do: one key updated or
// deleted (Key), some user's policies or groups (Policies), or anything
// (All: changes may have been missed).
type Change struct {
	Key      string
	Policies bool
	All      bool
}

// changeHub fans the Service's cache invalidations out to watchers: every
// change made through this node, and those other nodes announce.
type changeHub struct {
	mu   sync.Mutex
	subs map[chan Change]struct{}
}

// WatchChanges reports changes until ctx ends. The channel is closed then,
// or as soon as the watcher falls 256 changes behind: a watcher whose
// channel closes must assume that anything changed.
func (s *Service) WatchChanges(ctx context.Context) <-chan Change {
	ch := make(chan Change, 256)
	h := &s.changes
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[chan Change]struct{}{}
	}
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	context.AfterFunc(ctx, func() { h.drop(ch) })
	return ch
}

func (h *changeHub) drop(ch chan Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

func (h *changeHub) publish(c Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- c:
		default: // behind: it must start over
			delete(h.subs, ch)
			close(ch)
		}
	}
}
