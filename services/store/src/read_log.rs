//! The read log: where the audit records of reads go first, on a SQLite database on disk.
//!
//! A read is answered only once its records are safe from a crash of the process. Committing
//! them to the database, one transaction per group of reads, cost more than the reads: a commit
//! writes whole pages of the trail and of its parents, takes SQLite's locks, and empties the page
//! cache of every point reader (`inline::PointReader`), which then reads its pages again. So the
//! records of reads are appended to a file beside the database, `<database>-reads`, one line
//! each, and the read is answered once that write returns: the records are then the operating
//! system's, as a commit's pages are with `synchronous=NORMAL`. The file is flushed to disk in
//! the background, as the database's log is after such a commit ([`crate::wal_sync`]).
//!
//! The records join the audit trail soon after ([`INGEST_DELAY`]), many in one transaction that
//! also moves the mark of how far the file has been taken in (`audit_read_log`). Before a change,
//! and before any read of the trail, what the file holds beyond the mark joins first, so the
//! trail is read whole, and a change's records follow the reads made before it. That
//! transaction is not flushed on its own: the file holds its records until it starts over, and
//! the database's log is flushed before it does.
//!
//! The file starts with a header naming its generation. The first store to use it after a start
//! (or a crash) moves every record past the mark into the trail, in one transaction that also
//! sets the mark to the next generation, flushes that commit, and only then starts the file over
//! with that generation; a crash between the two leaves an older generation in the file, which is then known to be in
//! the trail already. A running store starts the file over the same way once it has taken in
//! everything and the file is larger than [`ROTATE_BYTES`].
//!
//! A record's sequence is where it joins the chain. Its time (`recorded_at`) is when it was
//! written to the file, that is when the read was answered.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::AuditEntry;
use crate::wal_sync::WalSync;
use crate::{StoreError, StoreResult};

/// How long records wait in the file before they join the trail: reads answered in that time
/// share one commit. Longer waits make larger commits, which hold a core for longer and so show
/// in the latency of the reads around them (at 7,500 reads/s, p99 was 6.5 ms with 100 ms and
/// 4.9 to 5.6 ms with 10 ms), for little more throughput.
pub(crate) const INGEST_DELAY: Duration = Duration::from_millis(10);

/// Records taken into the trail in one transaction at most; more wait for the next.
pub(crate) const INGEST_RECORDS: usize = 8192;

/// Records written and not yet in the trail at most. Past it (the database has refused them for
/// a while) the records of reads go to the database directly, and wait or fail there, rather
/// than pile up in memory.
pub(crate) const MAX_PENDING: usize = 100_000;

/// A file that holds only records already in the trail starts over past this size.
pub(crate) const ROTATE_BYTES: u64 = 64 * 1024 * 1024;

/// The file's first line.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    kia_read_log: u32,
    generation: i64,
}

/// A line after the header: one record, and when it was written.
#[derive(Serialize)]
struct Line<'a> {
    at: &'a str,
    entry: &'a AuditEntry,
}

#[derive(Deserialize)]
struct OwnedLine {
    at: String,
    entry: AuditEntry,
}

/// Where the trail has taken the file in up to (the row of `audit_read_log`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    pub generation: i64,
    /// Bytes of the file, header included, whose records are in the trail.
    pub position: u64,
}

/// Records written together: one time, and the file position after their lines.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    pub at: DateTime<Utc>,
    pub entries: Vec<AuditEntry>,
    pub end: u64,
}

/// What a store must take into the trail before the file starts over: the groups past the mark,
/// and the mark to set with them.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub groups: Vec<Group>,
    /// Undecodable lines skipped (a line cut off by a crash while it was written: its read was
    /// never answered).
    pub skipped: usize,
    pub next: Mark,
}

#[derive(Debug)]
enum State {
    /// Not yet recovered: nothing may be appended before what a crash left is in the trail.
    Unopened,
    Open(Open),
    /// Closed with the store, or broken by a write that could not be undone: appends go to
    /// the database directly.
    Closed,
}

#[derive(Debug)]
struct Open {
    file: File,
    generation: i64,
    /// The position after the last whole line.
    len: u64,
    /// Written, not yet in the trail, oldest first.
    pending: VecDeque<Group>,
    /// The records in `pending`.
    records: usize,
}

