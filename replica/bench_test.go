package replica_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"iamd"
	"iamd/replica"
)

// benchUsers is the store's size for BenchmarkLoad: IAMD_BENCH_USERS users
// (default 10,000; scripts/bench sets 100,000) with two keys each, one user
// in ten with an inline policy and every user in one of 100 groups.
func benchUsers(b *testing.B) int {
	n := 10000
	if v := os.Getenv("IAMD_BENCH_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("IAMD_BENCH_USERS=%q", v)
		}
	}
	return n
}

// seed fills st with n users as benchUsers describes, 64 writers at once
// so that the store's group commit takes them in batches.
func seed(b *testing.B, st iamd.Store, n int) {
	for g := range 100 {
		if err := st.CreateGroup(ctx, &iamd.Group{ID: fmt.Sprintf("AGPA%017d", g), Name: fmt.Sprintf("group-%d", g), Path: "/", CreatedAt: time.Unix(1, 0)}); err != nil {
			b.Fatal(err)
		}
		if err := st.PutInlinePolicy(ctx, iamd.Entity{Kind: iamd.EntityGroup, Name: fmt.Sprintf("group-%d", g)}, "g", doc, 5120); err != nil {
			b.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			for i := range work {
				name := fmt.Sprintf("user-%07d", i)
				err := st.CreateUser(ctx, &iamd.User{ID: fmt.Sprintf("AIDA%017d", i), Name: name, Path: "/", CreatedAt: time.Unix(2, 0)})
				for k := range 2 {
					if err == nil {
						err = st.CreateAccessKey(ctx, &iamd.AccessKey{ID: fmt.Sprintf("AKIA%015d%01d", i, k), Owner: iamd.UserOwner(name), Status: iamd.StatusActive,
							CreatedAt: time.Unix(3, 0), SealedSecret: make([]byte, 56)}, 2)
					}
				}
				if err == nil {
					err = st.AddUserToGroup(ctx, fmt.Sprintf("group-%d", i%100), name, 10)
				}
				if err == nil && i%10 == 0 {
					err = st.PutInlinePolicy(ctx, iamd.Entity{Kind: iamd.EntityUser, Name: name}, "u", doc, 2048)
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// BenchmarkLoad is a node's start: its replica loaded from the database
// (a new node, or one whose snapshot is gone) and from its snapshot file
// (a restart). It reports the replica's live heap after a collection
// (heap-MB); scripts/bench reads the server's resident memory.
func BenchmarkLoad(b *testing.B) {
	n := benchUsers(b)
	dir := b.TempDir()
	st := openStore(b, filepath.Join(dir, "iamd.db"))
	t0 := time.Now()
	seed(b, st, n)
	b.Logf("seeded %d users, %d keys in %v", n, 2*n, time.Since(t0).Truncate(time.Millisecond))
	snap := filepath.Join(dir, "replica.snapshot")
	b.Run("database", func(b *testing.B) {
		var r *replica.Replica
		before := heap()
		for b.Loop() {
			var err error
			if r, err = replica.Open(ctx, replica.Config{Log: st}); err != nil {
				b.Fatal(err)
			}
		}
		report(b, r, before)
	})
	// The snapshot is written when a replica with a file closes.
	r, err := replica.Open(ctx, replica.Config{Log: st, Path: snap})
	if err != nil {
		b.Fatal(err)
	}
	r.Close()
	b.Run("snapshot", func(b *testing.B) {
		var r *replica.Replica
		before := heap()
		for b.Loop() {
			var err error
			if r, err = replica.Open(ctx, replica.Config{Log: st, Path: snap}); err != nil {
				b.Fatal(err)
			}
		}
		report(b, r, before)
	})
	if fi, err := os.Stat(snap); err == nil {
		b.Logf("snapshot file: %.1f MB", float64(fi.Size())/1e6)
	}
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func report(b *testing.B, r *replica.Replica, before uint64) {
	b.StopTimer()
	if _, err := r.GetCredential(ctx, "AKIA0000000000000011"); err != nil {
		b.Fatal(err)
	}
	if after := heap(); after > before {
		b.ReportMetric(float64(after-before)/1e6, "heap-MB")
	}
	runtime.KeepAlive(r)
}
