"""The audit store's statements (gateway/audit/store.py runs them; audit.sql is the schema)."""

from __future__ import annotations

__all__ = [
    "ACCESS_LOG_VIEW",
    "APPEND",
    "CLIENT_EVENTS",
    "CURRENT",
    "LAYOUT",
    "PARTITIONS",
    "STORE_ID",
    "SUBJECT_EVENTS",
    "WRITERS",
]

# The batch arrives as one jsonb array of EventRow objects (orjson encodes dataclasses and
# datetimes natively); the subject rows are derived from it server-side.
APPEND = """
WITH batch AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS b(
        writer_id text, seq bigint, "time" timestamptz, request_id text, client text, purpose text,
        case_id text, operator text, operation text, document_hash text, basis text, detail jsonb,
        subjects jsonb, denied jsonb, outcome text, response_hash text, prev_hash text, hash text)
), events AS (
    INSERT INTO audit_event (writer_id, seq, "time", request_id, client, purpose, case_id, operator,
                             operation, document_hash, basis, detail, subjects, denied, outcome,
                             response_hash, prev_hash, hash)
    SELECT writer_id, seq, "time", request_id, client, purpose, case_id, operator, operation,
           document_hash, basis, detail, subjects, denied, outcome, response_hash, prev_hash, hash
    FROM batch
    RETURNING writer_id, seq, "time", subjects
), index_rows AS (
    INSERT INTO audit_subject (subject, writer_id, seq, "time", scopes)
    SELECT s ->> 'subject', e.writer_id, e.seq, e."time",
           ARRAY(SELECT jsonb_array_elements_text(s -> 'scopes'))
    FROM events e, jsonb_array_elements(e.subjects) AS s
), head AS (
    INSERT INTO audit_writer (writer_id, last_seq, last_hash, started_at, suite)
    VALUES ($2, $3, $4, now(), $5)
    ON CONFLICT (writer_id) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash
)
SELECT count(*) FROM events
"""

# What an auditor reads: who accessed this subject, when, for what, which scopes, on what
# basis. Created after audit.sql's tables, and replaced on a store installed before it
# showed the basis (a view may gain columns at its end).
ACCESS_LOG_VIEW = """
CREATE OR REPLACE VIEW access_log AS
SELECT s.subject, e."time", e.client, e.purpose, e.case_id, e.operator, e.operation, s.scopes,
       e.outcome, e.request_id, e.writer_id, e.seq, e.basis
FROM audit_subject s
JOIN audit_event e USING (writer_id, seq, "time")
"""

# What install() finds: 'p' for the partitioned log, 'r' for one installed before it was
# partitioned (migrated then), NULL for none.
LAYOUT = "SELECT relkind::text FROM pg_class WHERE oid = to_regclass('audit_event')"

# A log installed before events recorded their basis and policy changes.
CURRENT = """
SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass('audit_event') AND attname = 'basis')
   AND EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass('audit_event') AND attname = 'detail')
"""

# Every chain the database knows of, with its head and suite where it has one (a chain whose
# head row was deleted still shows through its events or index rows). The distinct writers
# of the event and index tables are found by skipping through their (writer_id, ...)
# indexes, one probe per writer and month, not by reading billions of rows.
WRITERS = """
WITH RECURSIVE
events (id) AS (
    SELECT min(writer_id) FROM audit_event
    UNION ALL
    SELECT (SELECT min(writer_id) FROM audit_event WHERE writer_id > events.id)
    FROM events WHERE id IS NOT NULL
),
indexed (id) AS (
    SELECT min(writer_id) FROM audit_subject
    UNION ALL
    SELECT (SELECT min(writer_id) FROM audit_subject WHERE writer_id > indexed.id)
    FROM indexed WHERE id IS NOT NULL
)
SELECT w.writer_id, h.last_seq, h.last_hash, h.suite
FROM (SELECT id AS writer_id FROM events WHERE id IS NOT NULL
      UNION SELECT writer_id FROM audit_writer
      UNION SELECT id FROM indexed WHERE id IS NOT NULL) w
LEFT JOIN audit_writer h USING (writer_id)
ORDER BY 1
"""

