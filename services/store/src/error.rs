//! Storage errors, and the one place where database error codes (SQLSTATE on PostgreSQL,
//! extended result codes on SQLite) become them.

/// What went wrong in storage, in terms a service can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated (the thing already exists).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A referenced row does not exist.
    #[error("reference to a missing row: {0}")]
    MissingReference(String),
    /// A concurrent transaction won; retrying may succeed.
    #[error("serialization failure, retry")]
    Serialization,
    /// The database refuses writes (a read-only replica or file).
    #[error("database is read-only")]
    ReadOnly,
    /// The row changed since it was read (optimistic concurrency); the caller re-reads.
    #[error("changed concurrently")]
    Stale,
    /// The request id was used before for a request with other parameters.
    #[error("request id reused with different parameters")]
    IdempotencyMismatch,
    /// The database cannot be reached, or timed out.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Stored data that kia cannot read back: a bug or a hand-edited row.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Anything else.
    #[error("database error: {0}")]
    Other(String),
}

impl StoreError {
    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &err {
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                match code.as_str() {
                    // PostgreSQL: serialization_failure, deadlock_detected.
                    "40001" | "40P01" => return Self::Serialization,
                    // PostgreSQL: read_only_sql_transaction; SQLite: SQLITE_READONLY (8) family.
                    "25006" | "8" | "264" | "520" | "776" | "1032" | "1288" | "1544" => {
                        return Self::ReadOnly;
                    }
                    // PostgreSQL: query_canceled (statement_timeout); SQLite: BUSY / LOCKED.
                    "57014" | "5" | "6" | "261" | "262" | "517" => {
                        return Self::Unavailable(db.message().to_owned());
                    }
                    _ => {}
                }
                match db.kind() {
                    ErrorKind::UniqueViolation => Self::Conflict(constraint(db.as_ref())),
                    ErrorKind::ForeignKeyViolation => {
                        Self::MissingReference(constraint(db.as_ref()))
                    }
                    _ => Self::Other(format!("{code}: {}", db.message())),
                }
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::Unavailable(err.to_string())
            }
            sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => Self::Unavailable(err.to_string()),
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => Self::corrupt(&err),
            _ => Self::Other(err.to_string()),
        }
    }
}

/// Errors of the connections the SQLite store runs on the calling thread (`crate::inline`).
impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match &err {
            rusqlite::Error::SqliteFailure(failure, message) => {
                let message = message.clone().unwrap_or_else(|| failure.to_string());
                match failure.code {
                    ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                        Self::Unavailable(message)
                    }
                    ErrorCode::ReadOnly => Self::ReadOnly,
                    // SQLITE_CONSTRAINT_FOREIGNKEY; the other constraints are uniqueness.
                    ErrorCode::ConstraintViolation if failure.extended_code == 787 => {
                        Self::MissingReference(message)
                    }
                    ErrorCode::ConstraintViolation => Self::Conflict(message),
                    ErrorCode::CannotOpen | ErrorCode::SystemIoFailure | ErrorCode::DiskFull => {
                        Self::Unavailable(message)
                    }
                    _ => Self::Other(format!("{}: {message}", failure.extended_code)),
                }
            }
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => Self::corrupt(&err),
            _ => Self::Other(err.to_string()),
        }
    }
}

fn constraint(db: &dyn sqlx::error::DatabaseError) -> String {
    db.constraint()
        .map(str::to_owned)
        .unwrap_or_else(|| db.message().to_owned())
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        match err {
            sqlx::migrate::MigrateError::Execute(e) => e.into(),
            other => Self::Other(other.to_string()),
        }
    }
}
