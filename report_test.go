package iamd_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"iamd"
	"iamd/sqlite"
)

// BenchmarkCredentialReport100k generates the credential report of
// 100,000 users with two keys each (SQLite, normal durability) and
// reports its time, its size and the heap it grew by at most while
// generating: one streamed query, no row per user held.
func BenchmarkCredentialReport100k(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sealer, _ := iamd.NewSealer(make([]byte, 32))
	clk := &clock{time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)}
	svc, err := iamd.NewService(ctx, iamd.Config{Store: st, Sealer: sealer, Account: iamd.Account{ID: "123456789012"}, Now: clk.now, FlushInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	const users = 100_000
	var wg sync.WaitGroup
	work := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range work {
				name := fmt.Sprintf("user-%06d", i)
				if _, err := svc.CreateUser(ctx, root, name, "/", nil); err != nil {
					b.Error(err)
					return
				}
				for range 2 {
					if _, _, err := svc.CreateAccessKey(ctx, root, name); err != nil {
						b.Error(err)
						return
					}
				}
			}
		})
	}
	for i := range users {
		work <- i
	}
	close(work)
	wg.Wait()
	b.ResetTimer()
	for b.Loop() {
		clk.t = clk.t.Add(iamd.ReportLife) // every round generates anew
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		peak := before.HeapInuse
		done := make(chan struct{})
		go func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(time.Millisecond):
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					peak = max(peak, m.HeapInuse)
				}
			}
		}()
		start := time.Now()
		for {
			st, err := svc.GenerateCredentialReport(ctx, root)
			if err != nil {
				b.Fatal(err)
			}
			if st == iamd.ReportStarted {
				break // the previous round's generation may still be ending
			}
			time.Sleep(time.Millisecond)
		}
		for {
			if st, err := svc.GenerateCredentialReport(ctx, root); err == nil && st == iamd.ReportComplete {
				break
			}
			time.Sleep(time.Millisecond)
		}
		took := time.Since(start)
		r, err := svc.GetCredentialReport(ctx, root)
		if err != nil {
			b.Fatal(err)
		}
		close(done)
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(took.Seconds(), "s/report")
		b.ReportMetric(float64(len(r.Content))/(1<<20), "MiB-csv")
		b.ReportMetric(float64(peak-before.HeapInuse)/(1<<20), "MiB-peak-heap-growth")
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/users, "B-allocated/user")
	}
}
