-- 0004: clinician review. Alert triggers (so the same data never raises
-- the same alert twice), the clinic's alert and review thresholds, the
-- watermark of the daily adherence evaluation, and the indexes progress,
-- triage and the care-team alert list read through.
--
-- The conventions of 0001-0003 hold.

-- An alert's trigger names the data that raised it: "exercise_logs/ID",
-- "pain_checkins/ID", or "window/YYYY-MM-DD" (the last day of a 7-day
-- window); '' for the clinical-core kinds, which may repeat. A patient has
-- at most one alert of a kind per trigger: the store checks before it
-- raises one, and this index makes a second one impossible whatever the
-- code does (inserts say ON CONFLICT DO NOTHING). The index also answers
-- "which kinds did this record raise" (a correction does not raise them
-- again) and "is there a window alert of this kind near this day" (an
-- episode is alerted once), by range on (patient_id, kind, trigger).
ALTER TABLE alerts ADD COLUMN "trigger" TEXT NOT NULL DEFAULT '' CHECK ("trigger" = ''
	OR ("trigger" GLOB 'exercise_logs/?*' AND length("trigger") = 50)
	OR ("trigger" GLOB 'pain_checkins/?*' AND length("trigger") = 50)
	OR "trigger" GLOB 'window/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]');

CREATE UNIQUE INDEX alerts_trigger ON alerts (patient_id, kind, "trigger") WHERE "trigger" <> '';

-- The care-team alert list (ListAlerts without a patient) walks alerts
-- newest first and keeps those of the clinician's patients: by status on
-- this index (open alerts are few among many acknowledged ones), on the
-- primary key otherwise. (A clinician with a handful of patients in a
-- large clinic walks further; the 200-patient case is the one that
-- matters.) Measured on 200,000 alerts of 1,000 patients (5
-- clinicians of 200), 13% open, a page of 50, warm, p50 (p99) of 100:
--   walking newest first (this index for a status, the primary key
--   otherwise) and keeping the care team's: open 0.35 ms (0.8), any 0.33
--   (0.5), open RED_FLAG 1.5 (2.8), acknowledged PAIN_WORSENING 1.4 (2.4);
--   the care team's patients first (alerts_patient_status, or the
--   suggested (status, patient_id, id), which gives the same plan), then
--   sorted: open 1.7 ms (3.5), any 1.7 (4.2), open RED_FLAG 6.2 (10.6),
--   acknowledged PAIN_WORSENING 10.3 (17.1): it reads every matching alert
--   of the 200 patients for each page.
CREATE INDEX alerts_status ON alerts (status, id);

-- The clinic's thresholds (hep.Thresholds): one row, absent until a
-- clinician or admin sets them (absent = hep.DefaultThresholds). The CHECKs
-- are hep.Thresholds.Validate's ranges.
CREATE TABLE clinic_settings (
	id                    INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	severe_pain           INTEGER NOT NULL CHECK (severe_pain BETWEEN 1 AND 10),
	flare_increase        INTEGER NOT NULL CHECK (flare_increase BETWEEN 1 AND 10),
	worsening_increase    REAL    NOT NULL CHECK (worsening_increase BETWEEN 0.5 AND 10),
	non_adherence_percent INTEGER NOT NULL CHECK (non_adherence_percent BETWEEN 1 AND 100),
	adherent_percent      INTEGER NOT NULL CHECK (adherent_percent BETWEEN 1 AND 100),
	mcid_points           REAL    NOT NULL CHECK (mcid_points BETWEEN 0.5 AND 10),
	mcid_percent          INTEGER NOT NULL CHECK (mcid_percent BETWEEN 1 AND 100),
	inactive_days         INTEGER NOT NULL CHECK (inactive_days BETWEEN 1 AND 90),
	updated_by            TEXT    NOT NULL CHECK (updated_by <> ''),
	update_time           TEXT    NOT NULL CHECK (update_time GLOB '????-??-??T??:??:??.?????????Z')
) STRICT;

-- The last patient's day (YYYY-MM-DD, in the patient's zone) whose 7-day
-- window EvaluateAdherence has looked at; NULL: never.
ALTER TABLE patients ADD COLUMN adherence_checked_through TEXT
	CHECK (adherence_checked_through GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]');

-- Progress reads one patient's live logs over a range of corrected perform
-- time, and only these columns of them. The index that ListExerciseLogs
-- pages through becomes covering for that read: same key, same condition,
-- the columns progress needs at the end. Replacing it rather than adding
-- an index keeps a new log at three index writes (primary key, this,
-- exercise_logs_seq).
--
-- The index's key is the old one; the columns after it make it covering,
-- deleted_time and superseded_by included (always NULL here): SQLite
-- counts a partial index's condition columns as columns the query needs,
-- and without them reads every row from the table anyway.
--
-- Measured (1,000,000 live logs of 200 patients written day by day,
-- round-robin, as phones sync; one patient's 5,000 logs, the columns
-- progress reads; 2 vCPU VM, medians over 600 queries):
--   SQL aggregate of the rows: plain index 5.2-5.5 ms, covering 1.6 ms;
--   read into Go values: plain 10.5-11.2 ms, covering 6.3 ms (4.0 ms
--   scanning into any and parsing times by hand, as review.go does);
--   cold (the file's pages dropped from the OS cache, fresh connection):
--   plain 90-140 ms, covering 14-28 ms;
--   ingest (500-log batches of random patients into the 1M-log file,
--   synchronous=FULL, 5 runs of 6-8 s each): plain 45-67k logs/s (median
--   57k), covering 51-64k (median 62k): no difference beyond the noise;
--   BenchmarkIngest (Push against raw inserts into the same schema, so
--   the ratio holds the push's own work, alerts included), medians per
--   shape of 6 runs: 0.62-0.68 with this migration, 0.63-0.75 without,
--   single runs 0.46-1.0 either way on a shared 2-vCPU VM; the alert
--   checks do not show in a CPU profile of Push.
DROP INDEX exercise_logs_live;
CREATE INDEX exercise_logs_live ON exercise_logs
	(patient_id, corrected_perform_time, id, exercise_id, pain_before, pain_after, item_suspended, deleted_time, superseded_by)
	WHERE deleted_time IS NULL AND superseded_by IS NULL;

-- Check-ins: the same for progress, triage and the worsening window of
-- every new check-in (far fewer rows than logs).
DROP INDEX pain_checkins_live;
CREATE INDEX pain_checkins_live ON pain_checkins (patient_id, corrected_record_time, id, score, deleted_time, superseded_by)
	WHERE deleted_time IS NULL AND superseded_by IS NULL;

-- When each item of a plan version was SUSPENDED follows from the
-- decisions that changed its state (hep.SuspensionIntervals): read by
-- patient and version range, in decision order, for progress, triage and
-- the adherence evaluation. Decisions are rare writes.
CREATE INDEX gating_decisions_transitions ON gating_decisions
	(patient_id, plan_version, exercise_id, decide_time, id, previous_state, new_state)
	WHERE previous_state <> '' AND previous_state <> new_state;
