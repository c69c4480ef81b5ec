-- How far the audit trail has taken in the read log, the file `<database>-reads` where the
-- records of reads are written first (see the store's `read_log`): the file's generation, and
-- the bytes of it, header included, whose records are in audit_events. One row.
CREATE TABLE audit_read_log (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL,
    position   INTEGER NOT NULL
) STRICT;

INSERT INTO audit_read_log (id, generation, position) VALUES (1, 0, 0);