/// The read log of one database file.
#[derive(Debug)]
pub(crate) struct ReadLog {
    path: PathBuf,
    state: Mutex<State>,
    /// An ingest is waiting to run.
    scheduled: AtomicBool,
    rotate_bytes: u64,
    max_pending: usize,
    /// Flushes the file in the background after appends.
    sync: Arc<WalSync>,
    /// A lock on `<database>-reads.lock`, held while this store owns the read log: another
    /// process on the same database (`kia migrate`, say) must not take in, or start over, the
    /// file this one appends to. The lock file is never replaced, unlike the log.
    owner: Mutex<Option<File>>,
}

impl ReadLog {
    /// The read log of the database `file`.
    pub(crate) fn new(database: &Path) -> Self {
        Self::with_limits(database, ROTATE_BYTES, MAX_PENDING)
    }

    pub(crate) fn with_limits(database: &Path, rotate_bytes: u64, max_pending: usize) -> Self {
        let mut path = database.as_os_str().to_owned();
        path.push("-reads");
        let path = PathBuf::from(path);
        Self {
            sync: Arc::new(WalSync::of_file(path.clone())),
            path,
            state: Mutex::new(State::Unopened),
            scheduled: AtomicBool::new(false),
            rotate_bytes,
            max_pending,
            owner: Mutex::new(None),
        }
    }

    pub(crate) fn is_unopened(&self) -> bool {
        matches!(*self.lock(), State::Unopened)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the read log for this store; `Ok(false)` when another one holds it (another
    /// process, or a store of this one not yet closed). Released at [`ReadLog::close`], or when
    /// the process ends.
    pub(crate) fn claim(&self) -> StoreResult<bool> {
        let mut owner = self.owner.lock().unwrap_or_else(|e| e.into_inner());
        if owner.is_some() {
            return Ok(true);
        }
        let mut path = self.path.as_os_str().to_owned();
        path.push(".lock");
        let path = PathBuf::from(path);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io_error("opening", &path, &e))?;
        match file.try_lock() {
            Ok(()) => {
                *owner = Some(file);
                Ok(true)
            }
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(e)) => Err(io_error("locking", &path, &e)),
        }
    }

    /// The records a crash (or a stop) left in the file after `mark`, and the mark to set
    /// with them. The caller takes them into the trail with that mark, then calls
    /// [`ReadLog::start`].
    pub(crate) fn recover(&self, mark: Mark) -> StoreResult<Recovered> {
        let file = match File::open(&self.path) {
            Ok(file) => Some(file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error("opening", &self.path, &e)),
        };
        let mut groups: Vec<Group> = Vec::new();
        let mut skipped = 0;
        let mut generation = mark.generation;
        if let Some(file) = file {
            let mut reader = BufReader::new(file);
            let mut line = Vec::new();
            let mut position = read_line(&mut reader, &mut line, &self.path)?;
            let header: Option<Header> = serde_json::from_slice(&line).ok();
            // An older generation is in the trail already (the file was not started over
            // after its records were taken in); a newer one was started after the mark was set.
            let start = match header {
                Some(h) if h.generation == mark.generation => Some(mark.position),
                Some(h) if h.generation > mark.generation => {
                    generation = h.generation;
                    Some(position)
                }
                _ => None,
            };
            if let Some(start) = start {
                loop {
                    line.clear();
                    let read = read_line(&mut reader, &mut line, &self.path)?;
                    if read == 0 {
                        break;
                    }
                    position += read;
                    if position <= start {
                        continue;
                    }
                    match decode(&line) {
                        Some((at, entry)) => match groups.last_mut() {
                            Some(group) if group.at == at => {
                                group.entries.push(entry);
                                group.end = position;
                            }
                            _ => groups.push(Group {
                                at,
                                entries: vec![entry],
                                end: position,
                            }),
                        },
                        None => skipped += 1,
                    }
                }
            }
        }
        let next = generation.max(mark.generation) + 1;
        Ok(Recovered {
            groups,
            skipped,
            next: Mark {
                generation: next,
                position: header_line(next).len() as u64,
            },
        })
    }

    /// Starts the file over at `mark` (whose generation the trail's mark names already), and
    /// opens it for appends.
    pub(crate) fn start(&self, mark: Mark) -> StoreResult<()> {
        let mut state = self.lock();
        if matches!(*state, State::Closed) {
            return Ok(());
        }
        let file = begin_file(&self.path, mark.generation, true)?;
        *state = State::Open(Open {
            file,
            generation: mark.generation,
            len: mark.position,
            pending: VecDeque::new(),
            records: 0,
        });
        Ok(())
    }

