//! Support for tests that run against both backends: the conformance suite here and the
//! end-to-end tests. PostgreSQL comes from `KIA_TEST_POSTGRES_URL` (the test script starts a
//! throwaway cluster and sets it); every test gets a database of its own.

use sqlx::Connection;

use crate::audit::AuditEntry;

/// The audit record of a caseworker's read of a case, as the RPC layer writes it.
pub fn read_record(case_id: &str, request_id: &str) -> AuditEntry {
    AuditEntry {
        organization: "jc-630".into(),
        organization_kind: "jobcenter".into(),
        role: "caseworker".into(),
        person: None,
        municipality: Some("630".into()),
        case_id: Some(case_id.into()),
        category: "case".into(),
        action: "read".into(),
        outcome: "success".into(),
        purpose: "case_management".into(),
        rpc: "kia.v1.CaseService/GetCase".into(),
        request_id: request_id.into(),
        trace_id: String::new(),
    }
}

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

/// One kind of benchmark case: its first sick day, and its facts and plan as JSON of
/// `kia_domain` types (`"@CASE@"` in the plan stands for each case's id).
#[derive(Debug, Clone)]
pub struct SeedCase {
    pub first_sick_day: chrono::NaiveDate,
    pub facts: String,
    pub plan: String,
}

/// Bulk-loads `n` open cases (employed, municipality 630), case `i` of kind `i mod
/// kinds.len()`, each due for alert evaluation on its first sick day — for benchmarks, in one
/// statement per table, far faster than creating cases one by one. Ids are UUIDv7-shaped:
/// `01000000-0000-7000-8000-<i in hex>`.
pub async fn seed_open_cases(url: &str, n: u64, kinds: &[SeedCase]) -> Result<(), sqlx::Error> {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let count = i64::try_from(kinds.len().max(1)).unwrap_or(i64::MAX);
    let now = "2026-11-30T08:00:00.000000Z";
    if url.starts_with("sqlite:") {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteSynchronous};
        use std::str::FromStr;
        let options = SqliteConnectOptions::from_str(url)?.synchronous(SqliteSynchronous::Off);
        let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
        let mut tx = conn.begin().await?;
        sqlx::query(
            "CREATE TEMP TABLE seed_kinds (k INTEGER PRIMARY KEY, first_sick_day TEXT,
                facts TEXT, plan TEXT)",
        )
        .execute(&mut *tx)
        .await?;
        for (k, kind) in kinds.iter().enumerate() {
            sqlx::query("INSERT INTO seed_kinds VALUES (?, ?, ?, ?)")
                .bind(k as i64)
                .bind(kind.first_sick_day)
                .bind(&kind.facts)
                .bind(&kind.plan)
                .execute(&mut *tx)
                .await?;
        }
        let seq =
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1)";
        let id = "printf('01000000-0000-7000-8000-%012x', n)";
        let join = "FROM seq JOIN seed_kinds s ON s.k = n % ?2";
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{seq} INSERT INTO cases (id, municipality, first_sick_day, employment_status,
                employer_reference, citizen_reference, state, category, facts, created_at,
                updated_at, version)
             SELECT {id}, '630', s.first_sick_day, 'employed', 'CVR-11111111', 'bench-' || n,
                'open', NULL, s.facts, ?3, ?3, 1 {join}"
        )))
        .bind(n)
        .bind(count)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{seq} INSERT INTO plans (case_id, municipality, kind, stage, document, created_at,
                updated_at, version)
             SELECT {id}, '630', 'kia_return_plan', 'final', replace(s.plan, '@CASE@', {id}),
                ?3, ?3, 1 {join}"
        )))
        .bind(n)
        .bind(count)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{seq} INSERT INTO alert_schedule (case_id, partition, next_check_on, evaluated_position)
             SELECT {id}, n % 16, s.first_sick_day, 0 {join}"
        )))
        .bind(n)
        .bind(count)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DROP TABLE seed_kinds")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query(
            "CREATE TEMP TABLE seed_kinds (k bigint PRIMARY KEY, first_sick_day date,
                facts text, plan text)",
        )
        .execute(&mut conn)
        .await?;
        for (k, kind) in kinds.iter().enumerate() {
            sqlx::query("INSERT INTO seed_kinds VALUES ($1, $2, $3, $4)")
                .bind(k as i64)
                .bind(kind.first_sick_day)
                .bind(&kind.facts)
                .bind(&kind.plan)
                .execute(&mut conn)
                .await?;
        }
        let id = "('01000000-0000-7000-8000-' || lpad(to_hex(n), 12, '0'))";
        let join = "FROM generate_series(1, $1) AS n JOIN seed_kinds s ON s.k = n % $2";
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO cases (id, municipality, first_sick_day, employment_status,
                employer_reference, citizen_reference, state, category, facts, created_at,
                updated_at, version)
             SELECT {id}::uuid, '630', s.first_sick_day, 'employed', 'CVR-11111111',
                'bench-' || n, 'open', NULL, s.facts::jsonb, $3::timestamptz,
                $3::timestamptz, 1 {join}"
        )))
        .bind(n)
        .bind(count)
        .bind(now)
        .execute(&mut conn)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO plans (case_id, municipality, kind, stage, document, created_at,
                updated_at, version)
             SELECT {id}::uuid, '630', 'kia_return_plan', 'final',
                replace(s.plan, '@CASE@', {id})::jsonb, $3::timestamptz, $3::timestamptz, 1
             {join}"
        )))
        .bind(n)
        .bind(count)
        .bind(now)
        .execute(&mut conn)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO alert_schedule (case_id, partition, next_check_on, evaluated_position)
             SELECT {id}::uuid, (n % 16)::int, s.first_sick_day, 0 {join}"
        )))
        .bind(n)
        .bind(count)
        .execute(&mut conn)
        .await?;
        sqlx::query("ANALYZE").execute(&mut conn).await?;
    }
    Ok(())
}

/// Reads every case's facts and plan document as stored, row by row without decoding them:
/// the plain full-table read a sweep is compared with. Returns the rows and bytes read.
pub async fn read_cases_and_plans(url: &str) -> Result<(u64, u64), sqlx::Error> {
    use sqlx::Row;
    use tokio_stream::StreamExt;
    let (mut rows, mut bytes) = (0u64, 0u64);
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        let mut stream = sqlx::query(
            "SELECT c.id AS id, c.facts AS facts, p.document AS plan
             FROM cases c LEFT JOIN plans p ON p.case_id = c.id",
        )
        .fetch(&mut conn);
        while let Some(row) = stream.try_next().await? {
            let (id, facts, plan): (String, String, Option<String>) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            bytes += (id.len() + facts.len() + plan.map_or(0, |p| p.len())) as u64;
            rows += 1;
        }
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let mut stream = sqlx::query(
            "SELECT c.id::text AS id, c.facts::text AS facts, p.document::text AS plan
             FROM cases c LEFT JOIN plans p ON p.case_id = c.id",
        )
        .fetch(&mut conn);
        while let Some(row) = stream.try_next().await? {
            let (id, facts, plan): (String, String, Option<String>) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            bytes += (id.len() + facts.len() + plan.map_or(0, |p| p.len())) as u64;
            rows += 1;
        }
    }
    Ok((rows, bytes))
}
