-- The policy store: who may see what, and the applications it came from. Applied by
-- gateway/policystore/store.py (PolicyStore.install) inside its own schema, beside the audit
-- store or in a database of its own. Every change bumps policy_version and notifies
-- `govgraph_policy`, so every gateway process re-reads the policy within a second.

CREATE TABLE purpose (
    name          text PRIMARY KEY,
    title         text NOT NULL,
    legal_basis   text NOT NULL,
    introspection boolean NOT NULL DEFAULT false,
    removed_at    timestamptz                    -- left out of a later import: no longer in force
);

-- A client's settings, as its [clients.ID] table in policy.toml has them (checked by the
-- same code when the policy is built).
CREATE TABLE client (
    id         text PRIMARY KEY,
    settings   jsonb NOT NULL,
    removed_at timestamptz                       -- left out of a later import: no longer in force
);

-- An application (共享申请): a client asks a department for catalogue items, for a purpose.
CREATE TABLE application (
    id           text PRIMARY KEY,               -- GX-2026-000123
    client       text NOT NULL REFERENCES client (id),
    purpose      text NOT NULL REFERENCES purpose (name),
    department   text NOT NULL,                  -- the providing department (catalogue code)
    items        jsonb NOT NULL,                 -- the catalogue items asked for, as written
    full_scopes  text[] NOT NULL,
    masked_scopes text[] NOT NULL,
    pins         jsonb NOT NULL DEFAULT '{}',
    scenario     text NOT NULL,                  -- 应用场景
    legal_basis  text NOT NULL,
    period_days  integer NOT NULL CHECK (period_days > 0),
    sharing      text NOT NULL CHECK (sharing IN ('unconditional', 'conditional')),
    applicant    text NOT NULL,
    submitted_at timestamptz NOT NULL,
    due_at       timestamptz,                    -- conditional: the review's deadline
    state        text NOT NULL CHECK (state IN ('pending', 'approved', 'refused')),
    decided_by   text,
    decided_at   timestamptz,
    reason       text
);
CREATE SEQUENCE application_number;
CREATE INDEX application_pending ON application (department, due_at) WHERE state = 'pending';

-- A grant in force from valid_from until expires_at (never, when NULL) unless revoked. The
-- grants of one (client, purpose) add up: a scope full in one is full.
CREATE TABLE "grant" (
    id            bigserial PRIMARY KEY,
    client        text NOT NULL REFERENCES client (id),
    purpose       text NOT NULL REFERENCES purpose (name),
    full_scopes   text[] NOT NULL,
    masked_scopes text[] NOT NULL,
    pins          jsonb NOT NULL DEFAULT '{}',
    basis         text,                          -- what it rests on, recorded with every access
    application   text REFERENCES application (id),   -- the approval it comes from
    origin        text NOT NULL DEFAULT 'application' CHECK (origin IN ('import', 'application')),
    valid_from    timestamptz NOT NULL,
    expires_at    timestamptz,
    revoked_at    timestamptz,
    revoked_by    text,
    revoke_reason text,
    expiry_recorded boolean NOT NULL DEFAULT false,   -- its expiry is in the audit log
    created_by    text NOT NULL
);
CREATE INDEX grant_client ON "grant" (client, purpose);
CREATE INDEX grant_unrecorded_expiry ON "grant" (expires_at) WHERE NOT expiry_recorded AND revoked_at IS NULL;

-- Roles are grants to people: applicant for a client, reviewer for a department, auditor,
-- administrator. A person's subject is the `sub` of their identity provider's token.
CREATE TABLE person_role (
    person     text NOT NULL,
    role       text NOT NULL CHECK (role IN ('applicant', 'reviewer', 'auditor', 'administrator')),
    target     text NOT NULL DEFAULT '',         -- the client or department; '' for the others
    name       text NOT NULL DEFAULT '',
    granted_by text NOT NULL,
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (person, role, target)
);

-- One-time sign-in tickets already used (their `jti`), so a login link works once.
CREATE TABLE used_ticket (
    jti     text PRIMARY KEY,
    used_at timestamptz NOT NULL
);

CREATE TABLE policy_version (
    id         integer PRIMARY KEY CHECK (id = 1),
    version    bigint NOT NULL,
    changed_at timestamptz NOT NULL
);
INSERT INTO policy_version VALUES (1, 0, now());
