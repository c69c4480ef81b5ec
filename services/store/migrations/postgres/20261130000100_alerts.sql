-- The alert engine (PostgreSQL): alerts, when each case is next due for evaluation, the
-- engine's place in the event log, and the shared setting of the settable clock.

-- One row per alert. At most one alert per (rule, subject) is not resolved: the partial unique
-- index makes a second raiser of the same alert fail instead of duplicating it.
CREATE TABLE alerts (
    id                      UUID PRIMARY KEY,            -- UUIDv7, sorts by creation time
    rule                    TEXT NOT NULL,               -- AL-nn
    subject                 TEXT NOT NULL,               -- case/<id>[/activity/<a>|/goal/<g>], referral/<id>
    case_id                 UUID NOT NULL REFERENCES cases (id),
    municipality            TEXT NOT NULL,
    recipient_organisation  TEXT,                        -- NULL: the case's jobcentre
    recipient_role          TEXT NOT NULL,
    severity                TEXT NOT NULL,               -- warning | high | critical
    cause                   TEXT NOT NULL,
    data                    JSONB NOT NULL,              -- the numbers behind the cause
    due_on                  DATE,
    state                   TEXT NOT NULL,               -- open | acknowledged | resolved
    raised_at               TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL,
    acknowledged_by         TEXT,
    acknowledged_at         TIMESTAMPTZ,
    resolved_at             TIMESTAMPTZ,
    version                 BIGINT NOT NULL
);

CREATE UNIQUE INDEX alerts_one_unresolved ON alerts (rule, subject) WHERE state <> 'resolved';
CREATE INDEX alerts_case_unresolved ON alerts (case_id) WHERE state <> 'resolved';
CREATE INDEX alerts_municipality ON alerts (municipality, id);
CREATE INDEX alerts_recipient ON alerts (recipient_organisation, id);

-- When each case must be evaluated again with no event (NULL: only an event can change its
-- alerts), the sweep partition it belongs to (its id's last hex digit), and the event-log
-- position its last evaluation saw (an older evaluation never overwrites a newer one).
CREATE TABLE alert_schedule (
    case_id             UUID PRIMARY KEY REFERENCES cases (id),
    partition           INTEGER NOT NULL,
    next_check_on       DATE,
    evaluated_position  BIGINT NOT NULL
);

CREATE INDEX alert_schedule_due ON alert_schedule (partition, next_check_on, case_id)
    WHERE next_check_on IS NOT NULL;

-- Cases open before the engine existed are due at once.
INSERT INTO alert_schedule (case_id, partition, next_check_on, evaluated_position)
SELECT id, position(right(id::text, 1) in '0123456789abcdef') - 1, first_sick_day, 0
FROM cases WHERE state = 'open';

-- How far the engine has read the event log.
CREATE TABLE alert_cursors (
    name        TEXT PRIMARY KEY,
    position    BIGINT NOT NULL
);

-- The settable clock's offset from system time, shared by every replica.
CREATE TABLE clock_setting (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    offset_ms   BIGINT NOT NULL,
    set_by      TEXT NOT NULL,
    set_at      TIMESTAMPTZ NOT NULL
);