    /// Writes `entries` as read at `at`. `Ok(false)`: the log is not open, nothing was
    /// written, and the records must go to the database directly. An error: nothing was kept.
    pub(crate) fn append(&self, at: DateTime<Utc>, entries: &[AuditEntry]) -> StoreResult<bool> {
        let mut state = self.lock();
        let State::Open(open) = &mut *state else {
            return Ok(false);
        };
        if open.records >= self.max_pending {
            return Ok(false);
        }
        let stamp = crate::sqlite::ts(at);
        let mut buf = Vec::with_capacity(entries.len() * 512);
        for entry in entries {
            serde_json::to_writer(&mut buf, &Line { at: &stamp, entry })
                .map_err(|e| StoreError::Other(format!("writing a read record: {e}")))?;
            buf.push(b'\n');
        }
        if let Err(err) = open.file.write_all(&buf) {
            // Part of a line may be written: cut it off, or no later line can be read.
            if open.file.set_len(open.len).is_err() {
                *state = State::Closed;
            }
            return Err(io_error("writing", &self.path, &err));
        }
        open.len += buf.len() as u64;
        open.records += entries.len();
        open.pending.push_back(Group {
            at: crate::audit::to_micros(at),
            entries: entries.to_vec(),
            end: open.len,
        });
        Ok(true)
    }

    /// Takes the oldest groups not yet in the trail, about [`INGEST_RECORDS`] records at most,
    /// and the mark that covers them. The caller holds the store's write lock, takes them in
    /// with that mark, and gives them back with [`ReadLog::put_back`] if it could not.
    pub(crate) fn take(&self) -> Option<(Vec<Group>, Mark)> {
        let mut state = self.lock();
        let State::Open(open) = &mut *state else {
            return None;
        };
        let mut groups = Vec::new();
        let mut records = 0;
        while records < INGEST_RECORDS
            && let Some(group) = open.pending.pop_front()
        {
            records += group.entries.len();
            groups.push(group);
        }
        open.records -= records;
        let end = groups.last()?.end;
        Some((
            groups,
            Mark {
                generation: open.generation,
                position: end,
            },
        ))
    }

    /// Returns groups [`ReadLog::take`] gave out that did not reach the trail.
    pub(crate) fn put_back(&self, groups: Vec<Group>) {
        if let State::Open(open) = &mut *self.lock() {
            for group in groups.into_iter().rev() {
                open.records += group.entries.len();
                open.pending.push_front(group);
            }
        }
    }

    /// Whether records wait to join the trail.
    pub(crate) fn has_pending(&self) -> bool {
        matches!(&*self.lock(), State::Open(open) if !open.pending.is_empty())
    }

    /// When everything written is in the trail and the file has outgrown [`ROTATE_BYTES`]:
    /// sets the mark of the next generation in the trail with `set_mark` (`Ok(false)`: it could
    /// not now) and starts the file over with it. Appends wait meanwhile, so none lands in the
    /// old generation. Returns whether the file started over.
    pub(crate) fn rotate_if_due(
        &self,
        set_mark: impl FnOnce(Mark) -> StoreResult<bool>,
    ) -> StoreResult<bool> {
        let mut state = self.lock();
        let State::Open(open) = &*state else {
            return Ok(false);
        };
        if !open.pending.is_empty() || open.len <= self.rotate_bytes {
            return Ok(false);
        }
        let generation = open.generation + 1;
        let next = Mark {
            generation,
            position: header_line(generation).len() as u64,
        };
        if !set_mark(next)? {
            return Ok(false);
        }
        let replaced = match begin_file(&self.path, generation, false) {
            Ok(file) => std::mem::replace(
                &mut *state,
                State::Open(Open {
                    file,
                    generation,
                    len: next.position,
                    pending: VecDeque::new(),
                    records: 0,
                }),
            ),
            Err(err) => {
                // The trail's mark names a generation the file does not have. The old file
                // holds only records the trail has, so the next start recovers correctly;
                // until then the records of reads go to the trail directly.
                *state = State::Closed;
                return Err(err);
            }
        };
        // Appends go on; the old file, no longer named, is freed after (its blocks, which a
        // large file has many of, are released when it closes).
        drop(state);
        drop(replaced);
        Ok(true)
    }

