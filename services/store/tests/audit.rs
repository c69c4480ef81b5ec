//! Store conformance for the audit trail, on SQLite and PostgreSQL: appends form an unbroken hash
//! chain, a change's records commit (or roll back) with the change, and a record edited or
//! removed behind kia's back breaks the chain where it was touched.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use kia_domain::case::{
    Case, CaseChange, CaseId, CaseIntake, EmploymentStatus, ExternalReference, MunicipalityCode,
};
use kia_domain::facts::{Category as VisitationCategory, Visitation};
use kia_store::audit::{
    Actor, AuditEntry, AuditScope, CASE_INDEX_BATCH, Category, ChainHead, GENESIS, touch,
    verify_chain,
};
use kia_store::{NewEvent, Store, StoreError, StoreOptions, testing};
use sqlx::Connection;

/// A fresh, migrated store of each available backend, with its URL for raw SQL.
async fn stores() -> Vec<(Arc<dyn Store>, String, Option<tempfile::TempDir>)> {
    let options = StoreOptions::default();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kia.db").display());
    let mut out = vec![(
        kia_store::open(&url, &options).await.unwrap(),
        url,
        Some(dir),
    )];
    if let Some(admin) = testing::postgres_admin_url() {
        let url = testing::fresh_postgres_database(&admin).await.unwrap();
        out.push((kia_store::open(&url, &options).await.unwrap(), url, None));
    }
    for (store, _, _) in &out {
        store.migrate().await.unwrap();
    }
    out
}

/// Runs a statement on the store's database, as someone with database access could.
async fn tamper(url: &str, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
}

fn entry(case: &str, action: &str) -> AuditEntry {
    AuditEntry {
        organization: "jc-630".into(),
        organization_kind: "jobcenter".into(),
        role: "caseworker".into(),
        person: Some("cw-17".into()),
        municipality: Some("630".into()),
        case_id: Some(case.into()),
        category: "case".into(),
        action: action.into(),
        outcome: "success".into(),
        purpose: "case_management".into(),
        rpc: "kia.v1.CaseService/GetCase".into(),
        request_id: "req-1".into(),
        trace_id: String::new(),
    }
}

fn actor() -> Actor {
    Actor {
        organization: "jc-630".into(),
        organization_kind: "jobcenter".into(),
        role: "caseworker".into(),
        person: None,
        municipality: Some("630".into()),
        purpose: "case_management".into(),
        rpc: "kia.v1.CaseService/Visitate".into(),
        request_id: "req-2".into(),
        trace_id: String::new(),
    }
}

fn case(n: u64) -> Case {
    let created = Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap();
    let intake = CaseIntake {
        municipality: MunicipalityCode::parse("630").unwrap(),
        first_sick_day: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
        employment_status: EmploymentStatus::Employed,
        employer_reference: None,
        citizen_reference: ExternalReference::parse("citizen-1").unwrap(),
    };
    Case::open(
        CaseId::new(created.timestamp_millis() as u64, u128::from(n)),
        intake,
        created,
    )
}

#[tokio::test]
async fn appends_form_one_unbroken_chain() {
    for (store, _, _dir) in stores().await {
        let backend = store.backend();
        store
            .append_audit(&[entry("a", "read"), entry("b", "read")])
            .await
            .unwrap();
        store.append_audit(&[entry("a", "read")]).await.unwrap();
        let chain = store.audit_chain(0, 100).await.unwrap();
        assert_eq!(
            chain.iter().map(|r| r.sequence).collect::<Vec<_>>(),
            [1, 2, 3],
            "{backend}"
        );
        assert_eq!(chain[0].prev_hash, GENESIS);
        assert_eq!(chain[1].prev_hash, chain[0].hash);
        assert_eq!(
            chain[0].entry,
            entry("a", "read"),
            "{backend}: reads back unchanged"
        );
        let head = verify_chain(&ChainHead::default(), &chain).unwrap();
        assert_eq!(head.sequence, 3);
        // Verified in pieces, the result is the same.
        let first = verify_chain(&ChainHead::default(), &chain[..1]).unwrap();
        assert_eq!(verify_chain(&first, &chain[1..]).unwrap(), head);

        let of_a = store.audit_of_cases(&["a".into()], 0, 100).await.unwrap();
        assert_eq!(of_a.iter().map(|r| r.sequence).collect::<Vec<_>>(), [1, 3]);
        let after = store.audit_of_cases(&["a".into()], 1, 100).await.unwrap();
        assert_eq!(after.len(), 1);
    }
}