# Months present in the database, from the partitions of audit_event.
PARTITIONS = """
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'audit_event'::regclass ORDER BY 1
"""

SUBJECT_EVENTS = """
SELECT e."time", e.client, e.purpose, e.case_id, e.operator, e.operation, s.scopes, e.outcome,
       e.request_id, e.writer_id, e.seq, e.basis, m.entry ->> 'lookup' AS lookup,
       coalesce(m.entry -> 'verdicts', '[]'::jsonb) AS verdicts
FROM audit_subject s
JOIN audit_event e USING (writer_id, seq, "time")
LEFT JOIN LATERAL (
    SELECT x AS entry FROM jsonb_array_elements(e.subjects) AS x WHERE x ->> 'subject' = s.subject LIMIT 1
) m ON true
WHERE s.subject = ANY($1::text[]) AND s."time" >= $3 AND s."time" < $4
  AND e."time" >= $3 AND e."time" < $4  -- both sides pruned to the months asked, when planned
ORDER BY e."time" DESC, e.writer_id, e.seq DESC
LIMIT $2
"""

# One client's events, policy changes included: what it read (subjects by count, never by
# hash), what it was refused, on what basis.
CLIENT_EVENTS = """
SELECT "time", client, purpose, case_id, operator, operation, outcome, request_id, writer_id, seq,
       basis, detail, jsonb_array_length(subjects) AS subjects, jsonb_array_length(denied) AS denied
FROM audit_event
WHERE client = $1
ORDER BY "time" DESC, writer_id, seq DESC
LIMIT $2
"""

# A log installed before it was partitioned: its tables step aside (their keys and indexes
# dropped, so the partitioned ones can take the names), audit.sql creates the new ones, the
# rows move month by month, then the old tables go. One transaction: all or nothing.
LEGACY_ASIDE = """
DROP VIEW IF EXISTS access_log;
ALTER TABLE audit_event DROP CONSTRAINT IF EXISTS audit_event_pkey;
DROP INDEX IF EXISTS audit_event_client;
DROP INDEX IF EXISTS audit_subject_subject;
DROP INDEX IF EXISTS audit_subject_event;
ALTER TABLE audit_event RENAME TO audit_event_legacy;
ALTER TABLE audit_subject RENAME TO audit_subject_legacy;
ALTER TABLE audit_writer ADD COLUMN IF NOT EXISTS suite text NOT NULL DEFAULT 'sha256-ed25519';
"""

LEGACY_MONTHS = 'SELECT min("time"), max("time") FROM audit_event_legacy'

LEGACY_MOVE = """
INSERT INTO audit_event (writer_id, seq, "time", request_id, client, purpose, case_id, operator,
                         operation, document_hash, basis, detail, subjects, denied, outcome,
                         response_hash, prev_hash, hash)
SELECT writer_id, seq, "time", request_id, client, purpose, case_id, operator, operation,
       document_hash, basis, detail, subjects, denied, outcome, response_hash, prev_hash, hash
FROM audit_event_legacy;
-- An index row without its event (which the verifier reports) keeps a time so it still moves.
INSERT INTO audit_subject (subject, writer_id, seq, "time", scopes)
SELECT s.subject, s.writer_id, s.seq, coalesce(e."time", now()), s.scopes
FROM audit_subject_legacy s LEFT JOIN audit_event_legacy e USING (writer_id, seq);
DROP TABLE audit_event_legacy;
DROP TABLE audit_subject_legacy;
"""

# The store's id, made once (a store installed before it had one gains it at install).
STORE_ID = """
CREATE TABLE IF NOT EXISTS audit_store (
    id         text        PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO audit_store (id) SELECT gen_random_uuid()::text WHERE NOT EXISTS (SELECT FROM audit_store);
CREATE OR REPLACE TRIGGER audit_store_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_store
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
"""