    /// No more appends; records still pending stay in the file for the next start, which may
    /// claim the log from now on.
    pub(crate) fn close(&self) {
        *self.lock() = State::Closed;
        *self.owner.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Starts the background flush that makes what was appended durable (see
    /// [`WalSync::sync_in_background`]).
    pub(crate) fn flush_soon(&self) {
        self.sync.sync_in_background();
    }

    /// Marks an ingest as scheduled; `false` when one already is.
    pub(crate) fn schedule(&self) -> bool {
        !self.scheduled.swap(true, Ordering::SeqCst)
    }

    /// The scheduled ingest has begun: the next append schedules another.
    pub(crate) fn unschedule(&self) {
        self.scheduled.store(false, Ordering::SeqCst);
    }
}

/// Writes a file of `generation` holding only its header beside the log, and puts it in the
/// log's place. `durable`: flushes it and the directory first (at a start); a running store
/// leaves that to the background flush of its next records, and does not stall its reads for it.
fn begin_file(path: &Path, generation: i64, durable: bool) -> StoreResult<File> {
    let mut next = path.as_os_str().to_owned();
    next.push(".next");
    let next = PathBuf::from(next);
    let started = (|| {
        match std::fs::remove_file(&next) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&next)?;
        file.write_all(&header_line(generation))?;
        if durable {
            file.sync_all()?;
        }
        std::fs::rename(&next, path)?;
        if durable && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        Ok(file)
    })();
    started.map_err(|e| io_error("starting", path, &e))
}

fn header_line(generation: i64) -> Vec<u8> {
    format!("{{\"kia_read_log\":1,\"generation\":{generation}}}\n").into_bytes()
}

/// Reads one line, its newline included; returns its length (0 at the end).
fn read_line(reader: &mut BufReader<File>, line: &mut Vec<u8>, path: &Path) -> StoreResult<u64> {
    reader
        .read_until(b'\n', line)
        .map(|n| n as u64)
        .map_err(|e| io_error("reading", path, &e))
}

/// A record's line; `None` for one cut off or damaged.
fn decode(line: &[u8]) -> Option<(DateTime<Utc>, AuditEntry)> {
    let line = line.strip_suffix(b"\n")?;
    let OwnedLine { at, entry } = serde_json::from_slice(line).ok()?;
    let at = DateTime::parse_from_rfc3339(&at).ok()?.with_timezone(&Utc);
    Some((at, entry))
}

fn io_error(doing: &str, path: &Path, err: &std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("{doing} the read log {}: {err}", path.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    use crate::testing::read_record as entry;

    fn at(second: u32) -> DateTime<Utc> {
        use chrono::TimeZone as _;
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, second).unwrap()
    }

    /// A log started at generation 1 with two groups written.
    fn written(dir: &tempfile::TempDir) -> (ReadLog, Mark) {
        let log = ReadLog::new(&dir.path().join("kia.db"));
        let first = log
            .recover(Mark {
                generation: 0,
                position: 0,
            })
            .unwrap();
        assert!(first.groups.is_empty());
        assert_eq!(first.next.generation, 1);
        log.start(first.next).unwrap();
        assert!(
            log.append(at(1), &[entry("a", "r1"), entry("b", "r1")])
                .unwrap()
        );
        assert!(log.append(at(2), &[entry("a", "r2")]).unwrap());
        (log, first.next)
    }

    #[test]
    fn one_store_at_a_time_owns_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let first = ReadLog::new(&dir.path().join("kia.db"));
        let second = ReadLog::new(&dir.path().join("kia.db"));
        assert!(first.claim().unwrap());
        assert!(first.claim().unwrap(), "claimed already");
        assert!(!second.claim().unwrap());
        first.close();
        assert!(second.claim().unwrap());
    }

    #[test]
    fn a_log_not_yet_recovered_takes_no_record() {
        let dir = tempfile::tempdir().unwrap();
        let log = ReadLog::new(&dir.path().join("kia.db"));
        assert!(!log.append(at(1), &[entry("a", "r1")]).unwrap());
        assert!(!&log.path.exists());
        log.close();
        assert!(!log.append(at(1), &[entry("a", "r1")]).unwrap());
    }

