-- Screening groups and screenings (the 360-degree assessment), SQLite.

-- A screening group or KIA team of one municipality: kia_domain::screening::ScreeningGroup and
-- the members' organisations as one JSON document.
CREATE TABLE screening_groups (
    id              TEXT PRIMARY KEY NOT NULL,
    municipality    TEXT NOT NULL,
    document        TEXT NOT NULL,                         -- JSON
    created_at      TEXT NOT NULL
) STRICT;

-- One screening of one case by one group: kia_domain::screening::Screening as JSON (health
-- data: assessments and conclusion), with the columns the queue and the timeline filter on.
CREATE TABLE screenings (
    id              TEXT PRIMARY KEY NOT NULL,
    case_id         TEXT NOT NULL REFERENCES cases (id),
    group_id        TEXT NOT NULL REFERENCES screening_groups (id),
    municipality    TEXT NOT NULL,
    concluded_on    TEXT,                                  -- YYYY-MM-DD once concluded
    document        TEXT NOT NULL,                         -- JSON
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    version         INTEGER NOT NULL
) STRICT;

CREATE INDEX screenings_case ON screenings (case_id, concluded_on);
