-- The alert engine (SQLite): alerts, when each case is next due for evaluation, the engine's
-- place in the event log, and the shared setting of the settable clock.

-- One row per alert. At most one alert per (rule, subject) is not resolved: the partial unique
-- index makes a second raiser of the same alert fail instead of duplicating it.
CREATE TABLE alerts (
    id                      TEXT PRIMARY KEY NOT NULL,   -- UUIDv7, sorts by creation time
    rule                    TEXT NOT NULL,               -- AL-nn
    subject                 TEXT NOT NULL,               -- case/<id>[/activity/<a>|/goal/<g>], referral/<id>
    case_id                 TEXT NOT NULL REFERENCES cases (id),
    municipality            TEXT NOT NULL,
    recipient_organisation  TEXT,                        -- NULL: the case's jobcentre
    recipient_role          TEXT NOT NULL,
    severity                TEXT NOT NULL,               -- warning | high | critical
    cause                   TEXT NOT NULL,
    data                    TEXT NOT NULL,               -- JSON: the numbers behind the cause
    due_on                  TEXT,
    state                   TEXT NOT NULL,               -- open | acknowledged | resolved
    raised_at               TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    acknowledged_by         TEXT,
    acknowledged_at         TEXT,
    resolved_at             TEXT,
    version                 INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX alerts_one_unresolved ON alerts (rule, subject) WHERE state <> 'resolved';
CREATE INDEX alerts_case_unresolved ON alerts (case_id) WHERE state <> 'resolved';
CREATE INDEX alerts_municipality ON alerts (municipality, id);
CREATE INDEX alerts_recipient ON alerts (recipient_organisation, id);

-- When each case must be evaluated again with no event (NULL: only an event can change its
-- alerts), the sweep partition it belongs to (its id's last hex digit), and the event-log
-- position its last evaluation saw (an older evaluation never overwrites a newer one).
CREATE TABLE alert_schedule (
    case_id             TEXT PRIMARY KEY NOT NULL REFERENCES cases (id),
    partition           INTEGER NOT NULL,
    next_check_on       TEXT,
    evaluated_position  INTEGER NOT NULL
) STRICT;

CREATE INDEX alert_schedule_due ON alert_schedule (partition, next_check_on, case_id)
    WHERE next_check_on IS NOT NULL;

-- Cases open before the engine existed are due at once.
INSERT INTO alert_schedule (case_id, partition, next_check_on, evaluated_position)
SELECT id, instr('0123456789abcdef', lower(substr(id, -1))) - 1, first_sick_day, 0
FROM cases WHERE state = 'open';

-- How far the engine has read the event log.
CREATE TABLE alert_cursors (
    name        TEXT PRIMARY KEY NOT NULL,
    position    INTEGER NOT NULL
) STRICT;

-- The settable clock's offset from system time, shared by every replica.
CREATE TABLE clock_setting (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    offset_ms   INTEGER NOT NULL,
    set_by      TEXT NOT NULL,
    set_at      TEXT NOT NULL
) STRICT;
