-- Cases, the append-only event log, and idempotency keys (PostgreSQL).

CREATE TABLE cases (
    id                  UUID PRIMARY KEY,                  -- UUIDv7, sorts by creation time
    municipality        TEXT NOT NULL,
    first_sick_day      DATE NOT NULL,
    employment_status   TEXT NOT NULL,
    employer_reference  TEXT,
    citizen_reference   TEXT NOT NULL,
    state               TEXT NOT NULL,
    category            TEXT,                              -- current visitation category: 1, 2, 3
    facts               JSONB NOT NULL,                       -- kia_domain::facts::CaseFacts as JSON
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    version             BIGINT NOT NULL
);

CREATE INDEX cases_municipality_state ON cases (municipality, state, id);
CREATE INDEX cases_state ON cases (state, id);

-- Every state change appends here in the same transaction. Writers take a transaction-scoped
-- advisory lock before they draw a position, so positions become visible in the order they were
-- drawn and a reader that remembers its last position never skips a row committed late.
CREATE TABLE events (
    position       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_type    TEXT NOT NULL,
    stream_id      TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    municipality   TEXT,
    payload        JSONB NOT NULL,
    recorded_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX events_stream ON events (stream_type, stream_id, position);

-- AIP-155 request ids: a retried create returns the first result.
CREATE TABLE idempotency_keys (
    scope          TEXT NOT NULL,
    request_id     TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, request_id)
);

-- Leases split periodic work (sweeps) between replicas: a replica claims a lease by name for a
-- while; another may take it over once it expired (its holder died or hung).
CREATE TABLE leases (
    name           TEXT PRIMARY KEY NOT NULL,
    holder         TEXT NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL
);
