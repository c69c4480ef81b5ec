-- The shared case plan (PostgreSQL): the current plan as JSON with a version column, its change
-- records (the history every earlier state is rebuilt from), and who else may read or update it.

CREATE TABLE plans (
    case_id        UUID PRIMARY KEY REFERENCES cases (id),  -- one plan per case
    municipality   TEXT NOT NULL,                     -- the owning jobcentre's municipality
    kind           TEXT NOT NULL,
    stage          TEXT NOT NULL,
    document       JSONB NOT NULL,                    -- kia_domain::plan::Plan as JSON
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    version        BIGINT NOT NULL
);

-- Append-only: one row per change record, version 1 = the creation.
CREATE TABLE plan_changes (
    case_id        UUID NOT NULL REFERENCES plans (case_id),
    version        BIGINT NOT NULL,
    recorded_at    TIMESTAMPTZ NOT NULL,
    record         JSONB NOT NULL,                    -- kia_domain::plan::ChangeRecord as JSON
    PRIMARY KEY (case_id, version)
);

-- Access an organisation outside the jobcentre holds to one plan, until it expires.
CREATE TABLE plan_grants (
    case_id        UUID NOT NULL REFERENCES plans (case_id),
    organisation   TEXT NOT NULL,
    access         TEXT NOT NULL,                     -- read | read_update
    purpose        TEXT NOT NULL,
    granted_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (case_id, organisation)
);
