-- The audit log as installed before it was partitioned, and before events recorded their
-- basis or policy changes: what install() must move into the partitioned tables.

CREATE TABLE audit_event (
    writer_id     text        NOT NULL,     -- host-pid-random: a new chain per process start
    seq           bigint      NOT NULL CHECK (seq > 0),   -- 1, 2, 3... per writer, no gaps
    "time"        timestamptz NOT NULL,
    request_id    text        NOT NULL,
    client        text        NOT NULL,
    purpose       text        NOT NULL,
    case_id       text,
    operator      text,
    operation     text,                     -- GraphQL operation name
    document_hash text        NOT NULL,     -- hex sha256 of the GraphQL document
    subjects      jsonb       NOT NULL,     -- [{"subject": hmac hex, "scopes": [sorted]}]
    denied        jsonb       NOT NULL,     -- [{"path": "a.b.c", "scope": "..."}]
    outcome       text        NOT NULL CHECK (outcome IN ('ok', 'partial', 'denied', 'error')),
    response_hash text        NOT NULL,
    prev_hash     text        NOT NULL,     -- hash of seq - 1, or 64 zeros for seq 1
    hash          text        NOT NULL,     -- sha256(prev_hash || canonical json of the other columns)
    PRIMARY KEY (writer_id, seq)
);

-- One client's events, newest first (the console's auditor page).
CREATE INDEX audit_event_client ON audit_event (client, "time" DESC);

-- Subject look-ups without scanning jsonb; written in the same statement as the events
-- and checked against them by the verifier.
CREATE TABLE audit_subject (
    subject   text   NOT NULL,              -- HMAC of the person's or enterprise's id
    writer_id text   NOT NULL,
    seq       bigint NOT NULL,
    scopes    text[] NOT NULL
);
CREATE INDEX audit_subject_subject ON audit_subject (subject);
CREATE INDEX audit_subject_event ON audit_subject (writer_id, seq);

-- The head of each chain, upserted with every batch: deleting the newest events leaves
-- a head that points past the end of the chain.
CREATE TABLE audit_writer (
    writer_id  text        PRIMARY KEY,
    last_seq   bigint      NOT NULL,
    last_hash  text        NOT NULL,
    started_at timestamptz NOT NULL
);

-- Append-only: an UPDATE, DELETE or TRUNCATE by mistake is refused. Someone who disables
-- this (owner or superuser) is what the hash chain and the verifier are for.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only (% on %)', TG_OP, TG_TABLE_NAME;
END
$$;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_subject_append_only BEFORE UPDATE OR DELETE ON audit_subject
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_subject_no_truncate BEFORE TRUNCATE ON audit_subject
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- What an auditor reads, the access_log view, is created by store.py after these tables.
CREATE VIEW access_log AS
SELECT s.subject, e."time", e.client, e.purpose, e.case_id, e.operator, e.operation, s.scopes,
       e.outcome, e.request_id, e.writer_id, e.seq
FROM audit_subject s JOIN audit_event e USING (writer_id, seq);
