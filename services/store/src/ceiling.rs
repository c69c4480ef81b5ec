//! The raw write ceiling of `kia bench`: one durable commit of one row, on the same connection
//! and pool settings as the store (SQLite WAL with `synchronous=FULL` and one writer; PostgreSQL's pool),
//! with nothing of kia around it. kia's durable writes are reported as a share of this figure.

use sqlx::{PgPool, SqlitePool};

use crate::{StoreOptions, StoreResult, postgres, sqlite};

/// A scratch table the ceiling writes to (dropped by [`RawWriter::close`]).
const TABLE: &str = "kia_bench_ceiling";

/// Writes rows of about the size of a stored case, one commit each.
#[derive(Debug)]
pub enum RawWriter {
    /// One write connection, as the SQLite store has.
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// About the size of a case row with its event (facts JSON, references, timestamps).
const PAYLOAD_BYTES: usize = 512;

impl RawWriter {
    /// Opens the database a URL names with the store's settings and creates the scratch table.
    pub async fn open(url: &str, options: &StoreOptions) -> StoreResult<Self> {
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {TABLE} (id BIGINT PRIMARY KEY, payload TEXT NOT NULL)"
        );
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = postgres::lazy_pool(url, options)?;
            sqlx::query(sqlx::AssertSqlSafe(create))
                .execute(&pool)
                .await?;
            Ok(Self::Postgres(pool))
        } else {
            let connect = sqlite::connect_options(url, options)?.create_if_missing(true);
            let pool = sqlite::pool_options(options)
                .max_connections(1)
                .connect_with(connect)
                .await?;
            sqlx::query(sqlx::AssertSqlSafe(create))
                .execute(&pool)
                .await?;
            Ok(Self::Sqlite(pool))
        }
    }

    /// One transaction that inserts row `id` and commits (durably, as the store commits).
    pub async fn write(&self, id: i64) -> StoreResult<()> {
        let payload = "x".repeat(PAYLOAD_BYTES);
        // The same steps on either pool type: begin, insert, commit.
        macro_rules! commit_one {
            ($pool:expr, $insert:literal) => {{
                let mut tx = $pool.begin().await?;
                sqlx::query(sqlx::AssertSqlSafe(format!($insert)))
                    .bind(id)
                    .bind(payload)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }};
        }
        match self {
            Self::Sqlite(pool) => {
                commit_one!(pool, "INSERT INTO {TABLE} (id, payload) VALUES (?1, ?2)")
            }
            Self::Postgres(pool) => {
                commit_one!(pool, "INSERT INTO {TABLE} (id, payload) VALUES ($1, $2)")
            }
        }
        Ok(())
    }

    /// Drops the scratch table and closes the pool.
    pub async fn close(self) -> StoreResult<()> {
        let drop = format!("DROP TABLE IF EXISTS {TABLE}");
        match self {
            Self::Sqlite(pool) => {
                sqlx::query(sqlx::AssertSqlSafe(drop))
                    .execute(&pool)
                    .await?;
                pool.close().await;
            }
            Self::Postgres(pool) => {
                sqlx::query(sqlx::AssertSqlSafe(drop))
                    .execute(&pool)
                    .await?;
                pool.close().await;
            }
        }
        Ok(())
    }
}
