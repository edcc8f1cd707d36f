package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/store/storetest"
)

func userCtx(u User) context.Context {
	return WithActor(context.Background(), Actor{Principal: Principal{Kind: ActorUser, UserID: u.ID, Name: u.Username, Role: u.Role}, Via: ViaUI})
}

func TestCreateToken(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		clk := newClock()
		s := newService(t, db, Options{Now: clk.Now})
		owner := mustCreateUser(t, s, "pat", RoleOperator)
		ctx := userCtx(owner)
		exp := clk.Now().Add(24 * time.Hour)

		raw, tok, err := s.CreateToken(ctx, NewToken{Name: "deploy bot", Role: RoleViewer, UserID: owner.ID, ExpiresAt: &exp})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(raw, TokenPrefix) || len(raw) != len(TokenPrefix)+52 {
			t.Errorf("secret %q", raw)
		}
		if tok.ID == 0 || tok.Name != "deploy bot" || tok.Role != RoleViewer || tok.UserID != owner.ID || tok.CreatedBy != "pat" ||
			tok.Prefix != raw[:len(TokenPrefix)+6] || !tok.CreatedAt.Equal(clk.Now()) || tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(exp) {
			t.Errorf("token = %+v", tok)
		}
		got, err := s.GetToken(ctx, tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Owner != "pat" || got.Prefix != tok.Prefix || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || got.LastUsedAt != nil || got.RevokedAt != nil {
			t.Errorf("GetToken = %+v", got)
		}
		if !got.Active(clk.Now()) || got.Active(exp) {
			t.Errorf("Active wrong around expiry %v", exp)
		}

		// The secret is stored nowhere: not in the token row, not in the audit log.
		for _, q := range []string{
			`SELECT name || '|' || token_hash || '|' || prefix || '|' || role || '|' || created_by FROM api_tokens`,
			`SELECT actor_name || '|' || action || '|' || target_id || '|' || detail FROM audit_log`,
		} {
			rows, err := db.R.QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var row string
				if err := rows.Scan(&row); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(row, raw) || strings.Contains(row, raw[len(TokenPrefix):]) {
					t.Errorf("secret found in %q", row)
				}
			}
			rows.Close()
		}
		var hash string
		if err := db.R.QueryRowContext(ctx, `SELECT token_hash FROM api_tokens WHERE id = $1`, tok.ID).Scan(&hash); err != nil || hash != hashSecret(raw) {
			t.Errorf("token_hash = %q, %v", hash, err)
		}

		p, err := s.Authenticate(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		want := Principal{Kind: ActorToken, UserID: owner.ID, TokenID: tok.ID, Name: "token:deploy bot", Role: RoleViewer}
		if p != want {
			t.Errorf("Authenticate = %+v, want %+v", p, want)
		}
		es, _, _ := ListAudit(ctx, db, AuditFilter{Action: "token.create"})
		if len(es) != 1 || es[0].ActorName != "pat" || es[0].TargetID != itoa(tok.ID) || es[0].Detail != "name=deploy bot role=viewer" {
			t.Errorf("audit = %+v", es)
		}

		// A token may make tokens up to its own role, and is named as creator.
		tctx := WithActor(context.Background(), Actor{Principal: p, Via: ViaAPI})
		_, child, err := s.CreateToken(tctx, NewToken{Name: "child", Role: RoleRequester})
		if err != nil || child.CreatedBy != "token:deploy bot" {
			t.Errorf("token-made token = %+v, %v", child, err)
		}
		if _, _, err := s.CreateToken(tctx, NewToken{Name: "child2", Role: RoleOperator}); err == nil {
			t.Error("viewer token made an operator token")
		}

		list, err := s.ListTokens(ctx, 0)
		if err != nil || len(list) != 2 || list[0].ID != child.ID {
			t.Errorf("ListTokens(0) = %+v, %v", list, err)
		}
		list, err = s.ListTokens(ctx, owner.ID)
		if err != nil || len(list) != 1 || list[0].ID != tok.ID {
			t.Errorf("ListTokens(owner) = %+v, %v", list, err)
		}
		if _, err := s.GetToken(ctx, 987654); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetToken(unknown) = %v", err)
		}
	})
}

