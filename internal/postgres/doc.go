// Package postgres is the PostgreSQL implementation of hep.Store, the
// scale-out storage engine of hepd: any number of stateless hepd replicas
// on one database (github.com/jackc/pgx/v5, pgxpool).
//
// It only remembers, like the SQLite store it is ported from: every
// clinical and security rule, every validation and the audit hash itself
// live in internal/hep, and its behaviour is pinned by the same
// conformance suite (internal/hep/heptest). SQL for PostgreSQL lives here
// and only here.
//
// # Shape
//
// The code keeps the SQLite store's shape (internal/sqlite), file for
// file and helper for helper (tx, read, view, queryAll, scanner, querier,
// ts, tcol, mapErr, closeRows, ...), so that a fix in one store is easy to
// carry to the other. To that end it talks database/sql over the pgx pool
// (stdlib.OpenDBFromPool): *sql.Tx, *sql.Rows and Scan as in the SQLite
// store, while pgx caches each statement per connection. Placeholders are
// $1, $2, ...; a query built piece by piece collects its arguments with
// args.add, which returns the next placeholder.
//
// The schema (migrations/) keeps the SQLite store's table and column names
// and value encodings (see migrations/0001_schema.sql): times as
// fixed-width text, JSON as text, ids as text, flags as 0/1 BIGINT (bind
// a Go bool with b2i; scanning into a bool works as it is), so that rows
// move between the engines column for column. Text is COLLATE "C".
//
// # Transactions and replicas
//
// The SQLite store relied on its single writer; here several processes
// write at once. The rules, which every file follows:
//
//   - One store method is one transaction (tx for writes, READ COMMITTED;
//     read for audited reads, a read-only REPEATABLE READ snapshot). tx
//     retries the whole function on a serialization failure (40001), a
//     deadlock (40P01), errRetry (returned by a function that hit a
//     conflict a second look resolves, such as a concurrent insert of the
//     same key) and a connection lost before COMMIT, with jittered
//     backoff, a few times; none of these surfaces as INTERNAL (they are
//     UNAVAILABLE once the retries are spent). So a transaction's function
//     must be safe to run again: it assigns its results rather than
//     appending to variables outside it.
//   - Connection failures, a server shutting down or starting and too many
//     connections are UNAVAILABLE, with nothing half-written (a failed
//     transaction rolls back; only a connection lost during COMMIT leaves
//     the outcome unknown, and every hep write is idempotent on retry).
//   - Unique violations are recognised by constraint name (isUnique, with
//     the SQLite store's "table.column" arguments).
//
// # Lock order (per patient, then the audit chain)
//
// Per-patient order: every transaction that writes a patient's data — what
// the patient's phones see (anything that bumps the change sequence), the
// clinical record, alerts, messages, read marks — first locks the
// patient's row:
//
//	SELECT ... FROM patients WHERE id = $1 FOR NO KEY UPDATE   (lockPatient)
//
// before it reads anything its decision depends on. The change sequence
// (patients.change_seq) and the message sequence are then allocated under
// that lock, which is held to commit, so for one patient sequence order is
// commit order and a pull never skips a row; and read-decide-write steps
// (SetPlan's expected version, a screening's before/after, a push's
// checks) see every earlier commit for the patient. FOR NO KEY UPDATE
// does not conflict with the KEY SHARE locks that foreign-key checks take,
// so inserts that merely reference the patient (care team, audit-free
// lookups) never wait for it. A transaction that writes several patients'
// data (retiring a catalog entry bumps every patient holding it) locks
// them in id order. A push also locks its device's row (FOR UPDATE) right
// after the patient's, so one device's mutations are numbered once. Rows
// with their own life cycle are locked where they are decided: a refresh
// token (FOR UPDATE: two replicas rotating one token at once see one
// rotation and one reuse), an enrollment code, an account being updated,
// a catalog entry being retired.
//
// The audit chains come last. Appending to a chain takes its row of
// audit_chains FOR UPDATE (lockChain) and only then reads the chain's last
// event, in a new statement and so a new snapshot: the holder is the only
// appender, seq has no gaps, and chain order is commit order across
// replicas. Every store method appends its audit row as its last write, so
// the main chain's lock is held only while the transaction commits; the
// order patient, other rows, chain lock holds everywhere, so these locks
// never deadlock with each other. The reads chain (audit_reads, the audit
// rows of calls that changed nothing) has a lock of its own: reads never
// wait for data writes, and each replica group-commits its waiting read
// rows in one transaction (reads.go).
//
// Background work runs on one replica: TryLead takes a session advisory
// lock for one round of a job.
package postgres
