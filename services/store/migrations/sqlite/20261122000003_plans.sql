-- The shared case plan (SQLite): the current plan as JSON with a version column, its change
-- records (the history every earlier state is rebuilt from), and who else may read or update it.

CREATE TABLE plans (
    case_id        TEXT PRIMARY KEY NOT NULL REFERENCES cases (id),  -- one plan per case
    municipality   TEXT NOT NULL,                     -- the owning jobcentre's municipality
    kind           TEXT NOT NULL,
    stage          TEXT NOT NULL,
    document       TEXT NOT NULL,                     -- kia_domain::plan::Plan as JSON
    created_at     TEXT NOT NULL,                     -- RFC 3339, UTC
    updated_at     TEXT NOT NULL,
    version        INTEGER NOT NULL
) STRICT;

-- Append-only: one row per change record, version 1 = the creation.
CREATE TABLE plan_changes (
    case_id        TEXT NOT NULL REFERENCES plans (case_id),
    version        INTEGER NOT NULL,
    recorded_at    TEXT NOT NULL,                     -- the record's own instant (RFC 3339)
    record         TEXT NOT NULL,                     -- kia_domain::plan::ChangeRecord as JSON
    PRIMARY KEY (case_id, version)
) STRICT;

-- Access an organisation outside the jobcentre holds to one plan, until it expires.
CREATE TABLE plan_grants (
    case_id        TEXT NOT NULL REFERENCES plans (case_id),
    organisation   TEXT NOT NULL,
    access         TEXT NOT NULL,                     -- read | read_update
    purpose        TEXT NOT NULL,
    granted_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    PRIMARY KEY (case_id, organisation)
) STRICT;
