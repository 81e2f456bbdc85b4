package hep

import (
	"context"
	"log/slog"
)

// Role is what a principal may do.
type Role string

// The roles. An admin manages accounts, care teams and audit but has no
// clinical access by role alone; a clinician sees care-team patients only; a
// patient principal is an enrolled device acting for one patient.
const (
	RoleAdmin     Role = "ADMIN"
	RoleClinician Role = "CLINICIAN"
	RolePatient   Role = "PATIENT"
)

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleClinician || r == RolePatient
}

// Actor is who is calling and why, as established by the transport after
// authentication. Stores read it from the context to write audit rows in the
// same transaction as the work.
type Actor struct {
	// ID is the account id (admins, clinicians) or device id (patients);
	// empty before authentication.
	ID string
	// Role is the actor's role; empty before authentication.
	Role Role
	// PatientID is the patient a device acts for (RolePatient only).
	PatientID string
	// SessionID is the session the access token belongs to.
	SessionID string
	// Action is the audited action of the call, such as "patient.get".
	Action string
	// RequestID correlates the audit row, the log line and the response.
	RequestID string
	// Peer is the caller's network address.
	Peer string
}

// LogValue keeps log lines to identifiers: an actor never carries names or
// payloads, but this makes that explicit.
func (a Actor) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", a.ID),
		slog.String("role", string(a.Role)),
		slog.String("action", a.Action),
		slog.String("request_id", a.RequestID),
	)
}

type actorKey struct{}

// WithActor returns a context carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or the zero Actor.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// SystemActorID is the actor of what hepd does on its own, such as the
// NON_ADHERENCE alerts Store.EvaluateAdherence raises when a day closes.
const SystemActorID = "system:hepd"
