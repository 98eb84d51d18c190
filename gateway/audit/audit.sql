-- The audit log: one hash chain of events per writer (gateway process). Applied by
-- gateway/audit/store.py (AuditStore.install) to an empty database or schema. The event
-- tables are partitioned by month ("time", UTC): the writer creates months ahead
-- (partitions.py), `govgraph audit archive` exports old months to files and drops them.

CREATE TABLE audit_event (
    writer_id     text        NOT NULL,     -- host-pid-random: a new chain per process start
    seq           bigint      NOT NULL CHECK (seq > 0),   -- 1, 2, 3... per writer, no gaps
    "time"        timestamptz NOT NULL,     -- the partition key
    request_id    text        NOT NULL,
    client        text        NOT NULL,
    purpose       text        NOT NULL,
    case_id       text,
    operator      text,
    operation     text,                     -- GraphQL operation name
    document_hash text        NOT NULL,     -- hex digest of the GraphQL document
    basis         text,                     -- the grant's legal basis or approval reference
    detail        jsonb,                    -- a policy change: what changed and why (NULL for accesses)
    subjects      jsonb       NOT NULL,     -- [{"subject": hmac hex, "scopes": [sorted]}]
    denied        jsonb       NOT NULL,     -- [{"path": "a.b.c", "scope": "..."}]
    outcome       text        NOT NULL CHECK (outcome IN ('ok', 'partial', 'denied', 'error')),
    response_hash text        NOT NULL,
    prev_hash     text        NOT NULL,     -- hash of seq - 1, or 64 zeros for seq 1
    hash          text        NOT NULL,     -- digest(prev_hash || canonical json of the other columns)
    PRIMARY KEY (writer_id, seq, "time")    -- a partitioned table's keys hold its partition key
) PARTITION BY RANGE ("time");

-- One client's events, newest first (the console's auditor page).
CREATE INDEX audit_event_client ON audit_event (client, "time" DESC);

-- Subject look-ups without scanning jsonb; written in the same statement as the events
-- and checked against them by the verifier. Partitioned as the events are, so a look-up
-- joins each index row to its event within one month.
CREATE TABLE audit_subject (
    subject   text        NOT NULL,         -- HMAC of the person's or enterprise's id
    writer_id text        NOT NULL,
    seq       bigint      NOT NULL,
    "time"    timestamptz NOT NULL,         -- the event's, the partition key
    scopes    text[]      NOT NULL
) PARTITION BY RANGE ("time");
CREATE INDEX audit_subject_subject ON audit_subject (subject, "time" DESC);
CREATE INDEX audit_subject_event ON audit_subject (writer_id, seq);

-- The head of each chain, upserted with every batch: deleting the newest events leaves
-- a head that points past the end of the chain. `suite` names the chain's hash, HMAC and
-- signature algorithms (suite.py), fixed when the chain begins.
CREATE TABLE IF NOT EXISTS audit_writer (
    writer_id  text        PRIMARY KEY,
    last_seq   bigint      NOT NULL,
    last_hash  text        NOT NULL,
    started_at timestamptz NOT NULL,
    suite      text        NOT NULL DEFAULT 'sha256-ed25519'
);

-- Months that left the database for archive files (archive.py): the manifest says which
-- part of each chain they held, so the chains still verify from where the database begins.
CREATE TABLE audit_archive (
    month       date        PRIMARY KEY,
    archived_at timestamptz NOT NULL DEFAULT now(),
    events      bigint      NOT NULL,
    manifest    jsonb       NOT NULL,
    manifest_digest text    NOT NULL        -- sha256 of the manifest file's bytes
);

-- Append-only: an UPDATE, DELETE or TRUNCATE by mistake is refused. Someone who disables
-- this (owner or superuser) is what the hash chain, the checkpoints and the verifier are for.
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only (% on %)', TG_OP, TG_TABLE_NAME;
END
$$;
CREATE OR REPLACE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE OR REPLACE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE OR REPLACE TRIGGER audit_subject_append_only BEFORE UPDATE OR DELETE ON audit_subject
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE OR REPLACE TRIGGER audit_subject_no_truncate BEFORE TRUNCATE ON audit_subject
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE OR REPLACE TRIGGER audit_archive_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_archive
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- What an auditor reads, the access_log view, is created by store.py after these tables.
