// Package hepclient is the patient-phone side of hep's sync protocol: the
// reference implementation a Swift or Kotlin developer can read.
//
// A phone logs exercise sessions and pain check-ins offline, for days, and
// syncs later. Nothing the server acknowledged may be lost or duplicated, and
// after a sync the phone must hold exactly what the server holds. The
// protocol is described in docs/sync.md; this package is its executable
// form, written to be ported line by line rather than to be clever.
//
// Everything the phone knows lives in one local SQLite file (WAL,
// synchronous=FULL), so that a crash at any instant leaves a state the next
// start can continue from:
//
//   - device: the device and patient ids, the token pair, the next mutation
//     sequence number, the last sequence the server acknowledged and the
//     pull cursor;
//   - outbox: the mutations not yet acknowledged, by sequence number;
//   - journal: acknowledged mutations, kept for a while so that a server
//     restored from a backup can be given them again (see Sync);
//   - rejected: mutations the server refused for good, with its reason, for
//     the app to show;
//   - records: the read model, the server's view of the patient's records
//     (logs, check-ins, plan, exercises, screening) by kind and id.
//
// A typical app:
//
//	c, err := hepclient.Dial(ctx, "hep.example.org:443", hepclient.Options{StatePath: path})
//	if !c.Enrolled() { err = c.Enroll(ctx, codeFromClinician) }
//	id, err := c.LogExercise(ctx, &hepv1.ExerciseLog{ExerciseId: "cat-cow", SetsDone: 2, RepsDone: 10})
//	res, err := c.Sync(ctx) // whenever there is a network; safe to interrupt
//	logs, err := c.Logs(ctx)
//
// The package must not depend on server internals: it speaks only the
// public protocol (proto/hep/v1), and borrows from internal/hep only the
// convergence hash, so the phone and the server compute it the same way.
package hepclient
