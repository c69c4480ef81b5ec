//! Support for tests that run against both backends: the conformance suite here and the
//! end-to-end tests. PostgreSQL comes from `KIA_TEST_POSTGRES_URL` (the test script starts a
//! throwaway cluster and sets it); every test gets a database of its own.

use sqlx::Connection;

/// The environment variable naming a PostgreSQL server for tests (a superuser URL).
pub const POSTGRES_URL_VAR: &str = "KIA_TEST_POSTGRES_URL";

/// The PostgreSQL server to test against, or `None` (said loudly) when there is none.
/// In CI (`CI=true`) a missing server is an error, not a skip.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{POSTGRES_URL_VAR} is not set: CI must test PostgreSQL (run scripts/test.sh)")
        }
        _ => {
            eprintln!("SKIPPED on PostgreSQL: {POSTGRES_URL_VAR} is not set (run scripts/test.sh)");
            None
        }
    }
}

/// Creates an empty database on the test server and returns its URL.
pub async fn fresh_postgres_database(admin_url: &str) -> Result<String, sqlx::Error> {
    let name = format!("kia_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let (base, _) = admin_url.rsplit_once('/').unwrap_or((admin_url, ""));
    Ok(format!("{base}/{name}"))
}
