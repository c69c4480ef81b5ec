-- Screening groups and screenings (the 360-degree assessment), PostgreSQL.

-- A screening group or KIA team of one municipality: kia_domain::screening::ScreeningGroup and
-- the members' organisations as one JSON document.
CREATE TABLE screening_groups (
    id              UUID PRIMARY KEY,
    municipality    TEXT NOT NULL,
    document        JSONB NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);

-- One screening of one case by one group: kia_domain::screening::Screening as JSON (health
-- data: assessments and conclusion), with the columns the queue and the timeline filter on.
CREATE TABLE screenings (
    id              UUID PRIMARY KEY,
    case_id         UUID NOT NULL REFERENCES cases (id),
    group_id        UUID NOT NULL REFERENCES screening_groups (id),
    municipality    TEXT NOT NULL,
    concluded_on    DATE,
    document        JSONB NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    version         BIGINT NOT NULL
);

CREATE INDEX screenings_case ON screenings (case_id, concluded_on);
