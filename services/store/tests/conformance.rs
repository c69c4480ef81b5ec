//! The store conformance suite: every test runs against SQLite and against PostgreSQL, so the
//! two backends cannot drift apart.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use kia_domain::case::{
    Case, CaseChange, CaseId, CaseIntake, CaseState, EmploymentStatus, ExternalReference,
    MunicipalityCode,
};
use kia_domain::facts::{Category, Visitation};
use kia_store::NewEvent;
use kia_store::{
    CaseFilter, Created, IdempotencyKey, OpenCaseCount, Store, StoreError, StoreOptions, testing,
};

/// A fresh, migrated store of each available backend.
async fn stores() -> Vec<(Arc<dyn Store>, Option<tempfile::TempDir>)> {
    let options = StoreOptions::default();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kia.db").display());
    let mut out: Vec<(Arc<dyn Store>, Option<tempfile::TempDir>)> =
        vec![(kia_store::open(&url, &options).await.unwrap(), Some(dir))];
    if let Some(admin) = testing::postgres_admin_url() {
        let url = testing::fresh_postgres_database(&admin).await.unwrap();
        out.push((kia_store::open(&url, &options).await.unwrap(), None));
    }
    for (store, _) in &out {
        store.migrate().await.unwrap();
    }
    out
}

fn case(n: u64, municipality: &str) -> Case {
    let created =
        Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap() + chrono::Duration::seconds(n as i64);
    let intake = CaseIntake {
        municipality: MunicipalityCode::parse(municipality).unwrap(),
        first_sick_day: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
        employment_status: EmploymentStatus::Employed,
        employer_reference: Some(ExternalReference::parse("CVR-11111111").unwrap()),
        citizen_reference: ExternalReference::parse(&format!("citizen-{n}")).unwrap(),
    };
    Case::open(
        CaseId::new(created.timestamp_millis() as u64, u128::from(n)),
        intake,
        created,
    )
}

fn key(request_id: &str, fingerprint: &str) -> IdempotencyKey {
    IdempotencyKey {
        scope: "jobcenter:jc-630/CreateCase".into(),
        request_id: request_id.into(),
        fingerprint: fingerprint.into(),
    }
}

#[tokio::test]
async fn a_created_case_reads_back_unchanged() {
    for (store, _dir) in stores().await {
        let c = case(1, "630");
        assert_eq!(
            store.create_case(&c, None).await.unwrap(),
            Created::New(c.clone())
        );
        assert_eq!(
            store.get_case(c.id).await.unwrap(),
            Some(c.clone()),
            "{}",
            store.backend()
        );
        assert_eq!(store.get_case(case(2, "630").id).await.unwrap(), None);
    }
}

#[tokio::test]
async fn creating_a_case_appends_case_opened_without_the_citizen_reference() {
    for (store, _dir) in stores().await {
        let c = case(1, "630");
        store.create_case(&c, None).await.unwrap();
        let events = store.events_after(0, 100).await.unwrap();
        assert_eq!(events.len(), 1, "{}", store.backend());
        assert_eq!(events[0].event_type, "case.opened");
        assert_eq!(events[0].stream_id, c.id.to_string());
        assert_eq!(events[0].municipality.as_deref(), Some("630"));
        assert_eq!(events[0].payload["first_sick_day"], "2026-10-01");
        assert!(!events[0].payload.to_string().contains("citizen-1"));
    }
}

#[tokio::test]
async fn a_request_id_replays_the_first_case_and_refuses_other_parameters() {
    for (store, _dir) in stores().await {
        let first = case(1, "630");
        let retry = case(2, "630"); // a retry draws a new id; the first one must win
        assert!(matches!(
            store
                .create_case(&first, Some(&key("r1", "f")))
                .await
                .unwrap(),
            Created::New(_)
        ));
        let replay = store
            .create_case(&retry, Some(&key("r1", "f")))
            .await
            .unwrap();
        assert_eq!(
            replay,
            Created::Replayed(first.clone()),
            "{}",
            store.backend()
        );
        let err = store
            .create_case(&retry, Some(&key("r1", "other")))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::IdempotencyMismatch), "{err:?}");
        assert_eq!(
            store
                .list_cases(&CaseFilter::default(), None, 10)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            store.events_after(0, 10).await.unwrap().len(),
            1,
            "no event for a replay"
        );
    }
}

#[tokio::test]
async fn concurrent_creates_with_one_request_id_create_one_case() {
    for (store, _dir) in stores().await {
        let tasks: Vec<_> = (0..8)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .create_case(&case(n, "630"), Some(&key("same", "f")))
                        .await
                })
            })
            .collect();
        let mut ids = BTreeSet::new();
        for t in tasks {
            ids.insert(t.await.unwrap().unwrap().into_inner().id);
        }
        assert_eq!(
            ids.len(),
            1,
            "{}: every caller sees the one case",
            store.backend()
        );
        assert_eq!(
            store
                .list_cases(&CaseFilter::default(), None, 10)
                .await
                .unwrap()
                .len(),
            1
        );
    }
}

