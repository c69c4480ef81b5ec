-- The fingerprint of the unresolved alerts each case's last evaluation left (see
-- `conditions_digest`): an evaluation with the same fingerprint changes no alert and need not
-- read them. NULL (every case before this column): unknown, the alerts are read.
ALTER TABLE alert_schedule ADD COLUMN conditions_digest INTEGER;
