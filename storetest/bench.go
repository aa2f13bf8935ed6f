package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"iamd"
)

// Bench runs the store benchmarks: each operation alone, and writes from
// parallel goroutines (b.RunParallel; -cpu sets how many), which is where
// group commit shows.
func Bench(b *testing.B, open func(b *testing.B) iamd.Store) {
	ctx := context.Background()
	setup := func(b *testing.B) iamd.Store {
		s := open(b)
		b.Cleanup(func() { s.Close() })
		if _, err := s.Init(ctx, iamd.Account{ID: "123456789012", CreatedAt: ts(0), KeyCheck: []byte{1}}); err != nil {
			b.Fatal(err)
		}
		if err := s.CreateUser(ctx, &iamd.User{ID: "AIDABENCH", Name: "bob", Path: "/", CreatedAt: ts(0)}); err != nil {
			b.Fatal(err)
		}
		return s
	}
	var seq atomic.Int64
	b.Run("CreateUser", func(b *testing.B) {
		s := setup(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n := seq.Add(1)
				if err := s.CreateUser(ctx, &iamd.User{ID: fmt.Sprintf("AIDA%017d", n), Name: fmt.Sprintf("u%d", n), Path: "/", CreatedAt: ts(1)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("CreateDeleteAccessKey", func(b *testing.B) {
		s := setup(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			n := seq.Add(1)
			name := fmt.Sprintf("w%d", n)
			if err := s.CreateUser(ctx, &iamd.User{ID: fmt.Sprintf("AIDAW%016d", n), Name: name, Path: "/", CreatedAt: ts(1)}); err != nil {
				b.Fatal(err)
			}
			for pb.Next() {
				k := newKey(iamd.UserOwner(name), 1)
				if err := s.CreateAccessKey(ctx, k, 2); err != nil {
					b.Fatal(err)
				}
				if err := s.DeleteAccessKey(ctx, iamd.UserOwner(name), k.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("GetCredential", func(b *testing.B) {
		s := setup(b)
		k := newKey(iamd.UserOwner("bob"), 1)
		if err := s.CreateAccessKey(ctx, k, 2); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.GetCredential(ctx, k.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListAccessKeys", func(b *testing.B) {
		s := setup(b)
		if err := s.CreateAccessKey(ctx, newKey(iamd.UserOwner("bob"), 1), 2); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := s.ListAccessKeys(ctx, iamd.UserOwner("bob"), iamd.Page{MaxItems: 100}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListUsersPage", func(b *testing.B) {
		s := setup(b)
		for i := range 2000 {
			s.CreateUser(ctx, &iamd.User{ID: fmt.Sprintf("AIDAL%016d", i), Name: fmt.Sprintf("l%05d", i), Path: "/", CreatedAt: ts(1)})
		}
		_, deep, err := s.ListUsers(ctx, "/", iamd.Page{MaxItems: 1900})
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range []struct{ name, marker string }{{"first", ""}, {"deep", deep}} {
			b.Run(m.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, _, err := s.ListUsers(ctx, "/", iamd.Page{Marker: m.marker, MaxItems: 100}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}
