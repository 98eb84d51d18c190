"""The audit store's statements (gateway/audit/store.py runs them; audit.sql is the schema)."""

from __future__ import annotations

__all__ = ["ACCESS_LOG_VIEW", "APPEND", "CLIENT_EVENTS", "CURRENT", "SUBJECT_EVENTS", "WRITERS"]

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
    RETURNING writer_id, seq, subjects
), index_rows AS (
    INSERT INTO audit_subject (subject, writer_id, seq, scopes)
    SELECT s ->> 'subject', e.writer_id, e.seq, ARRAY(SELECT jsonb_array_elements_text(s -> 'scopes'))
    FROM events e, jsonb_array_elements(e.subjects) AS s
), head AS (
    INSERT INTO audit_writer (writer_id, last_seq, last_hash, started_at)
    VALUES ($2, $3, $4, now())
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
JOIN audit_event e USING (writer_id, seq)
"""

CURRENT = """
SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass('access_log') AND attname = 'basis')
   AND EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass('audit_event') AND attname = 'detail')
   AND to_regclass('audit_event_client') IS NOT NULL
"""

WRITERS = """
SELECT writer_id FROM audit_event
UNION SELECT writer_id FROM audit_writer
UNION SELECT writer_id FROM audit_subject
ORDER BY 1
"""

SUBJECT_EVENTS = """
SELECT e."time", e.client, e.purpose, e.case_id, e.operator, e.operation, s.scopes, e.outcome,
       e.request_id, e.writer_id, e.seq, e.basis, m.entry ->> 'lookup' AS lookup,
       coalesce(m.entry -> 'verdicts', '[]'::jsonb) AS verdicts
FROM audit_subject s
JOIN audit_event e USING (writer_id, seq)
LEFT JOIN LATERAL (
    SELECT x AS entry FROM jsonb_array_elements(e.subjects) AS x WHERE x ->> 'subject' = s.subject LIMIT 1
) m ON true
WHERE s.subject = $1
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
