-- Which audit records name each case, kept in bulk behind the trail. An index on
-- audit_events (case_id, sequence) put each new record's entry on its case's leaf: a page of log
-- for nearly every record, while the table itself only grows at its end. Now the appender adds
-- the entries of every record after `audit_case_index_upto` once there are enough of them, and a
-- query by case reads the index up to that mark and scans the trail after it.
CREATE TABLE audit_case_index (
    case_id  TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    PRIMARY KEY (case_id, sequence)
) STRICT, WITHOUT ROWID;

-- The last sequence audit_case_index covers (one row).
CREATE TABLE audit_case_index_upto (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    sequence INTEGER NOT NULL
) STRICT;

INSERT INTO audit_case_index (case_id, sequence)
    SELECT case_id, sequence FROM audit_events WHERE case_id IS NOT NULL;
INSERT INTO audit_case_index_upto (id, sequence)
    SELECT 1, COALESCE(MAX(sequence), 0) FROM audit_events;
DROP INDEX audit_events_case;
