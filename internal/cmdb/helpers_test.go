package cmdb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
)

// newTestService starts a CMDB on db with a fixed clock.
func newTestService(t testing.TB, db *store.DB) *Service {
	t.Helper()
	s := NewService(db, Options{Now: func() time.Time { return time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC) }})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// userCtx is a request by an operator through the API.
func userCtx() context.Context {
	return auth.WithActor(context.Background(), auth.Actor{Principal: auth.Principal{Kind: auth.ActorUser, UserID: 0, Name: "alice", Role: auth.RoleOperator}, Via: auth.ViaAPI})
}

func mustCI(t testing.TB, s *Service, typ, name string) CI {
	t.Helper()
	c, err := s.Create(userCtx(), CIInput{Type: typ, Name: name})
	if err != nil {
		t.Fatalf("create %s %s: %v", typ, name, err)
	}
	return c
}

func mustRelate(t testing.TB, s *Service, typ string, src, tgt int64) Relationship {
	t.Helper()
	r, err := s.Relate(userCtx(), RelationshipInput{Type: typ, SourceID: src, TargetID: tgt})
	if err != nil {
		t.Fatalf("relate %d %s %d: %v", src, typ, tgt, err)
	}
	return r
}

func names(refs []CIRef) string {
	out := ""
	for i, r := range refs {
		if i > 0 {
			out += ">"
		}
		out += r.Name
	}
	return out
}

func ciNames(cs []CI) string {
	out := ""
	for i, c := range cs {
		if i > 0 {
			out += ","
		}
		out += c.Name
	}
	return out
}

var _ = fmt.Sprint
