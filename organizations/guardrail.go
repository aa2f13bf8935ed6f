package organizations

import (
	"context"
	"sync"
	"time"

	"iamd"
	"iamd/policy"
)

// The SCPs in force, as decisions read them: the organization as last
// read, with its policies parsed, read again at most every guardFresh
// (and at once after a change through this node). While it cannot be
// read, what was read stays in force.

const guardFresh = 2 * time.Second

type guardState struct {
	mu         sync.RWMutex
	org        *Org // nil: none, or not read yet
	read       bool
	readAt     time.Time
	refreshing bool
	parsed     map[string]*policy.Policy     // policy ID → parsed content
	levels     map[string][][]*policy.Policy // account → its levels, as computed from org
}

// Guardrail returns the service control policies that bound account: a
// member account of g's organization (the management account is bound by
// none, as on AWS).
func (g *Organizations) Guardrail(account string) iamd.Guardrail {
	return guardrail{g, account}
}

type guardrail struct {
	g       *Organizations
	account string
}

// Levels returns the SCPs of the root and of the account, when SCPs are
// enabled; nil when they are not, or the account is not in the
// organization.
func (r guardrail) Levels(ctx context.Context) ([][]*policy.Policy, error) {
	gs := &r.g.guard
	// Every decision of a member account asks: what was worked out
	// already is read under the read lock.
	gs.mu.RLock()
	l, ok := gs.levels[r.account]
	fresh := gs.read && (gs.refreshing || r.g.now().Sub(gs.readAt) < guardFresh)
	gs.mu.RUnlock()
	if ok && fresh {
		return l, nil
	}
	gs.mu.Lock()
	defer gs.mu.Unlock()
	switch {
	case !gs.read:
		o, parsed, err := r.g.readGuard(ctx)
		if err != nil {
			return nil, err
		}
		gs.install(o, parsed, r.g.now())
	case !gs.refreshing && r.g.now().Sub(gs.readAt) >= guardFresh:
		// Read again meanwhile: decisions go on with what was read.
		gs.refreshing = true
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			o, parsed, err := r.g.readGuard(ctx)
			gs.mu.Lock()
			defer gs.mu.Unlock()
			gs.refreshing = false
			if err == nil && gs.read { // a failure keeps what was read
				gs.install(o, parsed, r.g.now())
			}
		}()
	}
	if l, ok := gs.levels[r.account]; ok {
		return l, nil
	}
	o := gs.org
	if o == nil || !o.enabled(SCP) || o.member(r.account) == nil {
		gs.levels[r.account] = nil
		return nil, nil
	}
	var levels [][]*policy.Policy
	for _, target := range []string{o.RootID, r.account} {
		var level []*policy.Policy
		for _, id := range o.Attached[target] {
			if p := gs.parsed[id]; p != nil {
				level = append(level, p)
			}
		}
		levels = append(levels, level) // an empty level allows nothing
	}
	gs.levels[r.account] = levels
	return levels, nil
}

// readGuard reads the organization and parses its SCPs.
func (g *Organizations) readGuard(ctx context.Context) (*Org, map[string]*policy.Policy, error) {
	o, err := g.load(ctx)
	if err == errNotInUse {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	parsed := map[string]*policy.Policy{}
	for _, p := range o.policiesOf(SCP) {
		if pp, err := policy.Parse(p.Content); err == nil { // checked when written
			parsed[p.ID] = pp
		}
	}
	return o, parsed, nil
}

// install makes o the organization decisions read; gs.mu is held.
func (gs *guardState) install(o *Org, parsed map[string]*policy.Policy, at time.Time) {
	gs.org, gs.parsed, gs.levels, gs.read, gs.readAt = o, parsed, map[string][][]*policy.Policy{}, true, at
}

// changed has the next decision read the organization again: a change
// through this node is in force at once.
func (g *Organizations) changed() {
	g.guard.mu.Lock()
	g.guard.read = false
	g.guard.mu.Unlock()
}
