-- The audit trail (FHIR AuditEvent), a hash chain: each record holds the hash of the one before.
-- Sequences are assigned by the appender (last + 1) under the single writer, without gaps.
CREATE TABLE audit_events (
    sequence           INTEGER PRIMARY KEY NOT NULL,
    recorded_at        TEXT NOT NULL,                     -- RFC 3339, UTC, microseconds
    organization       TEXT NOT NULL,
    organization_kind  TEXT NOT NULL,
    role               TEXT NOT NULL,
    person             TEXT,
    municipality       TEXT,
    case_id            TEXT,
    category           TEXT NOT NULL,
    action             TEXT NOT NULL,
    outcome            TEXT NOT NULL,
    purpose            TEXT NOT NULL,
    rpc                TEXT NOT NULL,
    request_id         TEXT NOT NULL,
    trace_id           TEXT NOT NULL,
    prev_hash          TEXT NOT NULL,
    hash               TEXT NOT NULL
) STRICT;

CREATE INDEX audit_events_case ON audit_events (case_id, sequence);
