package auth

import "context"

// ActorKind says what kind of caller made a change.
type ActorKind string

// The kinds of actor the audit log records.
const (
	ActorUser   ActorKind = "user"
	ActorToken  ActorKind = "token"
	ActorSystem ActorKind = "system"
)

// Via says through which interface a change arrived.
type Via string

// The interfaces a change can come through.
const (
	ViaUI     Via = "ui"
	ViaAPI    Via = "api"
	ViaCLI    Via = "cli"
	ViaSystem Via = "system"
)

// Principal is an authenticated caller.
type Principal struct {
	Kind ActorKind
	// UserID is the user behind a session, or the owner of a token (0 for a
	// token owned by nobody, such as one made by the CLI).
	UserID int64
	// TokenID is set for API tokens.
	TokenID int64
	// Name is the username, or "token:NAME" for a token.
	Name string
	Role Role
	// MustChangePassword is set for a user whose password was generated.
	MustChangePassword bool
	// MustEnrolTwoFactor is set for a session user whose role must use
	// two-factor sign-in and who has not enrolled yet.
	MustEnrolTwoFactor bool
	// CSRF is the session's CSRF token; empty for token callers, who need none.
	CSRF string
}

// Actor is who is acting in a request or job, for authorization and audit.
type Actor struct {
	Principal
	Via       Via
	Addr      string
	RequestID string
}

type actorKey struct{}

// WithActor returns a context carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx; without one it is the system itself.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := actorIn(ctx); ok {
		return a
	}
	return SystemActor()
}

// actorIn returns the actor in ctx and whether there is one.
func actorIn(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// SystemActor is opsdeck acting on its own (bootstrap, schedulers).
func SystemActor() Actor {
	return Actor{Principal: Principal{Kind: ActorSystem, Name: "system", Role: RoleAdmin}, Via: ViaSystem}
}

// CLIActor is an operator at the server's command line; it holds admin rights
// because it holds the data folder.
func CLIActor(osUser string) Actor {
	name := "cli"
	if osUser != "" {
		name = "cli:" + osUser
	}
	return Actor{Principal: Principal{Kind: ActorSystem, Name: name, Role: RoleAdmin}, Via: ViaCLI}
}