func TestCreateTokenValidation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		clk := newClock()
		s := newService(t, db, Options{Now: clk.Now})
		viewer := mustCreateUser(t, s, "quinn", RoleViewer)
		past := clk.Now().Add(-time.Second)
		now := clk.Now()
		tests := []struct {
			name  string
			ctx   context.Context
			in    NewToken
			field string
		}{
			{"name empty", adminCtx(), NewToken{Role: RoleViewer}, "name"},
			{"name blank", adminCtx(), NewToken{Name: "   ", Role: RoleViewer}, "name"},
			{"name control", adminCtx(), NewToken{Name: "a\x1bb", Role: RoleViewer}, "name"},
			{"name newline", adminCtx(), NewToken{Name: "a\nb", Role: RoleViewer}, "name"},
			{"name too long", adminCtx(), NewToken{Name: strings.Repeat("n", 101), Role: RoleViewer}, "name"},
			{"name invalid utf-8", adminCtx(), NewToken{Name: "\xff", Role: RoleViewer}, "name"},
			{"role empty", adminCtx(), NewToken{Name: "t"}, "role"},
			{"role unknown", adminCtx(), NewToken{Name: "t", Role: "owner"}, "role"},
			{"viewer makes admin token", userCtx(viewer), NewToken{Name: "t", Role: RoleAdmin, UserID: viewer.ID}, "role"},
			{"viewer makes operator token", userCtx(viewer), NewToken{Name: "t", Role: RoleOperator, UserID: viewer.ID}, "role"},
			{"anonymous makes token", WithActor(context.Background(), Actor{}), NewToken{Name: "t", Role: RoleRequester}, "role"},
			{"expiry in the past", adminCtx(), NewToken{Name: "t", Role: RoleViewer, ExpiresAt: &past}, "expires_at"},
			{"expiry now", adminCtx(), NewToken{Name: "t", Role: RoleViewer, ExpiresAt: &now}, "expires_at"},
			{"unknown owner", adminCtx(), NewToken{Name: "t", Role: RoleViewer, UserID: 4242}, "user_id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				raw, _, err := s.CreateToken(tt.ctx, tt.in)
				wantField(t, err, tt.field)
				if raw != "" {
					t.Error("secret returned with an error")
				}
			})
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM api_tokens`); n != 0 {
			t.Errorf("%d tokens made by invalid input", n)
		}
		// Without an actor in ctx the system (admin) acts: CLI and bootstrap.
		if _, tok, err := s.CreateToken(context.Background(), NewToken{Name: "svc", Role: RoleAdmin}); err != nil || tok.CreatedBy != "system" || tok.UserID != 0 {
			t.Errorf("system token = %+v, %v", tok, err)
		}
		if _, _, err := s.CreateToken(userCtx(viewer), NewToken{Name: "mine", Role: RoleViewer, UserID: viewer.ID}); err != nil {
			t.Errorf("viewer's own viewer token: %v", err)
		}
	})
}

func TestAuthenticateGarbage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		s := newService(t, db, Options{TokenCacheTTL: time.Minute})
		ctx := adminCtx()
		raw, _, err := s.CreateToken(ctx, NewToken{Name: "real", Role: RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		mustCreateUser(t, s, "rita", RoleAdmin)
		session, _, err := s.Login(ctx, "rita", testPassword, "", "")
		if err != nil {
			t.Fatal(err)
		}
		flipped := []byte(raw)
		flipped[len(flipped)-1] ^= 1
		for _, bad := range []string{
			"", " ", TokenPrefix, "odk", "ODK_" + raw[4:], raw[4:], " " + raw, raw + " ", raw + "\n", raw[:len(raw)-1], string(flipped),
			raw + raw, TokenPrefix + strings.Repeat("a", 125), TokenPrefix + strings.Repeat("a", 1<<20),
			TokenPrefix + "\x00", TokenPrefix + "\xff\xfe", TokenPrefix + "' OR '1'='1", session, "Bearer " + raw,
		} {
			if p, err := s.Authenticate(ctx, bad); !errors.Is(err, ErrUnauthenticated) || p != (Principal{}) {
				t.Errorf("Authenticate(%.20q) = %+v, %v; want ErrUnauthenticated", bad, p, err)
			}
		}
		if _, err := s.Authenticate(ctx, raw); err != nil {
			t.Errorf("the real token after garbage: %v", err)
		}
	})
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		for _, ttl := range []time.Duration{0, time.Hour} {
			clk := newClock()
			s := newService(t, db, Options{Now: clk.Now, TokenCacheTTL: ttl})
			exp := clk.Now().Add(10 * time.Minute)
			raw, _, err := s.CreateToken(adminCtx(), NewToken{Name: "short-lived", Role: RoleViewer, ExpiresAt: &exp})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Authenticate(context.Background(), raw); err != nil {
				t.Fatalf("ttl %s: fresh token: %v", ttl, err)
			}
			clk.Advance(10*time.Minute - time.Millisecond)
			if _, err := s.Authenticate(context.Background(), raw); err != nil {
				t.Errorf("ttl %s: token just before expiry: %v", ttl, err)
			}
			// The cache never outlives the token.
			clk.Advance(time.Millisecond)
			if _, err := s.Authenticate(context.Background(), raw); !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("ttl %s: expired token: %v", ttl, err)
			}
		}
	})
}

func TestRevokeToken(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		clk := newClock()
		s := newService(t, db, Options{Now: clk.Now, TokenCacheTTL: time.Hour})
		ctx := adminCtx()
		raw, tok, err := s.CreateToken(ctx, NewToken{Name: "doomed", Role: RoleOperator})
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := s.CreateToken(ctx, NewToken{Name: "bystander", Role: RoleOperator})
		if err != nil {
			t.Fatal(err)
		}
		// A second process (the CLI, another node) with its own cache.
		node2 := newService(t, db, Options{Now: clk.Now, TokenCacheTTL: time.Minute})
		for _, svc := range []*Service{s, node2} {
			for range 3 {
				if _, err := svc.Authenticate(ctx, raw); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.RevokeToken(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, raw); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("revoked, cached token: %v, want ErrUnauthenticated", err)
		}
		if _, err := s.Authenticate(ctx, other); err != nil {
			t.Errorf("bystander token: %v", err)
		}
		// The other node stops accepting it within its cache TTL.
		clk.Advance(time.Minute)
		if _, err := node2.Authenticate(ctx, raw); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("revoked token on node2 after its TTL: %v", err)
		}
		got, _ := s.GetToken(ctx, tok.ID)
		if got.RevokedAt == nil || got.Active(clk.Now()) {
			t.Errorf("revoked token record = %+v", got)
		}
		if err := s.RevokeToken(ctx, tok.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second revoke: %v, want ErrNotFound", err)
		}
		if err := s.RevokeToken(ctx, 31337); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoke unknown: %v, want ErrNotFound", err)
		}
		if got := auditActions(t, db, AuditFilter{Action: "token.revoke", TargetID: itoa(tok.ID)}); len(got) != 1 {
			t.Errorf("token.revoke rows = %v", got)
		}
	})
}

func TestTokenOwnerDemoted(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		s := newService(t, db, Options{TokenCacheTTL: time.Hour})
		mustCreateUser(t, s, "boss", RoleAdmin)
		owner := mustCreateUser(t, s, "sam", RoleAdmin)
		ctx := userCtx(owner)
		raw, _, err := s.CreateToken(ctx, NewToken{Name: "sam's", Role: RoleOperator, UserID: owner.ID})
		if err != nil {
			t.Fatal(err)
		}
		svc, _, err := s.CreateToken(ctx, NewToken{Name: "service", Role: RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct {
			role Role
			want Role
		}{
			{RoleAdmin, RoleOperator},
			{RoleOperator, RoleOperator},
			{RoleViewer, RoleViewer},
			{RoleRequester, RoleRequester},
			{RoleAdmin, RoleOperator},
		} {
			if _, err := s.UpdateUser(adminCtx(), owner.ID, UserUpdate{Role: ptr(step.role)}); err != nil {
				t.Fatal(err)
			}
			p, err := s.Authenticate(ctx, raw)
			if err != nil || p.Role != step.want {
				t.Errorf("owner %s: token role %q, %v; want %q", step.role, p.Role, err, step.want)
			}
		}
		// A token owned by nobody keeps its role.
		if p, err := s.Authenticate(ctx, svc); err != nil || p.Role != RoleAdmin || p.UserID != 0 {
			t.Errorf("service token = %+v, %v", p, err)
		}
	})
}

func TestAuthenticateCacheTTLZero(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		s := newService(t, db, Options{})
		ctx := adminCtx()
		raw, tok, err := s.CreateToken(ctx, NewToken{Name: "uncached", Role: RoleViewer})
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if p, err := s.Authenticate(ctx, raw); err != nil || p.TokenID != tok.ID {
				t.Fatalf("Authenticate = %+v, %v", p, err)
			}
		}
		if len(s.tokens.m) != 0 {
			t.Errorf("cache holds %d entries with TTL 0", len(s.tokens.m))
		}
		// A revoke by another process is seen at once.
		if err := newService(t, db, Options{}).RevokeToken(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, raw); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("after remote revoke: %v", err)
		}
	})
}

func TestFlushTokenUse(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		clk := newClock()
		s := newService(t, db, Options{Now: clk.Now, TokenCacheTTL: time.Hour})
		ctx := adminCtx()
		rawA, a, _ := s.CreateToken(ctx, NewToken{Name: "a", Role: RoleViewer})
		rawB, b, _ := s.CreateToken(ctx, NewToken{Name: "b", Role: RoleViewer})
		_, c, _ := s.CreateToken(ctx, NewToken{Name: "c", Role: RoleViewer})

		if _, err := s.Authenticate(ctx, rawA); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		if _, err := s.Authenticate(ctx, rawB); err != nil {
			t.Fatal(err)
		}
		tB := clk.Now()
		clk.Advance(time.Second)
		if _, err := s.Authenticate(ctx, rawA); err != nil { // from the cache
			t.Fatal(err)
		}
		tA := clk.Now()
		// Nothing is written on the request path.
		if got, _ := s.GetToken(ctx, a.ID); got.LastUsedAt != nil {
			t.Fatalf("last use written before flush: %v", got.LastUsedAt)
		}
		s.flushTokenUse(ctx)
		for _, want := range []struct {
			id int64
			at *time.Time
		}{{a.ID, &tA}, {b.ID, &tB}, {c.ID, nil}} {
			got, err := s.GetToken(ctx, want.id)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case want.at == nil && got.LastUsedAt != nil:
				t.Errorf("token %d: unused but LastUsedAt %v", want.id, got.LastUsedAt)
			case want.at != nil && (got.LastUsedAt == nil || !got.LastUsedAt.Equal(*want.at)):
				t.Errorf("token %d: LastUsedAt %v, want %v", want.id, got.LastUsedAt, want.at)
			}
		}
		if len(s.used) != 0 {
			t.Errorf("%d pending after flush", len(s.used))
		}
		s.flushTokenUse(ctx) // nothing pending: no-op

		// A failed flush keeps the times for the next one.
		clk.Advance(time.Second)
		if _, err := s.Authenticate(ctx, rawB); err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		s.flushTokenUse(cctx)
		s.flushTokenUse(ctx)
		if got, _ := s.GetToken(ctx, b.ID); got.LastUsedAt == nil || !got.LastUsedAt.Equal(clk.Now()) {
			t.Errorf("after failed then good flush: LastUsedAt %v, want %v", got.LastUsedAt, clk.Now())
		}
	})
}

// TestTokenCacheStaleFill covers a revoke that commits while Authenticate
// reads the token row: the row read before the revoke must not be cached
// after it.
func TestTokenCacheStaleFill(t *testing.T) {
	t.Parallel()
	c := newTokenCache(time.Hour, 10)
	now := time.Now()
	e := cachedToken{p: Principal{TokenID: 1}, until: now.Add(time.Hour)}
	h := digestSecret("odk_h")
	gen := c.generation()
	// ... the row is read here, then RevokeToken commits and drops:
	c.drop(h)
	c.put(h, e, gen)
	if _, ok := c.get(h, now); ok {
		t.Error("entry read before a drop was cached after it")
	}
	gen = c.generation()
	c.clear()
	c.put(h, e, gen)
	if _, ok := c.get(h, now); ok {
		t.Error("entry read before a clear was cached after it")
	}
	c.put(h, e, c.generation())
	if _, ok := c.get(h, now); !ok {
		t.Error("fresh entry not cached")
	}
	if _, ok := c.get(h, e.until); ok {
		t.Error("entry served at its expiry")
	}
	// A full cache starts over rather than grow.
	for i := range 25 {
		c.put(digestSecret(strings.Repeat("k", i+2)), e, c.generation())
		if len(c.m) > c.max {
			t.Fatalf("cache grew to %d", len(c.m))
		}
	}
}

// TestAuthenticateConcurrent runs Authenticate, revokes, user changes and
// flushes side by side, for the race detector.
func TestAuthenticateConcurrent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		s := newService(t, db, Options{TokenCacheTTL: time.Hour})
		ctx := adminCtx()
		owner := mustCreateUser(t, s, "tess", RoleOperator)
		var raws []string
		var ids []int64
		for i := range 8 {
			raw, tok, err := s.CreateToken(ctx, NewToken{Name: "t" + itoa(int64(i)), Role: RoleViewer, UserID: owner.ID})
			if err != nil {
				t.Fatal(err)
			}
			raws, ids = append(raws, raw), append(ids, tok.ID)
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for g := range 4 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					_, err := s.Authenticate(ctx, raws[(g+i)%len(raws)])
					if err != nil && !errors.Is(err, ErrUnauthenticated) {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Go(func() {
			for range 20 {
				s.flushTokenUse(ctx)
				time.Sleep(time.Millisecond)
			}
		})
		for i, id := range ids[:4] {
			if err := s.RevokeToken(ctx, id); err != nil {
				t.Error(err)
			}
			if _, err := s.Authenticate(ctx, raws[i]); !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("token %d accepted right after its revoke: %v", id, err)
			}
			if _, err := s.UpdateUser(ctx, owner.ID, UserUpdate{Name: ptr("n" + itoa(int64(i)))}); err != nil {
				t.Error(err)
			}
		}
		close(stop)
		wg.Wait()
		for i := range raws {
			_, err := s.Authenticate(ctx, raws[i])
			if revoked := i < 4; revoked != errors.Is(err, ErrUnauthenticated) {
				t.Errorf("token %d (revoked %v): %v", i, revoked, err)
			}
		}
	})
}
