// Package sqlite is the embedded SQLite implementation of hep.Store, the
// default storage engine of hepd (modernc.org/sqlite: pure Go, no cgo).
//
// It only remembers. Every clinical and security rule, every validation and
// the audit hash itself (hep.ChainHash) live in internal/hep; this package
// maps the Store methods onto tables, transactions and SQLite errors, and its
// behaviour is pinned by the store-agnostic conformance suite in
// internal/hep/heptest.
//
// Layout of a Store:
//
//   - One writer connection (database/sql pool of size 1) runs every
//     transaction that writes, including most audited reads: an audited
//     read writes its audit row in the same transaction. The large reads
//     (progress, triage, export snapshots) read in one transaction on a
//     reader and then commit their audit row on the writer before they
//     return anything, so a 5,000-row read never holds up a phone's push;
//     if the audit row fails, the call fails. BEGIN IMMEDIATE
//     (_txlock=immediate) takes the write lock up front, so a transaction
//     never fails half-way for want of it, and the single connection
//     serializes writers inside the process without SQLITE_BUSY.
//   - A small pool of query_only reader connections serves the un-audited
//     lookups made while authenticating and authorizing a call, those large
//     reads, and the pages of an export; in WAL mode they never wait for
//     the writer.
//
// Pragmas are per connection, so they are set in the DSN and every
// connection of both pools gets them: WAL, synchronous=FULL (a committed
// write survives power loss: a phone may forget what the server acknowledged),
// busy_timeout (other processes, such as "hepd backup", may hold the lock
// briefly) and foreign_keys.
//
// The schema lives in migrations/NNNN_name.sql, embedded, applied in order at
// Open (or by Migrate, for "hepd migrate") and recorded in schema_migrations.
//
// The clinical core (migrations/0002_clinical.sql, which also seeds the
// built-in catalog) keeps the gate's inputs and outputs: every write that
// changes an input of the gate (screening answers, clearances, the
// red-flag hold) re-gates the current plan with hep.Regate in the same
// transaction, stores each item whose state or reasons changed and appends
// the decisions, so a stored item never disagrees with
// hep.StateFor(hep.Gate(...), hold) over what is stored. SetPlan's refusal
// is the one call that commits (its decisions) although it fails: a second
// transaction after the first has rolled back.
//
// Patient sync (migrations/0003_sync.sql) keeps the phones' exercise logs
// and pain check-ins (append-only: a correction supersedes, a deletion
// sets deleted_time, and triggers keep either final), each device's
// numbered mutations (devices.last_seq, and the result first returned of
// each rejected one in device_mutations: one at or below last_seq without
// a row was applied), and each patient's change sequence: every
// transaction that changes what the patient's phones see — a push, and
// every clinical writer (plans, screening, clearances, the hold, the
// patient's time zone, a retired catalog entry) — increments
// patients.change_seq and moves the record's entry to the new value (a
// live exercise log's entry is its own exercise_logs.change_seq, so a new
// log writes one table; every other entry, a log's tombstone included, is
// in sync_state), in the same transaction, so commit order is sequence
// order and a pull, which merges the two in sequence order, never skips a
// row. Push reuses the clinical writers' own
// transaction-taking helpers (recordScreening, reportRedFlags), so a
// phone's screening report or red-flag check-in has exactly the effects of
// the clinical call. The hot statements of a push are prepared once, at
// Open, on the writer connection.
//
// Times are stored as fixed-width UTC text with nanoseconds
// (2006-01-02T15:04:05.000000000Z): exact round trips, and text order equals
// time order. Ids are UUIDv7, whose text order is creation order.
package sqlite
