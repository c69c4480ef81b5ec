-- Cases, the append-only event log, and idempotency keys (SQLite).

CREATE TABLE cases (
    id                  TEXT PRIMARY KEY NOT NULL,         -- UUIDv7, sorts by creation time
    municipality        TEXT NOT NULL,
    first_sick_day      TEXT NOT NULL,                     -- YYYY-MM-DD
    employment_status   TEXT NOT NULL,
    employer_reference  TEXT,
    citizen_reference   TEXT NOT NULL,
    state               TEXT NOT NULL,
    category            TEXT,                              -- current visitation category: 1, 2, 3
    facts               TEXT NOT NULL,                       -- kia_domain::facts::CaseFacts as JSON
    created_at          TEXT NOT NULL,                     -- RFC 3339, UTC
    updated_at          TEXT NOT NULL,
    version             INTEGER NOT NULL
) STRICT;

CREATE INDEX cases_municipality_state ON cases (municipality, state, id);
CREATE INDEX cases_state ON cases (state, id);

-- Every state change appends here in the same transaction. Positions only grow; SQLite has one
-- writer, so a position is visible only after every smaller one.
CREATE TABLE events (
    position       INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_type    TEXT NOT NULL,
    stream_id      TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    municipality   TEXT,
    payload        TEXT NOT NULL,                          -- JSON
    recorded_at    TEXT NOT NULL
) STRICT;

CREATE INDEX events_stream ON events (stream_type, stream_id, position);

-- AIP-155 request ids: a retried create returns the first result.
CREATE TABLE idempotency_keys (
    scope          TEXT NOT NULL,
    request_id     TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (scope, request_id)
) STRICT;

-- Leases split periodic work (sweeps) between replicas: a replica claims a lease by name for a
-- while; another may take it over once it expired (its holder died or hung).
CREATE TABLE leases (
    name           TEXT PRIMARY KEY NOT NULL,
    holder         TEXT NOT NULL,
    expires_at     TEXT NOT NULL
) STRICT;