/// A query by case finds every record naming it, in sequence order and page by page, whether
/// the case index covers the record yet or not. On SQLite the index follows the trail in bulk:
/// its mark has moved past the first CASE_INDEX_BATCH records and not yet reached the last.
#[tokio::test]
async fn records_by_case_are_found_on_both_sides_of_the_case_index_mark() {
    const CASES: [&str; 3] = ["a", "b", "c"];
    const TOTAL: usize = CASE_INDEX_BATCH as usize + 44;
    let last = TOTAL as i64;
    let tail = last - 50;
    for (store, url, _dir) in stores().await {
        let backend = store.backend();
        let all: Vec<AuditEntry> = (0..TOTAL).map(|i| entry(CASES[i % 3], "read")).collect();
        for batch in all.chunks(7) {
            store.append_audit(batch).await.unwrap();
            // A read of the trail takes in what SQLite's read log holds: the trail grows by
            // batches of 7, as it does when reads and changes alternate.
            store.audit_chain(0, 1).await.unwrap();
        }
        let of = |case: usize, after: i64| -> Vec<i64> {
            (after + 1..=last)
                .filter(|s| usize::try_from(s - 1).unwrap() % 3 == case)
                .collect()
        };

        let mut pages = Vec::new();
        let mut after = 0;
        loop {
            let page = store
                .audit_of_cases(&["b".into()], after, 40)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = last.sequence;
            assert!(page.iter().all(|r| r.entry.case_id.as_deref() == Some("b")));
            pages.extend(page.iter().map(|r| r.sequence));
        }
        assert_eq!(pages, of(1, 0), "{backend}: case b, in pages of 40");

        let mut expected = [of(0, tail), of(2, tail)].concat();
        expected.sort_unstable();
        let both = store
            .audit_of_cases(&["a".into(), "c".into()], tail, 1000)
            .await
            .unwrap();
        assert_eq!(
            both.iter().map(|r| r.sequence).collect::<Vec<_>>(),
            expected,
            "{backend}: two cases after {tail}, on both sides of the mark, in order"
        );

        if url.starts_with("sqlite:") {
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            let mark: i64 = sqlx::query_scalar("SELECT sequence FROM audit_case_index_upto")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert!(
                (CASE_INDEX_BATCH..last).contains(&mark),
                "the index reaches {mark}"
            );
            assert!(mark > tail);
        }
    }
}

/// A record's hash is what earlier releases computed for the same fields (this one was written
/// by the first release of the trail), so a trail they wrote still verifies. Text that JSON must
/// escape is part of it.
#[test]
fn a_record_hashes_as_it_did_when_it_was_written() {
    let entry = AuditEntry {
        organization: "jc-630 \"Ærø\"\n".into(),
        organization_kind: "jobcenter".into(),
        role: "caseworker".into(),
        person: None,
        municipality: Some("630".into()),
        case_id: Some("0190c0de-0000-7000-8000-000000000001".into()),
        category: "case".into(),
        action: "read".into(),
        outcome: "success".into(),
        purpose: "case_management".into(),
        rpc: "kia.v1.CaseService/GetCase".into(),
        request_id: "req-\u{1}".into(),
        trace_id: String::new(),
    };
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 8, 30, 0).unwrap()
        + chrono::Duration::microseconds(123_456);
    assert_eq!(
        kia_store::audit::record_hash(42, at, &entry, GENESIS),
        "27cbf88f5cfce6a4412551cc9ee577e757c7d81e334b8cd2fe10dbb04c2eee0b"
    );
}

#[tokio::test]
async fn a_change_records_its_access_in_its_own_transaction() {
    for (store, _, _dir) in stores().await {
        let backend = store.backend();
        let c = case(1);
        store.create_case(&c, None).await.unwrap();
        assert!(
            store.audit_chain(0, 10).await.unwrap().is_empty(),
            "{backend}: work outside an RPC is not recorded"
        );

        let change = CaseChange::Visitate(Visitation {
            on: NaiveDate::from_ymd_opt(2026, 10, 20).unwrap(),
            category: VisitationCategory::Two,
            reason: "needs follow-up".into(),
        });
        let mut changed = c.clone();
        let event = NewEvent::case_changed(&c, &change);
        changed
            .apply(
                change,
                NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
                Utc::now(),
            )
            .unwrap();
        let scope = AuditScope::new(actor());
        scope
            .run(async {
                touch(&c.id.to_string(), Category::Case);
                // A stale write rolls back, and its audit record with it.
                let stale = store.update_case(&changed, c.version + 7, &event).await;
                assert!(matches!(stale, Err(StoreError::Stale)), "{backend}");
                assert!(
                    store.audit_chain(0, 10).await.unwrap().is_empty(),
                    "{backend}"
                );
                store
                    .update_case(&changed, c.version, &event)
                    .await
                    .unwrap();
            })
            .await;
        let chain = store.audit_chain(0, 10).await.unwrap();
        assert_eq!(chain.len(), 1, "{backend}");
        let e = &chain[0].entry;
        assert_eq!(e.case_id.as_deref(), Some(c.id.to_string().as_str()));
        assert_eq!((e.action.as_str(), e.category.as_str()), ("update", "case"));
        assert_eq!(e.rpc, "kia.v1.CaseService/Visitate");
    }
}