    #[test]
    fn what_a_crash_leaves_past_the_mark_is_recovered_once_by_its_groups() {
        let dir = tempfile::tempdir().unwrap();
        let (log, start) = written(&dir);
        let (taken, mark) = log.take().unwrap();
        assert_eq!(taken.len(), 2);
        assert_eq!(taken[0].entries.len(), 2);
        assert_eq!(mark.generation, 1);
        // Only the first group reached the trail before the crash.
        let first_end = Mark {
            generation: 1,
            position: taken[0].end,
        };
        drop(log);

        let again = ReadLog::new(&dir.path().join("kia.db"));
        let recovered = again.recover(first_end).unwrap();
        assert_eq!(recovered.groups, vec![taken[1].clone()]);
        assert_eq!(recovered.skipped, 0);
        assert_eq!(recovered.next.generation, 2);
        // Everything from the header on, when the mark is at the generation's start.
        assert_eq!(again.recover(start).unwrap().groups, taken);
        // The trail already names the next generation: the file's is in it, all of it.
        assert!(
            again
                .recover(Mark {
                    generation: 2,
                    position: 0
                })
                .unwrap()
                .groups
                .is_empty()
        );
        again.start(recovered.next).unwrap();
        assert!(
            again.take().is_none(),
            "a started file holds nothing to take"
        );
        assert!(again.recover(recovered.next).unwrap().groups.is_empty());
    }

    #[test]
    fn a_line_cut_off_by_a_crash_is_skipped_and_the_whole_ones_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (log, start) = written(&dir);
        let (taken, _) = log.take().unwrap();
        drop(log);
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.path().join("kia.db-reads"))
            .unwrap();
        file.write_all(br#"{"at":"2026-12-01T09:00:03.000000Z","entry":{"organiz"#)
            .unwrap();

        let recovered = ReadLog::new(&dir.path().join("kia.db"))
            .recover(start)
            .unwrap();
        assert_eq!(recovered.groups, taken);
        assert_eq!(recovered.skipped, 1);
    }

    #[test]
    fn past_its_limit_of_waiting_records_the_log_sends_records_to_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let log = ReadLog::with_limits(&dir.path().join("kia.db"), ROTATE_BYTES, 3);
        log.start(
            log.recover(Mark {
                generation: 0,
                position: 0,
            })
            .unwrap()
            .next,
        )
        .unwrap();
        assert!(
            log.append(at(1), &[entry("a", "r1"), entry("b", "r1")])
                .unwrap()
        );
        assert!(log.append(at(2), &[entry("a", "r2")]).unwrap());
        assert!(
            !log.append(at(3), &[entry("a", "r3")]).unwrap(),
            "3 wait already"
        );
        let (taken, _) = log.take().unwrap();
        assert_eq!(taken.len(), 2);
        assert!(log.append(at(4), &[entry("a", "r4")]).unwrap());
        log.put_back(taken);
        assert!(
            !log.append(at(5), &[entry("a", "r5")]).unwrap(),
            "4 wait again"
        );
    }

    #[test]
    fn groups_that_did_not_reach_the_trail_are_taken_again_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (log, _) = written(&dir);
        let (taken, mark) = log.take().unwrap();
        assert!(!log.has_pending());
        log.put_back(taken.clone());
        assert!(log.has_pending());
        assert_eq!(log.take().unwrap(), (taken, mark));
    }

    #[test]
    fn a_file_taken_in_whole_starts_over_past_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let log = ReadLog::with_limits(&dir.path().join("kia.db"), 100, MAX_PENDING);
        let first = log
            .recover(Mark {
                generation: 0,
                position: 0,
            })
            .unwrap();
        log.start(first.next).unwrap();
        let never = |_| -> StoreResult<bool> { panic!("not due") };
        assert!(!log.rotate_if_due(never).unwrap(), "under the size");
        assert!(log.append(at(1), &[entry("a", "r1")]).unwrap());
        assert!(
            !log.rotate_if_due(never).unwrap(),
            "a record waits for the trail"
        );
        let (taken, mark) = log.take().unwrap();
        assert_eq!(taken.len(), 1);

        let mut next = None;
        let rotated = log
            .rotate_if_due(|mark| {
                next = Some(mark);
                Ok(true)
            })
            .unwrap();
        assert!(rotated);
        let next = next.unwrap();
        assert_eq!(next.generation, mark.generation + 1);
        let len = std::fs::metadata(&log.path).unwrap().len();
        assert_eq!(len, next.position, "only the new header");
        assert!(log.append(at(2), &[entry("a", "r2")]).unwrap());
        let (taken, mark) = log.take().unwrap();
        assert_eq!(mark.generation, next.generation);
        assert_eq!(taken[0].entries, vec![entry("a", "r2")]);
    }
}
