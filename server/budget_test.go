package server

import (
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	b := newBudget(100, 60, 50*time.Millisecond)
	cuts := map[string]int{}
	cut := func(name string) func() { return func() { cuts[name]++ } }
	a := b.take("k1", 40, cut("a"))
	c := b.take("k2", 40, cut("c"))
	if a == nil || c == nil {
		t.Fatal("room for both")
	}
	if b.take("k1", 30, cut("x")) != nil {
		t.Fatal("k1 passed its bound with a young hold")
	}
	if b.take("k3", 30, cut("x")) != nil {
		t.Fatal("passed the whole bound with young holds")
	}
	if b.take("k1", 61, nil) != nil || b.take("k3", 101, nil) != nil {
		t.Fatal("took more than a bound in one go")
	}
	time.Sleep(60 * time.Millisecond)
	// k1's own old hold makes room for k1 first.
	d := b.take("k1", 30, cut("d"))
	if d == nil || cuts["a"] != 1 || cuts["c"] != 0 {
		t.Fatalf("took %v, cuts %v", d != nil, cuts)
	}
	// Across keys, the oldest goes: c, not the young d.
	e := b.take("k3", 50, cut("e"))
	if e == nil || cuts["c"] != 1 || cuts["d"] != 0 {
		t.Fatalf("took %v, cuts %v", e != nil, cuts)
	}
	// A hold whose body has arrived is never cut off, however old.
	b.arrived(d)
	time.Sleep(60 * time.Millisecond)
	if b.take("k1", 60, cut("y")) != nil || cuts["d"] != 0 || cuts["e"] != 0 {
		t.Fatalf("cut off a request whose body had arrived, or one in vain: %v", cuts)
	}
	b.give(a) // cut off already: nothing to give twice
	b.give(c)
	b.give(d)
	b.give(e)
	b.give(nil)
	if b.used != 0 || len(b.perKey) != 0 || len(b.holds) != 0 {
		t.Fatalf("left %d bytes, %v, %d holds", b.used, b.perKey, len(b.holds))
	}
}