#[tokio::test]
async fn an_edited_or_removed_record_breaks_the_chain() {
    for (store, url, _dir) in stores().await {
        let backend = store.backend();
        let entries: Vec<_> = (0..5).map(|_| entry("a", "read")).collect();
        store.append_audit(&entries).await.unwrap();
        let intact = store.audit_chain(0, 100).await.unwrap();
        assert!(verify_chain(&ChainHead::default(), &intact).is_ok());

        tamper(
            &url,
            "UPDATE audit_events SET action = 'update' WHERE sequence = 3",
        )
        .await;
        let edited = store.audit_chain(0, 100).await.unwrap();
        assert_eq!(
            verify_chain(&ChainHead::default(), &edited),
            Err(3),
            "{backend}: an edited record"
        );

        tamper(
            &url,
            "UPDATE audit_events SET action = 'read' WHERE sequence = 3",
        )
        .await;
        tamper(&url, "DELETE FROM audit_events WHERE sequence = 4").await;
        let removed = store.audit_chain(0, 100).await.unwrap();
        assert_eq!(
            verify_chain(&ChainHead::default(), &removed),
            Err(4),
            "{backend}: a removed record"
        );
    }
}

/// On SQLite the records of reads are written to the read log (`kia.db-reads`) and join the
/// trail a moment later. Those a process wrote and had not yet moved when it died are in the
/// trail of the next store to open the database: once each, after the ones moved before, with
/// the chain intact; and opening once more adds nothing.
#[tokio::test]
async fn read_records_left_in_the_read_log_by_a_crash_join_the_trail_once() {
    let options = StoreOptions::default();
    let running = tempfile::tempdir().unwrap();
    let url = |dir: &tempfile::TempDir| format!("sqlite://{}", dir.path().join("kia.db").display());
    let store = kia_store::open(&url(&running), &options).await.unwrap();
    store.migrate().await.unwrap();
    store
        .append_audit(&[entry("a", "read"), entry("b", "read")])
        .await
        .unwrap();
    assert_eq!(store.audit_chain(0, 10).await.unwrap().len(), 2);
    store.append_audit(&[entry("c", "read")]).await.unwrap();
    store.append_audit(&[entry("d", "read")]).await.unwrap();
    let log = running.path().join("kia.db-reads");
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("\"case_id\":\"d\"")
    );

    // What the disk holds at this instant, as a SIGKILL would leave it: this test's runtime has
    // one thread, so the store's move into the trail (10 ms after an append) has not run.
    let crashed = tempfile::tempdir().unwrap();
    for file in ["kia.db", "kia.db-wal", "kia.db-reads"] {
        std::fs::copy(running.path().join(file), crashed.path().join(file)).unwrap();
    }
    let mut conn = sqlx::SqliteConnection::connect(&url(&crashed))
        .await
        .unwrap();
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(before, 2, "c and d are in the read log only");
    drop(conn);

    for restart in 0..2 {
        let store = kia_store::open(&url(&crashed), &options).await.unwrap();
        store.migrate().await.unwrap();
        let chain = store.audit_chain(0, 10).await.unwrap();
        let cases: Vec<_> = chain
            .iter()
            .map(|r| r.entry.case_id.clone().unwrap())
            .collect();
        assert_eq!(cases, ["a", "b", "c", "d"], "start {restart}");
        assert!(verify_chain(&ChainHead::default(), &chain).is_ok());
        store.close().await;
    }
}

/// Where the store can keep a read's records without waiting (SQLite's open read log), it does so
/// on the calling thread; elsewhere it says so, and the records go the async way. Either way they
/// are in the trail, in order, when it is read.
#[tokio::test]
async fn read_records_are_kept_at_once_where_the_read_log_is_open() {
    for (store, url, _dir) in stores().await {
        let backend = &url[..url.find(':').unwrap()];
        let now = store.append_audit_now(&[entry("a", "read")]);
        if backend == "sqlite" {
            assert!(matches!(now, Some(Ok(()))), "{backend}: {now:?}");
        } else {
            assert!(now.is_none(), "{backend}: {now:?}");
            store.append_audit(&[entry("a", "read")]).await.unwrap();
        }
        store.append_audit(&[entry("b", "read")]).await.unwrap();
        let chain = store.audit_chain(0, 10).await.unwrap();
        let cases: Vec<_> = chain.iter().map(|r| r.entry.case_id.clone()).collect();
        assert_eq!(cases, [Some("a".into()), Some("b".into())], "{backend}");
        assert!(verify_chain(&ChainHead::default(), &chain).is_ok());

        // A closed store keeps nothing at once, and the async way fails.
        store.close().await;
        assert!(
            store.append_audit_now(&[entry("c", "read")]).is_none(),
            "{backend}"
        );
        assert!(
            store.append_audit(&[entry("c", "read")]).await.is_err(),
            "{backend}"
        );
    }
}