#[tokio::test]
async fn listing_pages_by_key_in_creation_order_with_filters() {
    for (store, _dir) in stores().await {
        for n in 0..7 {
            store
                .create_case(&case(n, if n % 2 == 0 { "630" } else { "580" }), None)
                .await
                .unwrap();
        }
        let vejle = CaseFilter {
            municipality: Some(MunicipalityCode::parse("630").unwrap()),
            state: None,
        };
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store.list_cases(&vejle, after, 3).await.unwrap();
            if page.is_empty() {
                break;
            }
            after = page.last().map(|c| c.id);
            seen.extend(page.into_iter().map(|c| c.id));
        }
        let expected: Vec<CaseId> = (0..7).step_by(2).map(|n| case(n, "630").id).collect();
        assert_eq!(seen, expected, "{}", store.backend());
        let closed = CaseFilter {
            municipality: None,
            state: Some(CaseState::Closed),
        };
        assert!(
            store
                .list_cases(&closed, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let open = |municipality: &str, count| OpenCaseCount {
            municipality: municipality.to_owned(),
            category: None,
            count,
        };
        assert_eq!(
            store.open_case_counts().await.unwrap(),
            vec![open("580", 3), open("630", 4)]
        );
    }
}

/// Concurrent writers append while a reader tails the log by position. The reader must see
/// every event exactly once: a row committed late with a smaller position would be skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tailing_reader_never_skips_an_event_committed_late() {
    const WRITERS: u64 = 8;
    const PER_WRITER: u64 = 40;
    for (store, _dir) in stores().await {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0..PER_WRITER {
                        store
                            .create_case(&case(w * 1000 + i, "630"), None)
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        let total = (WRITERS * PER_WRITER) as usize;
        let mut last = 0;
        let mut seen = Vec::new();
        // Tail until every writer is done and the log has nothing more after `last`.
        loop {
            let writers_done = writers.iter().all(|w| w.is_finished());
            let batch = store.events_after(last, 50).await.unwrap();
            for e in &batch {
                assert!(e.position > last, "positions only grow");
                last = e.position;
                seen.push(e.stream_id.clone());
            }
            if batch.is_empty() {
                if writers_done {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
        for w in writers {
            w.await.unwrap();
        }
        let all: Vec<String> = store
            .events_after(0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.stream_id)
            .collect();
        assert_eq!(all.len(), total);
        assert_eq!(
            seen,
            all,
            "{}: the tailing reader saw the log as it finally is",
            store.backend()
        );
    }
}

#[tokio::test]
async fn an_update_saves_the_facts_once_and_a_stale_version_is_refused() {
    for (store, _dir) in stores().await {
        let mut c = case(1, "630");
        store.create_case(&c, None).await.unwrap();
        let change = CaseChange::Visitate(Visitation {
            on: NaiveDate::from_ymd_opt(2026, 10, 20).unwrap(),
            category: Category::Two,
            reason: "not expected back within 8 weeks".into(),
        });
        let event = NewEvent::case_changed(&c, &change);
        let today = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        c.apply(change, today, c.created_at).unwrap();
        store.update_case(&c, 1, &event).await.unwrap();
        let read = store.get_case(c.id).await.unwrap().unwrap();
        assert_eq!(read, c, "{}", store.backend());
        assert_eq!(read.version, 2);
        assert_eq!(read.category(), Some(Category::Two));
        assert_eq!(
            store.open_case_counts().await.unwrap(),
            vec![OpenCaseCount {
                municipality: "630".to_owned(),
                category: Some("2".to_owned()),
                count: 1,
            }],
            "the open-cases gauge counts the case in its category"
        );

        // A writer that read version 1 lost: nothing is written, no event appended.
        let err = store.update_case(&c, 1, &event).await.unwrap_err();
        assert!(matches!(err, StoreError::Stale), "{err:?}");
        let events = store.events_after(0, 10).await.unwrap();
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(types, ["case.opened", "case.visitated"]);
        assert_eq!(events[1].payload["category"], "two");
        assert_eq!(
            store.last_event_position().await.unwrap(),
            events[1].position
        );
    }
}

#[tokio::test]
async fn leases_go_to_one_holder_until_they_expire_or_are_released() {
    let names: Vec<String> = (0..4).map(|n| format!("sweep/{n}")).collect();
    let ttl = std::time::Duration::from_secs(30);
    let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
    for (store, _dir) in stores().await {
        let a = store
            .claim_leases(&names[..2], "replica-a", t0, ttl)
            .await
            .unwrap();
        assert_eq!(a, names[..2], "{}", store.backend());
        let b = store
            .claim_leases(&names, "replica-b", t0, ttl)
            .await
            .unwrap();
        assert_eq!(b, names[2..], "b gets only what a does not hold");
        // a renews its own; b cannot take them before they expire.
        assert_eq!(
            store
                .claim_leases(&names[..2], "replica-a", t0, ttl)
                .await
                .unwrap(),
            names[..2]
        );
        let later = t0 + chrono::Duration::seconds(10);
        assert!(
            store
                .claim_leases(&names[..2], "replica-b", later, ttl)
                .await
                .unwrap()
                .is_empty()
        );
        // a dies: after expiry b takes over.
        let expired = t0 + chrono::Duration::seconds(31);
        assert_eq!(
            store
                .claim_leases(&names, "replica-b", expired, ttl)
                .await
                .unwrap(),
            names
        );
        // b releases one; a may claim it at once.
        store
            .release_leases(&names[..1], "replica-b")
            .await
            .unwrap();
        assert_eq!(
            store
                .claim_leases(&names, "replica-a", expired, ttl)
                .await
                .unwrap(),
            names[..1]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_never_give_one_lease_to_two_holders() {
    let names: Vec<String> = (0..16).map(|n| format!("shard/{n}")).collect();
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
    for (store, _dir) in stores().await {
        let claims: Vec<_> = (0..4)
            .map(|r| {
                let (store, names) = (store.clone(), names.clone());
                tokio::spawn(async move {
                    store
                        .claim_leases(
                            &names,
                            &format!("replica-{r}"),
                            now,
                            std::time::Duration::from_secs(30),
                        )
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut all = Vec::new();
        for c in claims {
            all.extend(c.await.unwrap());
        }
        all.sort();
        let unique: BTreeSet<&String> = all.iter().collect();
        assert_eq!(
            unique.len(),
            all.len(),
            "{}: a lease went to two holders",
            store.backend()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Screening groups and screenings

mod screening {
    use super::*;
    use chrono::NaiveDateTime;
    use kia_domain::screening::{
        AssessmentInput, ConclusionInput, Discipline, Domain, FindingInput, IcfInput, Member,
        NewCase, OrganisationKind, Screening, ScreeningGroup, WorkingMode,
    };
    use kia_store::{GroupRecord, ScreeningRecord};

    fn group() -> GroupRecord {
        let members = [Discipline::Caseworker, Discipline::Doctor]
            .into_iter()
            .map(|d| Member {
                reference: d.as_str().into(),
                discipline: d,
                organisation: OrganisationKind::Jobcentre,
            })
            .collect();
        GroupRecord {
            id: uuid::Uuid::new_v4(),
            municipality: MunicipalityCode::parse("630").unwrap(),
            group: ScreeningGroup::new(
                "group",
                members,
                WorkingMode::StandingGroup,
                Some(vec![Discipline::Doctor]),
            )
            .unwrap(),
            member_organizations: vec![None, Some("provider-1".into())],
            created_at: Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap(),
        }
    }

    fn screening(case: &Case, g: &GroupRecord) -> ScreeningRecord {
        ScreeningRecord {
            id: uuid::Uuid::new_v4(),
            municipality: g.municipality.clone(),
            group_id: g.id,
            screening: Screening::open(case.id, g.group.clone(), day(40)),
            created_at: g.created_at,
            updated_at: g.created_at,
            version: 1,
        }
    }

    fn day(n: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, 1).unwrap() + chrono::Duration::days(n)
    }

    fn at(n: i64) -> NaiveDateTime {
        day(n).and_hms_opt(9, 0, 0).unwrap()
    }

    /// The doctor assesses all four domains and the screening is concluded on `concluded`.
    fn concluded(mut s: ScreeningRecord, concluded: i64) -> ScreeningRecord {
        s.screening
            .add_assessment(AssessmentInput {
                discipline: Discipline::Doctor,
                assessor: None,
                started_at: at(concluded),
                ended_at: None,
                findings: vec![FindingInput {
                    icf: IcfInput::Written("b28013.2".into()),
                    note: String::new(),
                }],
                personal_factors: String::new(),
                work_capacity: "four hours a day".into(),
                barriers: vec![],
                recommended_actions: vec![],
                domains: Domain::ALL.to_vec(),
                health_condition: None,
            })
            .unwrap();
        s.screening
            .conclude(
                ConclusionInput {
                    concluded_on: day(concluded),
                    recommended_category: Category::Two,
                    exemption: None,
                    plan_activities: vec![],
                    work_adaptations: vec![],
                    expected_return: None,
                },
                None,
            )
            .unwrap();
        s.version += 1;
        s
    }

    #[tokio::test]
    async fn a_group_and_a_screening_read_back_and_a_request_id_replays_the_group() {
        for (store, _dir) in stores().await {
            let g = group();
            let k = IdempotencyKey {
                scope: "jobcenter:jc-630/CreateScreeningGroup".into(),
                request_id: "g-1".into(),
                fingerprint: "f".into(),
            };
            assert_eq!(
                store.create_screening_group(&g, Some(&k)).await.unwrap(),
                Created::New(g.clone())
            );
            let other = GroupRecord {
                id: uuid::Uuid::new_v4(),
                ..group()
            };
            assert_eq!(
                store
                    .create_screening_group(&other, Some(&k))
                    .await
                    .unwrap(),
                Created::Replayed(g.clone()),
                "{}",
                store.backend()
            );
            assert_eq!(
                store.get_screening_group(g.id).await.unwrap(),
                Some(g.clone())
            );
            assert_eq!(store.get_screening_group(other.id).await.unwrap(), None);

            let c = case(1, "630");
            store.create_case(&c, None).await.unwrap();
            let s = screening(&c, &g);
            store.create_screening(&s).await.unwrap();
            assert_eq!(store.get_screening(s.id).await.unwrap(), Some(s.clone()));
            let events = store.events_after(0, 100).await.unwrap();
            let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
            assert_eq!(
                types,
                ["screening_group.created", "case.opened", "screening.opened"]
            );
        }
    }

    #[tokio::test]
    async fn an_update_is_stored_once_and_a_stale_version_is_refused() {
        for (store, _dir) in stores().await {
            let g = group();
            store.create_screening_group(&g, None).await.unwrap();
            let c = case(1, "630");
            store.create_case(&c, None).await.unwrap();
            let s = screening(&c, &g);
            store.create_screening(&s).await.unwrap();
            let done = concluded(s.clone(), 41);
            let event = NewEvent::screening_concluded(&done);
            store.update_screening(&done, 1, &event).await.unwrap();
            assert!(
                matches!(
                    store.update_screening(&done, 1, &event).await,
                    Err(StoreError::Stale)
                ),
                "{}",
                store.backend()
            );
            assert_eq!(store.get_screening(s.id).await.unwrap(), Some(done.clone()));
            let last = store.events_after(0, 100).await.unwrap().pop().unwrap();
            assert_eq!(last.event_type, "screening.concluded");
            assert_eq!(
                last.payload,
                serde_json::json!({ "case_id": c.id, "concluded_on": day(41) })
            );
        }
    }

    #[tokio::test]
    async fn the_queue_lists_open_cases_and_whether_a_screening_was_concluded() {
        for (store, _dir) in stores().await {
            let g = group();
            store.create_screening_group(&g, None).await.unwrap();
            let (screened, open, other) = (case(1, "630"), case(2, "630"), case(3, "580"));
            for c in [&screened, &open, &other] {
                store.create_case(c, None).await.unwrap();
            }
            // An open screening does not count; a concluded one does.
            store.create_screening(&screening(&open, &g)).await.unwrap();
            for n in [50, 45] {
                let s = screening(&screened, &g);
                store.create_screening(&s).await.unwrap();
                let done = concluded(s, n);
                let event = NewEvent::screening_concluded(&done);
                store.update_screening(&done, 1, &event).await.unwrap();
            }
            let mut got = store
                .screening_candidates(&MunicipalityCode::parse("630").unwrap())
                .await
                .unwrap();
            got.sort_by_key(|c| c.case_id);
            let d0 = screened.intake.first_sick_day;
            assert_eq!(
                got,
                [
                    NewCase {
                        case_id: screened.id,
                        first_sick_day: d0,
                        screened: true
                    },
                    NewCase {
                        case_id: open.id,
                        first_sick_day: d0,
                        screened: false
                    },
                ],
                "{}",
                store.backend()
            );
            let dates: Vec<NaiveDate> = store
                .concluded_screenings(screened.id)
                .await
                .unwrap()
                .iter()
                .map(|s| s.screening.conclusion().unwrap().concluded_on)
                .collect();
            assert_eq!(dates, [day(45), day(50)], "earliest conclusion first");
            assert!(
                store
                    .concluded_screenings(open.id)
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
    }
}

// --- plans (issue 7) -------------------------------------------------------------------------

mod plans {
    use super::*;
    use kia_domain::plan::{
        Activity, ActivityId, ActivityKind, Capacity, ChangeRecord, HealthKind, Party, Plan,
        PlanChange, PlanKind, PlanStage, apply, plan_as_of, replay,
    };
    use kia_store::{PlanAccess, PlanGrant};

    fn author() -> Party {
        Party::new(
            ExternalReference::parse("cw-1").unwrap(),
            Some(ExternalReference::parse("jc-630").unwrap()),
            Capacity::Caseworker,
        )
    }

    fn at(minute: i64) -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap() + chrono::Duration::minutes(minute)
    }

    fn first(c: &Case) -> (Plan, ChangeRecord) {
        let record = ChangeRecord::first(
            at(0),
            author(),
            PlanChange::Created {
                case: c.id,
                kind: PlanKind::KiaReturnPlan,
                stage: PlanStage::Preliminary,
                owner: ExternalReference::parse("jc-630").unwrap(),
            },
        );
        (apply(None, &record).unwrap(), record)
    }

    fn specialist(id: &str) -> PlanChange {
        PlanChange::ActivityAdded {
            activity: Activity::new(
                ActivityId::parse(id).unwrap(),
                ActivityKind::Health(HealthKind::Specialist),
                ExternalReference::parse("region-syd").unwrap(),
            )
            .planned(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(), None),
        }
    }

    fn m630() -> MunicipalityCode {
        MunicipalityCode::parse("630").unwrap()
    }

    async fn plan_events(store: &Arc<dyn Store>) -> Vec<kia_store::StoredEvent> {
        store
            .events_after(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.stream_type == "plan")
            .collect()
    }

    #[tokio::test]
    async fn a_plan_its_history_and_its_events_read_back() {
        for (store, _dir) in stores().await {
            let c = case(1, "630");
            store.create_case(&c, None).await.unwrap();
            let (plan, record) = first(&c);
            assert_eq!(
                store
                    .create_plan(&plan, &record, &m630(), None)
                    .await
                    .unwrap(),
                Created::New(plan.clone())
            );
            let r2 = plan.record(at(1), author(), specialist("spec"));
            let p2 = plan.apply(&r2).unwrap();
            store.update_plan(&p2, &r2, &m630()).await.unwrap();

            assert_eq!(
                store.get_plan(c.id).await.unwrap(),
                Some(p2.clone()),
                "{}",
                store.backend()
            );
            let history = store.plan_history(c.id).await.unwrap();
            assert_eq!(history, vec![record.clone(), r2.clone()]);
            assert_eq!(replay(&history).unwrap(), Some(p2.clone()));
            assert_eq!(plan_as_of(&history, at(0)).unwrap(), Some(plan.clone()));

            let events = plan_events(&store).await;
            let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
            assert_eq!(types, ["plan.created", "plan.activity_added"]);
            assert_eq!(events[1].payload["activity_id"], "spec");
            assert_eq!(events[1].payload["version"], 2);
            assert_eq!(events[1].municipality.as_deref(), Some("630"));
            assert!(
                !events
                    .iter()
                    .any(|e| e.payload.to_string().contains("cw-1"))
            );
            assert_eq!(store.get_plan(case(2, "630").id).await.unwrap(), None);
            assert!(
                store
                    .plan_history(case(2, "630").id)
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
    }

    #[tokio::test]
    async fn a_case_reads_with_its_current_plan_in_one_call() {
        for (store, _dir) in stores().await {
            let with_plan = case(1, "630");
            let without = case(2, "630");
            store.create_case(&with_plan, None).await.unwrap();
            store.create_case(&without, None).await.unwrap();
            let (plan, record) = first(&with_plan);
            store
                .create_plan(&plan, &record, &m630(), None)
                .await
                .unwrap();
            let r2 = plan.record(at(1), author(), specialist("spec"));
            let p2 = plan.apply(&r2).unwrap();
            store.update_plan(&p2, &r2, &m630()).await.unwrap();

            let backend = store.backend();
            assert_eq!(
                store.case_with_plan(with_plan.id).await.unwrap(),
                Some((with_plan.clone(), Some(p2))),
                "{backend}"
            );
            assert_eq!(
                store.case_with_plan(without.id).await.unwrap(),
                Some((without.clone(), None)),
                "{backend}"
            );
            assert_eq!(
                store.case_with_plan(case(3, "630").id).await.unwrap(),
                None,
                "{backend}"
            );
        }
    }

    #[tokio::test]
    async fn one_plan_per_case_and_request_ids_replay() {
        for (store, _dir) in stores().await {
            let c = case(1, "630");
            store.create_case(&c, None).await.unwrap();
            let (plan, record) = first(&c);
            let k = IdempotencyKey {
                scope: "jobcenter:jc-630/CreatePlan".into(),
                request_id: "r-1".into(),
                fingerprint: "f".into(),
            };
            store
                .create_plan(&plan, &record, &m630(), Some(&k))
                .await
                .unwrap();
            assert_eq!(
                store
                    .create_plan(&plan, &record, &m630(), Some(&k))
                    .await
                    .unwrap(),
                Created::Replayed(plan.clone())
            );
            assert!(matches!(
                store.create_plan(&plan, &record, &m630(), None).await,
                Err(StoreError::Conflict(_))
            ));
            assert_eq!(plan_events(&store).await.len(), 1, "{}", store.backend());
        }
    }

    #[tokio::test]
    async fn a_stale_version_is_refused_and_nothing_is_written() {
        for (store, _dir) in stores().await {
            let c = case(1, "630");
            store.create_case(&c, None).await.unwrap();
            let (plan, record) = first(&c);
            store
                .create_plan(&plan, &record, &m630(), None)
                .await
                .unwrap();
            let ra = plan.record(at(1), author(), specialist("a"));
            let rb = plan.record(at(1), author(), specialist("b"));
            store
                .update_plan(&plan.apply(&ra).unwrap(), &ra, &m630())
                .await
                .unwrap();
            assert!(matches!(
                store
                    .update_plan(&plan.apply(&rb).unwrap(), &rb, &m630())
                    .await,
                Err(StoreError::Stale)
            ));
            assert_eq!(store.plan_history(c.id).await.unwrap().len(), 2);
            assert_eq!(plan_events(&store).await.len(), 2, "{}", store.backend());
            let stored = store.get_plan(c.id).await.unwrap().unwrap();
            assert_eq!(stored.activities[0].id.as_str(), "a");
        }
    }

    #[tokio::test]
    async fn grants_are_kept_replaced_revoked_and_expire() {
        for (store, _dir) in stores().await {
            let c = case(1, "630");
            store.create_case(&c, None).await.unwrap();
            let (plan, record) = first(&c);
            store
                .create_plan(&plan, &record, &m630(), None)
                .await
                .unwrap();
            let grant = PlanGrant {
                case: c.id,
                organisation: "genoptraening-vejle".into(),
                access: PlanAccess::Read,
                purpose: "rehabilitation".into(),
                granted_at: at(0),
                expires_at: at(60),
            };
            store.put_plan_grant(&grant, &m630()).await.unwrap();
            let got = store
                .plan_grant(c.id, "genoptraening-vejle")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(got, grant, "{}", store.backend());
            assert!(got.allows(PlanAccess::Read, at(59)));
            assert!(!got.allows(PlanAccess::ReadUpdate, at(59)), "read only");
            assert!(!got.allows(PlanAccess::Read, at(60)), "expired");

            let wider = PlanGrant {
                access: PlanAccess::ReadUpdate,
                expires_at: at(120),
                ..grant.clone()
            };
            store.put_plan_grant(&wider, &m630()).await.unwrap();
            assert_eq!(
                store.plan_grant(c.id, "genoptraening-vejle").await.unwrap(),
                Some(wider)
            );
            assert_eq!(store.plan_grant(c.id, "someone-else").await.unwrap(), None);
            assert!(
                store
                    .revoke_plan_grant(c.id, "genoptraening-vejle", &m630())
                    .await
                    .unwrap()
            );
            assert!(
                !store
                    .revoke_plan_grant(c.id, "genoptraening-vejle", &m630())
                    .await
                    .unwrap()
            );
            assert_eq!(
                store.plan_grant(c.id, "genoptraening-vejle").await.unwrap(),
                None
            );
            let types: Vec<String> = plan_events(&store)
                .await
                .into_iter()
                .map(|e| e.event_type)
                .collect();
            assert_eq!(
                types,
                [
                    "plan.created",
                    "plan.access_granted",
                    "plan.access_granted",
                    "plan.access_revoked"
                ]
            );
        }
    }
}

mod contracting {
    use super::*;
    use kia_domain::contracting::{
        Capacity, Contract, ContractId, DateRange, EndOutcome, Price, PriceUnit, Provider,
        ProviderId, ProviderKind, Referral, ReferralEvent, ReferralId, ServiceType, admit_referral,
    };
    use kia_store::{ContractFilter, ProviderRecord, ReferralFilter, ReferralRecord, Referred};

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    fn provider(n: u128, org: &str) -> ProviderRecord {
        ProviderRecord {
            provider: Provider {
                id: ProviderId::new(1_700_000_000_000, n),
                name: format!("Provider {n}"),
                kind: ProviderKind::PrivateProvider,
                cvr: None,
            },
            organization: org.into(),
        }
    }

    fn contract(n: u128, provider: ProviderId, max_concurrent: Option<u32>) -> Contract {
        Contract {
            id: ContractId::new(1_700_000_000_000, n),
            provider,
            municipality: MunicipalityCode::parse("630").unwrap(),
            service: ServiceType::ReturnToWorkCourse,
            price: Price {
                amount: 386_000,
                per: PriceUnit::Course,
            },
            capacity: Capacity {
                max_concurrent,
                per_window: None,
            },
            period: DateRange::new(day(1, 1), day(12, 31)).unwrap(),
            targets: vec![],
            delegated_tasks: vec![],
        }
    }

    fn referral(n: u128, contract: &Contract, case: &Case) -> ReferralRecord {
        ReferralRecord {
            referral: Referral {
                id: ReferralId::new(1_700_000_000_000, n),
                contract: contract.id,
                case: case.id,
                first_sick_day: case.intake.first_sick_day,
                referred_on: day(10, 5),
                started_on: None,
                placement_on: None,
                partial_return_on: None,
                satisfied: None,
                ended: None,
            },
            municipality: contract.municipality.clone(),
            provider: contract.provider,
            version: 1,
        }
    }

    fn admit(
        case: CaseId,
        on: NaiveDate,
    ) -> impl Fn(&Contract, &[Referral]) -> kia_domain::contracting::AdmissionVerdict + Send + Sync
    {
        move |c, existing| {
            admit_referral(
                c,
                existing,
                &MunicipalityCode::parse("630").unwrap(),
                case,
                on,
            )
        }
    }

    #[tokio::test]
    async fn providers_and_contracts_read_back_and_organisations_are_unique() {
        for (store, _dir) in stores().await {
            let p = provider(1, "quick-care");
            assert_eq!(
                store.create_provider(&p, None).await.unwrap(),
                Created::New(p.clone())
            );
            assert_eq!(
                store.get_provider(p.provider.id).await.unwrap(),
                Some(p.clone())
            );
            assert_eq!(
                store.provider_by_organization("quick-care").await.unwrap(),
                Some(p.clone())
            );
            let clash = store
                .create_provider(&provider(2, "quick-care"), None)
                .await;
            assert!(
                matches!(clash, Err(StoreError::Conflict(_))),
                "{}",
                store.backend()
            );

            let k = IdempotencyKey {
                scope: "jobcenter:jc-630/CreateContract".into(),
                request_id: "c-1".into(),
                fingerprint: "f".into(),
            };
            let c = contract(10, p.provider.id, None);
            assert_eq!(
                store.create_contract(&c, Some(&k)).await.unwrap(),
                Created::New(c.clone())
            );
            let retry = contract(11, p.provider.id, None);
            assert_eq!(
                store.create_contract(&retry, Some(&k)).await.unwrap(),
                Created::Replayed(c.clone())
            );
            assert_eq!(store.get_contract(c.id).await.unwrap(), Some(c.clone()));
            let mine = ContractFilter {
                provider: Some(p.provider.id),
                ..Default::default()
            };
            assert_eq!(
                store.list_contracts(&mine, None, 10).await.unwrap(),
                vec![c.clone()]
            );
            let elsewhere = ContractFilter {
                municipality: Some(MunicipalityCode::parse("580").unwrap()),
                ..Default::default()
            };
            assert!(
                store
                    .list_contracts(&elsewhere, None, 10)
                    .await
                    .unwrap()
                    .is_empty()
            );
            let missing = store
                .create_contract(&contract(12, ProviderId::new(1, 99), None), None)
                .await;
            assert!(
                matches!(missing, Err(StoreError::MissingReference(_))),
                "{}",
                store.backend()
            );

            let events = store.events_after(0, 100).await.unwrap();
            let kinds: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
            assert_eq!(
                kinds,
                [
                    "contracting.provider_created",
                    "contracting.contract_created"
                ]
            );
        }
    }

    #[tokio::test]
    async fn a_referral_is_admitted_in_its_transaction_and_updated_by_version() {
        for (store, _dir) in stores().await {
            let p = provider(1, "quick-care");
            store.create_provider(&p, None).await.unwrap();
            let c = contract(10, p.provider.id, Some(1));
            store.create_contract(&c, None).await.unwrap();
            let (a, b) = (case(1, "630"), case(2, "630"));
            store.create_case(&a, None).await.unwrap();
            store.create_case(&b, None).await.unwrap();

            let first = referral(20, &c, &a);
            let got = store
                .refer(&first, None, &admit(a.id, day(10, 5)))
                .await
                .unwrap();
            assert_eq!(got, Referred::New(first.clone()));
            let second = referral(21, &c, &b);
            match store
                .refer(&second, None, &admit(b.id, day(10, 5)))
                .await
                .unwrap()
            {
                Referred::Refused(v) => assert!(!v.is_allowed()),
                other => panic!("{other:?}"),
            }
            assert_eq!(store.get_referral(second.referral.id).await.unwrap(), None);

            let mut started = first.clone();
            started.referral = first
                .referral
                .apply(&ReferralEvent::Started { on: day(10, 9) }, day(11, 1), "")
                .unwrap();
            started.version = 2;
            let event =
                NewEvent::referral_changed(&started, &ReferralEvent::Started { on: day(10, 9) });
            store.update_referral(&started, 1, &event).await.unwrap();
            assert!(matches!(
                store.update_referral(&started, 1, &event).await,
                Err(StoreError::Stale)
            ));
            assert_eq!(
                store.get_referral(first.referral.id).await.unwrap(),
                Some(started.clone())
            );

            let filter = ReferralFilter {
                provider: Some(p.provider.id),
                ..Default::default()
            };
            assert_eq!(
                store.list_referrals(&filter, None, 10).await.unwrap(),
                vec![started.clone()]
            );

            let ended = ReferralEvent::Ended {
                on: day(10, 20),
                outcome: EndOutcome::RecoveredFully,
            };
            let mut done = started.clone();
            done.referral = started.referral.apply(&ended, day(11, 1), "").unwrap();
            done.version = 3;
            store
                .update_referral(&done, 2, &NewEvent::referral_changed(&done, &ended))
                .await
                .unwrap();
            // The slot is free again: the second case now fits.
            let mut later = second.clone();
            later.referral.referred_on = day(10, 21);
            let got = store
                .refer(&later, None, &admit(b.id, day(10, 21)))
                .await
                .unwrap();
            assert_eq!(got, Referred::New(later));

            let events = store.events_after(0, 100).await.unwrap();
            let ended_event = events
                .iter()
                .find(|e| e.event_type == "contracting.referral_ended")
                .unwrap();
            assert_eq!(ended_event.payload["outcome"], "recovered_fully");
            assert_eq!(ended_event.municipality.as_deref(), Some("630"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Alerts

mod alerts {
    use super::*;
    use kia_domain::alerts::{AlertCondition, AlertRule, Recipient, Severity, Subject};
    use kia_store::{
        Acknowledged, AlertChangeKind, AlertFilter, AlertState, CaseEvaluation, alert_partition,
    };

    fn al04(case: CaseId, severity: Severity, days: i64) -> AlertCondition {
        AlertCondition {
            rule: AlertRule::Al04,
            severity,
            subject: Subject::Case { case },
            recipient: Recipient {
                organisation: None,
                role: "caseworker".into(),
            },
            cause: format!("the first follow-up is {days} days overdue"),
            data: serde_json::json!({ "days_overdue": days }),
            due_on: NaiveDate::from_ymd_opt(2026, 11, 25),
        }
    }

    fn evaluation(c: &Case, conditions: Vec<AlertCondition>, position: i64) -> CaseEvaluation {
        CaseEvaluation {
            case: c.id,
            municipality: c.intake.municipality.clone(),
            conditions,
            next_check: NaiveDate::from_ymd_opt(2026, 12, 1),
            position,
        }
    }

    fn of_case(c: &Case) -> AlertFilter {
        AlertFilter {
            case: Some(c.id),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn two_concurrent_raisers_of_one_alert_create_one() {
        for (store, _dir) in stores().await {
            let c = case(1, "630");
            store.create_case(&c, None).await.unwrap();
            let e = evaluation(&c, vec![al04(c.id, Severity::High, 1)], 1);
            let (a, b) = tokio::join!(
                store.reconcile_alerts(std::slice::from_ref(&e), Utc::now()),
                store.reconcile_alerts(std::slice::from_ref(&e), Utc::now()),
            );
            let changes = a.unwrap().len() + b.unwrap().len();
            assert_eq!(changes, 1, "{}: one raise in all", store.backend());
            let alerts = store.list_alerts(&of_case(&c), None, 10).await.unwrap();
            assert_eq!(alerts.len(), 1, "{}", store.backend());
            let raised = store
                .events_after(0, 100)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.event_type == "alerts.raised")
                .count();
            assert_eq!(raised, 1, "{}", store.backend());
        }
    }

    #[tokio::test]
    async fn re_evaluation_updates_the_alert_and_resolves_it_when_the_cause_goes() {
        for (store, _dir) in stores().await {
            let c = case(1, "630");
            store.create_case(&c, None).await.unwrap();
            let run = |conditions: Vec<AlertCondition>, position: i64| {
                let e = evaluation(&c, conditions, position);
                let store = store.clone();
                async move { store.reconcile_alerts(&[e], Utc::now()).await.unwrap() }
            };
            let raised = run(vec![al04(c.id, Severity::Warning, 0)], 1).await;
            assert_eq!(raised.len(), 1);
            assert_eq!(raised[0].kind, AlertChangeKind::Raised);
            let id = raised[0].alert.id;
            assert!(
                run(vec![al04(c.id, Severity::Warning, 0)], 2)
                    .await
                    .is_empty()
            );
            let updated = run(vec![al04(c.id, Severity::High, 1)], 3).await;
            assert_eq!(updated[0].kind, AlertChangeKind::Updated);
            assert_eq!((updated[0].alert.id, updated[0].alert.version), (id, 2));
            assert_eq!(updated[0].alert.severity, Severity::High);
            // An evaluation that saw an older log position does not undo a newer one.
            assert!(run(vec![], 2).await.is_empty());
            let resolved = run(vec![], 4).await;
            assert_eq!(resolved[0].kind, AlertChangeKind::Resolved);
            assert_eq!(resolved[0].alert.state, AlertState::Resolved);
            // Raised again later: a new alert; the resolved one stays as it was.
            let again = run(vec![al04(c.id, Severity::High, 9)], 5).await;
            assert_ne!(again[0].alert.id, id);
            let all = store.list_alerts(&of_case(&c), None, 10).await.unwrap();
            assert_eq!(all.len(), 2, "{}", store.backend());
            let stored = store.get_alert(id).await.unwrap().unwrap();
            assert_eq!(stored, resolved[0].alert, "{}", store.backend());
            let types: Vec<String> = store
                .events_after(0, 100)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.stream_type == "alert")
                .map(|e| e.event_type)
                .collect();
            assert_eq!(
                types,
                [
                    "alerts.raised",
                    "alerts.updated",
                    "alerts.resolved",
                    "alerts.raised"
                ]
            );
        }
    }

    #[tokio::test]
    async fn one_batch_raises_updates_resolves_and_leaves_alone_case_by_case() {
        for (store, _dir) in stores().await {
            let cases: Vec<Case> = (1..=4).map(|n| case(n, "630")).collect();
            for c in &cases {
                store.create_case(c, None).await.unwrap();
            }
            let [a, b, c, d] = [&cases[0], &cases[1], &cases[2], &cases[3]];
            let first = [
                evaluation(b, vec![al04(b.id, Severity::Warning, 0)], 1),
                evaluation(c, vec![al04(c.id, Severity::High, 3)], 1),
                evaluation(d, vec![al04(d.id, Severity::High, 4)], 1),
            ];
            assert_eq!(
                store
                    .reconcile_alerts(&first, Utc::now())
                    .await
                    .unwrap()
                    .len(),
                3
            );
            let before = store.last_event_position().await.unwrap();
            // a: raised; b: escalated; c: the same as before; d: its cause went away.
            let second = [
                evaluation(a, vec![al04(a.id, Severity::High, 1)], 2),
                evaluation(b, vec![al04(b.id, Severity::High, 1)], 2),
                evaluation(c, vec![al04(c.id, Severity::High, 3)], 2),
                evaluation(d, vec![], 2),
            ];
            let changes = store.reconcile_alerts(&second, Utc::now()).await.unwrap();
            let kinds: Vec<(CaseId, AlertChangeKind)> =
                changes.iter().map(|ch| (ch.alert.case, ch.kind)).collect();
            assert_eq!(
                kinds,
                [
                    (a.id, AlertChangeKind::Raised),
                    (b.id, AlertChangeKind::Updated),
                    (d.id, AlertChangeKind::Resolved),
                ],
                "{}",
                store.backend()
            );
            for ch in &changes {
                assert_eq!(
                    store.get_alert(ch.alert.id).await.unwrap().as_ref(),
                    Some(&ch.alert),
                    "{}: stored as reported",
                    store.backend()
                );
            }
            let events: Vec<(String, String)> = store
                .events_after(before, 100)
                .await
                .unwrap()
                .into_iter()
                .map(|e| {
                    (
                        e.event_type,
                        e.payload["case_id"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            assert_eq!(
                events,
                [
                    ("alerts.raised".to_owned(), a.id.to_string()),
                    ("alerts.updated".to_owned(), b.id.to_string()),
                    ("alerts.resolved".to_owned(), d.id.to_string()),
                ],
                "{}: one event per change, in order",
                store.backend()
            );
            // The same evaluations once more: nothing changes and nothing is written.
            let position = store.last_event_position().await.unwrap();
            assert!(
                store
                    .reconcile_alerts(&second, Utc::now())
                    .await
                    .unwrap()
                    .is_empty()
            );
            assert_eq!(store.last_event_position().await.unwrap(), position);
            let open = store
                .list_alerts(
                    &AlertFilter {
                        state: Some(AlertState::Open),
                        ..Default::default()
                    },
                    None,
                    10,
                )
                .await
                .unwrap();
            let mut open_cases: Vec<CaseId> = open.iter().map(|x| x.case).collect();
            open_cases.sort();
            let mut expected = vec![a.id, b.id, c.id];
            expected.sort();
            assert_eq!(open_cases, expected, "{}", store.backend());
        }
    }

    #[tokio::test]
    async fn acknowledging_keeps_who_and_when_once_and_never_a_resolved_alert() {
        for (store, _dir) in stores().await {
            let c = case(1, "630");
            store.create_case(&c, None).await.unwrap();
            let e = evaluation(&c, vec![al04(c.id, Severity::High, 1)], 1);
            let id = store.reconcile_alerts(&[e], Utc::now()).await.unwrap()[0]
                .alert
                .id;
            let at = Utc.with_ymd_and_hms(2026, 11, 27, 9, 30, 0).unwrap();
            let Some(Acknowledged::Done(a)) = store
                .acknowledge_alert(id, "jc-630/caseworker", at)
                .await
                .unwrap()
            else {
                panic!("{}", store.backend())
            };
            assert_eq!(a.state, AlertState::Acknowledged);
            assert_eq!(a.acknowledged_by.as_deref(), Some("jc-630/caseworker"));
            assert_eq!(a.acknowledged_at, Some(at));
            assert!(matches!(
                store.acknowledge_alert(id, "x", at).await.unwrap(),
                Some(Acknowledged::Already(_))
            ));
            // Re-evaluation keeps it acknowledged.
            let e = evaluation(&c, vec![al04(c.id, Severity::High, 2)], 2);
            let updated = store.reconcile_alerts(&[e], Utc::now()).await.unwrap();
            assert_eq!(updated[0].alert.state, AlertState::Acknowledged);
            store
                .reconcile_alerts(&[evaluation(&c, vec![], 3)], Utc::now())
                .await
                .unwrap();
            assert!(matches!(
                store.acknowledge_alert(id, "x", at).await.unwrap(),
                Some(Acknowledged::Resolved(_))
            ));
            let missing = CaseId::new(1, 99).as_uuid();
            assert_eq!(
                store.acknowledge_alert(missing, "x", at).await.unwrap(),
                None
            );
        }
    }

    /// Evaluations of one case racing each other (each decided from what it read, some from
    /// rows another has changed since): the newest evaluation's alert is what stays, one per
    /// (rule, subject), and every change a call reported is in the log once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_evaluations_of_one_case_leave_the_newest_and_log_each_change_once() {
        for (store, _dir) in stores().await {
            let c = case(1, "630");
            store.create_case(&c, None).await.unwrap();
            let before = store.last_event_position().await.unwrap();
            let calls: Vec<_> = (1..=24)
                .map(|position| {
                    let store = store.clone();
                    // Every third one finds the follow-up held (no alert): raise, update and
                    // resolve all race.
                    let conditions = if position % 3 == 0 {
                        vec![]
                    } else {
                        vec![al04(c.id, Severity::High, position)]
                    };
                    let e = evaluation(&c, conditions, position);
                    tokio::spawn(async move { store.reconcile_alerts(&[e], Utc::now()).await })
                })
                .collect();
            let mut reported = 0;
            for call in calls {
                reported += call.await.unwrap().unwrap().len();
            }
            let unresolved: Vec<_> = store
                .list_alerts(&of_case(&c), None, 100)
                .await
                .unwrap()
                .into_iter()
                .filter(|a| a.state != AlertState::Resolved)
                .collect();
            // Position 24 found no alert: whatever ran last, nothing older overwrote it.
            assert!(unresolved.is_empty(), "{}: {unresolved:?}", store.backend());
            let logged = store
                .events_after(before, 1000)
                .await
                .unwrap()
                .iter()
                .filter(|e| e.stream_type == "alert")
                .count();
            assert_eq!(logged, reported, "{}", store.backend());
            // A later evaluation raises it again, once.
            let again = store
                .reconcile_alerts(
                    &[evaluation(&c, vec![al04(c.id, Severity::High, 30)], 30)],
                    Utc::now(),
                )
                .await
                .unwrap();
            assert_eq!(again.len(), 1);
            assert_eq!(again[0].kind, AlertChangeKind::Raised);
        }
    }

    /// The columns the alert indexes hold (state, recipient organisation) follow every change:
    /// a filter by recipient finds an alert under its new organisation only, and a resolved
    /// alert frees its (rule, subject) for a new one.
    #[tokio::test]
    async fn an_update_moves_an_alert_to_its_new_recipient_and_a_resolution_frees_its_subject() {
        for (store, _dir) in stores().await {
            let c = case(1, "630");
            store.create_case(&c, None).await.unwrap();
            let to = |organisation: Option<&str>| AlertFilter {
                recipient_organisation: organisation.map(str::to_owned),
                state: Some(AlertState::Open),
                ..Default::default()
            };
            let count = |filter: AlertFilter| {
                let store = store.clone();
                async move { store.list_alerts(&filter, None, 10).await.unwrap().len() }
            };
            let raised = store
                .reconcile_alerts(
                    &[evaluation(&c, vec![al04(c.id, Severity::Warning, 0)], 1)],
                    Utc::now(),
                )
                .await
                .unwrap();
            let first = raised[0].alert.id;
            // Only the cause and severity change: the recipient stays.
            let mut overdue = al04(c.id, Severity::High, 1);
            let changes = store
                .reconcile_alerts(&[evaluation(&c, vec![overdue.clone()], 2)], Utc::now())
                .await
                .unwrap();
            assert_eq!(changes[0].kind, AlertChangeKind::Updated);
            let stored = store.get_alert(first).await.unwrap().unwrap();
            assert_eq!((stored.severity, stored.version), (Severity::High, 2));
            assert_eq!(stored.cause, "the first follow-up is 1 days overdue");
            // The recipient moves to a rehabilitation centre.
            overdue.recipient.organisation = Some("rc-1".into());
            store
                .reconcile_alerts(&[evaluation(&c, vec![overdue.clone()], 3)], Utc::now())
                .await
                .unwrap();
            assert_eq!(count(to(Some("rc-1"))).await, 1, "{}", store.backend());
            let stored = store.get_alert(first).await.unwrap().unwrap();
            assert_eq!(stored.recipient.organisation.as_deref(), Some("rc-1"));
            assert_eq!((stored.state, stored.version), (AlertState::Open, 3));
            // Resolved: no longer open anywhere, and the same condition raises a new alert.
            store
                .reconcile_alerts(&[evaluation(&c, vec![], 4)], Utc::now())
                .await
                .unwrap();
            assert_eq!(count(to(Some("rc-1"))).await, 0, "{}", store.backend());
            let resolved = store.get_alert(first).await.unwrap().unwrap();
            assert_eq!(
                (resolved.state, resolved.version),
                (AlertState::Resolved, 4)
            );
            let again = store
                .reconcile_alerts(&[evaluation(&c, vec![overdue], 5)], Utc::now())
                .await
                .unwrap();
            assert_eq!(again[0].kind, AlertChangeKind::Raised);
            assert_ne!(again[0].alert.id, first);
            let open = store.list_alerts(&of_case(&c), None, 10).await.unwrap();
            assert_eq!(
                open.iter().filter(|a| a.state == AlertState::Open).count(),
                1
            );
        }
    }

    #[tokio::test]
    async fn due_cases_page_by_next_check_within_a_partition() {
        for (store, _dir) in stores().await {
            let mut cases: Vec<Case> = (1..=40).map(|n| case(n, "630")).collect();
            for c in &cases {
                store.create_case(c, None).await.unwrap();
            }
            let evaluations: Vec<CaseEvaluation> = cases
                .iter()
                .enumerate()
                .map(|(i, c)| CaseEvaluation {
                    next_check: NaiveDate::from_ymd_opt(2026, 12, 1 + (i % 3) as u32),
                    ..evaluation(c, vec![], 1)
                })
                .collect();
            store
                .reconcile_alerts(&evaluations, Utc::now())
                .await
                .unwrap();
            let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
            cases.retain(|c| {
                let i = evaluations.iter().position(|e| e.case == c.id).unwrap();
                i % 3 != 2
            });
            let mut seen = Vec::new();
            for partition in 0..kia_store::ALERT_PARTITIONS {
                let mut after = None;
                loop {
                    let page = store.due_cases(partition, today, after, 2).await.unwrap();
                    let Some(last) = page.last() else { break };
                    after = Some(*last);
                    for (on, id) in page {
                        assert!(on <= today);
                        assert_eq!(alert_partition(id), partition);
                        seen.push(id);
                    }
                }
            }
            seen.sort();
            let mut expected: Vec<CaseId> = cases.iter().map(|c| c.id).collect();
            expected.sort();
            assert_eq!(seen, expected, "{}", store.backend());
        }
    }

    #[tokio::test]
    async fn the_clock_setting_is_shared_and_logged() {
        for (store, _dir) in stores().await {
            assert_eq!(store.clock_offset_ms().await.unwrap(), 0);
            store
                .set_clock_offset_ms(-86_400_000, "ops/operator", Utc::now())
                .await
                .unwrap();
            assert_eq!(store.clock_offset_ms().await.unwrap(), -86_400_000);
            let last = store.events_after(0, 10).await.unwrap().pop().unwrap();
            assert_eq!(last.event_type, "clock.set");
            assert_eq!(last.payload["offset_ms"], -86_400_000);
        }
    }
}

/// The connection gauges: each pool with its configured maximum; after a query the connection it
/// used is counted, none twice.
#[tokio::test]
async fn pools_report_their_connections_and_maximum() {
    for (store, _dir) in stores().await {
        store.last_event_position().await.unwrap();
        let pools = store.pool_connections();
        let names: Vec<&str> = pools.iter().map(|p| p.pool).collect();
        let maxima: Vec<u32> = pools.iter().map(|p| p.max).collect();
        match store.backend() {
            "sqlite" => {
                assert_eq!(names, ["writer", "readers"]);
                assert_eq!(maxima, [1, StoreOptions::default().max_connections]);
            }
            _ => {
                assert_eq!(names, ["main"]);
                assert_eq!(maxima, [StoreOptions::default().max_connections]);
            }
        }
        for p in &pools {
            assert!(p.used + p.idle <= p.max, "{p:?}");
        }
        // The connection just used is in the pool (sqlx hands it back asynchronously, so it may
        // still count as used for a moment).
        assert!(
            pools.iter().any(|p| p.used + p.idle >= 1),
            "{}: the connection just used is counted: {pools:?}",
            store.backend()
        );
    }
}
