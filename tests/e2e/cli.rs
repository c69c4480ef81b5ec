//! The `kia` command line, run as a user runs it: the real binary against a real daemon, checked
//! on its `--output json` and its exit codes. The command line is a client, so one backend
//! (SQLite) is enough here.

use std::process::{Output, Stdio};

use chrono::{Duration, NaiveDate};
use serde_json::Value;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

use crate::support::{Backend, Caller, Daemon};

const VEJLE: &str = "jc-630:jobcenter:630:caseworker";
const AABENRAA: &str = "jc-580:jobcenter:580:caseworker";

fn today() -> NaiveDate {
    kia_runtime::clock::danish_date(chrono::Utc::now())
}

fn ago(days: i64) -> String {
    (today() - Duration::days(days)).to_string()
}

/// Runs `kia ARGS --output json` against `server` as `identity`.
async fn kia_at(server: &str, identity: &str, args: &[&str]) -> Output {
    let config_home = tempfile::tempdir().unwrap();
    tokio::process::Command::new(env!("CARGO_BIN_EXE_kia"))
        .args(args)
        .args(["--output", "json"])
        .env("KIA_SERVER", server)
        .env("KIA_DEV_IDENTITY", identity)
        .env("KIA_AUTHOR", "cw-1:caseworker")
        .env("XDG_CONFIG_HOME", config_home.path())
        .env_remove("KIA_TOKEN")
        .env_remove("KIA_CONFIG")
        .output()
        .await
        .unwrap()
}

async fn kia(daemon: &Daemon, identity: &str, args: &[&str]) -> Output {
    kia_at(&format!("http://{}", daemon.grpc_addr), identity, args).await
}

/// `kia` with a command line of words without spaces, e.g. `"plan book CASE x --on 2026-12-01"`.
async fn line(daemon: &Daemon, identity: &str, line: &str) -> Output {
    let words: Vec<&str> = line.split_whitespace().collect();
    kia(daemon, identity, &words).await
}

/// `kia ARGS --output json` against `daemon` with `caller`'s signed token in KIA_TOKEN.
fn signed(daemon: &Daemon, caller: &Caller, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_kia"));
    command
        .args(args)
        .args(["--output", "json"])
        .env("KIA_SERVER", format!("http://{}", daemon.grpc_addr))
        .env("KIA_TOKEN", caller.token().unwrap())
        .env("XDG_CONFIG_HOME", daemon.dir.path())
        .env_remove("KIA_DEV_IDENTITY")
        .env_remove("KIA_CONFIG");
    command
}

async fn kia_signed(daemon: &Daemon, caller: &Caller, args: &[&str]) -> Output {
    signed(daemon, caller, args).output().await.unwrap()
}

/// A running `kia alerts watch`, read line by line.
struct Watch {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Watch {
    fn start(daemon: &Daemon, caller: &Caller, after: i64) -> Self {
        let mut child = signed(
            daemon,
            caller,
            &["alerts", "watch", "--after", &after.to_string()],
        )
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Self { child, lines }
    }

    /// The next change printed (one JSON object per line).
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(std::time::Duration::from_secs(60), self.lines.next_line())
            .await
            .expect("a change within a minute")
            .unwrap()
            .expect("the watch is still running");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("one JSON object per line: {line}"))
    }

    /// The changes printed up to and including the first one `stop` accepts.
    async fn until(&mut self, stop: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let change = self.next().await;
            let done = stop(&change);
            seen.push(change);
            if done {
                return seen;
            }
        }
    }

    /// Ctrl-C: the watch ends cleanly, exit 0.
    async fn interrupt(mut self) {
        let pid = self.child.id().unwrap().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = self.child.wait().await.unwrap();
        assert_eq!(status.code(), Some(0), "Ctrl-C ends the watch with exit 0");
    }
}

/// The element of a JSON list whose `key` is `value`.
fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|item| item[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {list}"))
}

/// The JSON a successful command printed.
fn ok(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout {}\nstderr {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The exit code and the JSON error a failed command printed on stderr.
fn failed(out: &Output) -> (i32, Value) {
    let code = out.status.code().unwrap();
    assert_ne!(code, 0, "{}", String::from_utf8_lossy(&out.stdout));
    let err: Value = serde_json::from_slice(&out.stderr)
        .unwrap_or_else(|_| panic!("JSON on stderr: {}", String::from_utf8_lossy(&out.stderr)));
    (code, err["error"].clone())
}

#[tokio::test]
async fn case_commands_and_their_exit_codes() {
    let daemon = Daemon::start_with(Backend::Sqlite, &["--insecure-dev-identities"]).await;
    let d0 = ago(30);
    let created = ok(&kia(
        &daemon,
        VEJLE,
        &[
            "case",
            "create",
            "--first-sick-day",
            &d0,
            "--employment",
            "employed",
            "--employer",
            "CVR-29189587",
            "--citizen",
            "vejle-0042",
        ],
    )
    .await);
    let id = created["case_id"].as_str().unwrap().to_owned();
    assert_eq!(created["state"], "CASE_STATE_OPEN");
    assert_eq!(
        created["municipality_code"], "630",
        "the caller's municipality"
    );

    let shown = ok(&kia(&daemon, VEJLE, &["case", "show", &id]).await);
    assert_eq!(shown["first_sick_day"], d0);
    // For people: aligned fields, no colour off a terminal.
    let human = tokio::process::Command::new(env!("CARGO_BIN_EXE_kia"))
        .args(["case", "show", &id])
        .env("KIA_SERVER", format!("http://{}", daemon.grpc_addr))
        .env("KIA_DEV_IDENTITY", VEJLE)
        .output()
        .await
        .unwrap();
    let human = String::from_utf8(human.stdout).unwrap();
    assert!(
        human.contains(&format!("first sick day  {d0}\n")),
        "{human}"
    );
    assert!(human.contains("state           open\n"), "{human}");

    let visitated = ok(&kia(
        &daemon,
        VEJLE,
        &[
            "case",
            "visitate",
            &id,
            "--category",
            "2",
            "--reason",
            "not back within 8 weeks",
        ],
    )
    .await);
    assert_eq!(visitated["category"], "CATEGORY_2");

    // The first follow-up is a talk in person (SDL-13b): by phone it is refused with the rule.
    let (code, err) = failed(
        &kia(
            &daemon,
            VEJLE,
            &[
                "case",
                "follow-up",
                &id,
                "--mode",
                "phone",
                "--outcome",
                "partial return agreed",
            ],
        )
        .await,
    );
    assert_eq!((code, err["rule_id"].as_str()), (5, Some("SDL-13b")));
    let followed = ok(&kia(
        &daemon,
        VEJLE,
        &[
            "case",
            "follow-up",
            &id,
            "--mode",
            "in-person",
            "--outcome",
            "partial return agreed",
        ],
    )
    .await);
    assert_ne!(followed["etag"], visitated["etag"]);

    let listed = ok(&kia(&daemon, VEJLE, &["case", "list", "--state", "open"]).await);
    let ids: Vec<&str> = listed["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);

    let timeline = ok(&kia(&daemon, VEJLE, &["case", "timeline", &id]).await);
    assert!(
        timeline["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["rule_id"] == "T-21"),
        "{timeline}"
    );

    // A stale etag is ABORTED: exit 5 with the current etag.
    let stale = kia(
        &daemon,
        VEJLE,
        &[
            "case",
            "close",
            &id,
            "--outcome",
            "full-return",
            "--etag",
            "\"1\"",
        ],
    )
    .await;
    let (code, err) = failed(&stale);
    assert_eq!((code, err["code"].as_str()), (5, Some("ABORTED")));
    assert_eq!(err["current_etag"], followed["etag"]);

    let closed = ok(&kia(
        &daemon,
        VEJLE,
        &["case", "close", &id, "--outcome", "full-return"],
    )
    .await);
    assert_eq!(closed["state"], "CASE_STATE_CLOSED");
    let (code, err) = failed(
        &kia(
            &daemon,
            VEJLE,
            &["case", "close", &id, "--outcome", "full-return"],
        )
        .await,
    );
    assert_eq!(
        (code, err["code"].as_str()),
        (5, Some("FAILED_PRECONDITION"))
    );

    // The field at fault, exit 2.
    let (code, err) = failed(
        &kia(
            &daemon,
            VEJLE,
            &[
                "case",
                "create",
                "--first-sick-day",
                &d0,
                "--employment",
                "employed",
                "--citizen",
                "x",
            ],
        )
        .await,
    );
    assert_eq!((code, err["code"].as_str()), (2, Some("INVALID_ARGUMENT")));
    assert_eq!(
        err["field_violations"][0]["field"],
        "case.employer_reference"
    );

    // Another municipality is denied without learning whether the case exists: exit 4.
    let (code, _) = failed(&kia(&daemon, AABENRAA, &["case", "show", &id]).await);
    assert_eq!(code, 4);
    // No such case: exit 3.
    let (code, err) = failed(
        &kia(
            &daemon,
            VEJLE,
            &["case", "show", "01a22d0d-f8bf-7041-a75a-6d8155221301"],
        )
        .await,
    );
    assert_eq!((code, err["code"].as_str()), (3, Some("NOT_FOUND")));
    // No identity at all: exit 4 before any call.
    let (code, err) = failed(&kia(&daemon, "", &["case", "list"]).await);
    assert_eq!((code, err["code"].as_str()), (4, Some("UNAUTHENTICATED")));
    // Nobody listening: exit 6.
    let (code, _) = failed(&kia_at("http://127.0.0.1:1", VEJLE, &["case", "list"]).await);
    assert_eq!(code, 6);
    // A value clap refuses: exit 2.
    let bad = kia(
        &daemon,
        VEJLE,
        &["case", "visitate", &id, "--category", "4", "--reason", "r"],
    )
    .await;
    assert_eq!(bad.status.code(), Some(2));
}

#[tokio::test]
async fn plan_screening_and_contracting_commands() {
    let daemon = Daemon::start_with(Backend::Sqlite, &["--insecure-dev-identities"]).await;
    let d0 = today() - Duration::days(60);
    let day = |n: i64| (d0 + Duration::days(n)).to_string();
    let case = ok(&line(
        &daemon,
        VEJLE,
        &format!(
            "case create --first-sick-day {d0} --employment employed --employer CVR-29189587 \
             --citizen lene"
        ),
    )
    .await);
    let case_id = case["case_id"].as_str().unwrap().to_owned();

    // The plan: a specialist appointment the waiting list puts 20 days after the planned day.
    let plan = ok(&line(
        &daemon,
        VEJLE,
        &format!("plan create {case_id} --kind kia-return-plan --author kia-sw:social-worker"),
    )
    .await);
    assert_eq!(plan["stage"], "PLAN_STAGE_PRELIMINARY");
    for command in [
        format!(
            "plan add-activity {case_id} specialist --health specialist --start {} --end {} \
             --responsible sygehus-lillebaelt",
            day(50),
            day(50)
        ),
        format!("plan book {case_id} specialist --on {}", day(70)),
        format!(
            "plan add-activity {case_id} physio --health physiotherapy --start {} --end {} \
             --responsible fysio-vejle",
            day(45),
            day(59)
        ),
        format!("plan start {case_id} physio --on {}", day(45)),
        format!("plan complete {case_id} physio --on {}", day(59)),
    ] {
        ok(&line(&daemon, VEJLE, &command).await);
    }
    let plan = ok(&line(
        &daemon,
        VEJLE,
        &format!("plan goal {case_id} full-return --by {}", day(60)),
    )
    .await);
    assert_eq!(plan["activities"].as_array().unwrap().len(), 2);
    // A change against an old etag is ABORTED: exit 5.
    let (code, err) = failed(
        &line(
            &daemon,
            VEJLE,
            &format!(
                "plan start {case_id} specialist --on {} --etag \"2\"",
                day(60)
            ),
        )
        .await,
    );
    assert_eq!(
        (code, err["current_etag"].as_str()),
        (5, plan["etag"].as_str())
    );

    let shown = ok(&line(
        &daemon,
        VEJLE,
        &format!("plan show {case_id} --as-of {}", day(60)),
    )
    .await);
    let specialist = find(
        &shown["projection"]["activities"],
        "activity_id",
        "specialist",
    );
    assert_eq!(specialist["waiting_days"], 20);
    let goal = &shown["projection"]["goals"][0];
    assert_eq!(goal["projected"], day(70));
    assert_eq!(goal["slip_days"], 10);
    assert_eq!(goal["causes"][0]["activity_id"], "specialist");
    // The drawing says the same to people.
    let drawn = tokio::process::Command::new(env!("CARGO_BIN_EXE_kia"))
        .args([
            "plan",
            "show",
            &case_id,
            "--as-of",
            &day(60),
            "--width",
            "100",
        ])
        .env("KIA_SERVER", format!("http://{}", daemon.grpc_addr))
        .env("KIA_DEV_IDENTITY", VEJLE)
        .output()
        .await
        .unwrap();
    let drawn = String::from_utf8(drawn.stdout).unwrap();
    assert!(drawn.contains("10 days late"), "{drawn}");
    assert!(drawn.contains("! specialist: waiting +10 days"), "{drawn}");
    assert!(drawn.contains("wait 20d"), "{drawn}");
    assert!(
        !drawn.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );

    // Screening: a group, a screening, one assessment, the work list.
    let group = ok(&line(
        &daemon,
        VEJLE,
        "screening group create --name KIA-teamet --mode team-session --member kia-doc:doctor \
         --member kia-fys:physiotherapist --required doctor,physiotherapist",
    )
    .await);
    let group_id = group["group_id"].as_str().unwrap().to_owned();
    let shown = ok(&line(&daemon, VEJLE, &format!("screening group show {group_id}")).await);
    assert_eq!(shown["members"].as_array().unwrap().len(), 2);
    let unscreened = ok(&line(&daemon, VEJLE, "screening unscreened").await);
    assert_eq!(unscreened["unscreened_new_cases"], 1);
    let screening = ok(&line(
        &daemon,
        VEJLE,
        &format!("screening open {case_id} --group {group_id}"),
    )
    .await);
    let screening_id = screening["screening_id"].as_str().unwrap().to_owned();
    let assessed = ok(&line(
        &daemon,
        VEJLE,
        &format!(
            "screening assess {screening_id} --discipline physiotherapist --finding d430.23 \
             --domain physical --work-capacity 4h/day"
        ),
    )
    .await);
    assert_eq!(assessed["readiness"]["ready"], false);
    let (code, err) = failed(
        &line(
            &daemon,
            VEJLE,
            &format!(
                "screening assess {screening_id} --discipline doctor --finding b99999.2 \
                 --work-capacity x"
            ),
        )
        .await,
    );
    assert_eq!(code, 2);
    assert_eq!(err["field_violations"][0]["field"], "findings[0].icf");
    let (code, err) = failed(
        &line(
            &daemon,
            VEJLE,
            &format!("screening conclude {screening_id} --category 2"),
        )
        .await,
    );
    assert_eq!((code, err["rule_id"].as_str()), (5, Some("T-21")));
    let shown = ok(&line(&daemon, VEJLE, &format!("screening show {screening_id}")).await);
    assert_eq!(shown["assessments"].as_array().unwrap().len(), 1);

    // Contracting: a provider, a contract, a referral with its course, the scorecard.
    let provider = ok(&line(
        &daemon,
        VEJLE,
        "provider create --name QuickCare --kind private-provider --organization-id quick-care",
    )
    .await);
    let provider_id = provider["provider_id"].as_str().unwrap().to_owned();
    let listed = ok(&line(&daemon, VEJLE, "provider list").await);
    assert_eq!(listed["providers"].as_array().unwrap().len(), 1);
    let contract = ok(&line(
        &daemon,
        VEJLE,
        &format!(
            "contract create --provider {provider_id} --service return-to-work-course \
             --price-oere 3860000 --price-unit course --from {} --to {} \
             --target referral-to-start-days=4.9",
            ago(400),
            ago(-30)
        ),
    )
    .await);
    let contract_id = contract["contract_id"].as_str().unwrap().to_owned();
    assert_eq!(
        contract["targets"][0]["metric"],
        "SCORECARD_METRIC_REFERRAL_TO_START_DAYS"
    );
    let shown = ok(&line(&daemon, VEJLE, &format!("contract show {contract_id}")).await);
    assert_eq!(shown["price_oere"], 3_860_000);
    let listed = ok(&line(&daemon, VEJLE, "contract list").await);
    assert_eq!(listed["contracts"].as_array().unwrap().len(), 1);
    let referral = ok(&line(
        &daemon,
        VEJLE,
        &format!(
            "referral create --contract {contract_id} --case {case_id} --on {}",
            day(42)
        ),
    )
    .await);
    let referral_id = referral["referral_id"].as_str().unwrap().to_owned();
    // Quick Care records its own course.
    let quick_care = "quick-care:provider::coordinator";
    ok(&line(
        &daemon,
        quick_care,
        &format!(
            "referral event {referral_id} --kind started --on {}",
            day(49)
        ),
    )
    .await);
    let ended = ok(&line(
        &daemon,
        quick_care,
        &format!(
            "referral event {referral_id} --kind ended --on {} --outcome recovered-fully",
            day(59)
        ),
    )
    .await);
    assert_eq!(ended["outcome"], "REFERRAL_OUTCOME_RECOVERED_FULLY");
    let shown = ok(&line(&daemon, VEJLE, &format!("referral show {referral_id}")).await);
    assert_eq!(shown["started_on"], day(49));
    let listed = ok(&line(&daemon, quick_care, "referral list").await);
    assert_eq!(
        listed["referrals"].as_array().unwrap().len(),
        1,
        "the provider sees the referral under its contract"
    );
    let card = ok(&line(
        &daemon,
        VEJLE,
        &format!(
            "provider scorecard {provider_id} --from {} --to {}",
            ago(400),
            ago(0)
        ),
    )
    .await);
    assert_eq!(card["counts"]["courses_completed"], 1);
    let wait = find(
        &card["metrics"],
        "metric",
        "SCORECARD_METRIC_REFERRAL_TO_START_DAYS",
    );
    assert_eq!(
        (wait["count"].as_u64(), wait["value"].as_f64()),
        (Some(1), Some(7.0))
    );
}

#[tokio::test]
async fn an_import_reports_bad_rows_and_a_rerun_creates_nothing_twice() {
    let daemon = Daemon::start_with(Backend::Sqlite, &["--insecure-dev-identities"]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.csv");
    std::fs::write(
        &file,
        format!(
            "citizen_reference,first_sick_day,employment_status,employer_reference\n\
             vejle-1,{},employed,CVR-29189587\n\
             vejle-2,2026-13-45,employed,CVR-29189587\n\
             vejle-3,{},unemployed-insured,\n\
             vejle-4,{},retired,\n\
             vejle-5,{},other,\n",
            ago(20),
            ago(10),
            ago(5),
            ago(3)
        ),
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let first = kia(&daemon, VEJLE, &["import", path]).await;
    assert_eq!(
        first.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let report: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(
        (report["rows"].as_u64(), report["created"].as_u64()),
        (Some(5), Some(3))
    );
    let rejected: Vec<(u64, String)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["result"] == "rejected")
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        [
            (3, "case.first_sick_day".to_owned()),
            (5, "employment_status".to_owned())
        ]
    );

    let again = kia(&daemon, VEJLE, &["import", path]).await;
    assert_eq!(again.status.code(), Some(7));
    let report: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        (report["created"].as_u64(), report["existing"].as_u64()),
        (Some(0), Some(3))
    );
    let listed = ok(&kia(&daemon, VEJLE, &["case", "list"]).await);
    assert_eq!(
        listed["cases"].as_array().unwrap().len(),
        3,
        "nothing created twice"
    );

    // Plans for the imported cases, found by the citizen's reference.
    let plans = dir.path().join("plans.csv");
    std::fs::write(
        &plans,
        "citizen_reference,kind,author\n\
         vejle-1,follow-up-plan,cw-1\n\
         vejle-3,kia-return-plan,kia-sw:social-worker\n\
         vejle-9,follow-up-plan,cw-1\n\
         vejle-5,weekly-plan,cw-1\n",
    )
    .unwrap();
    let plans = plans.to_str().unwrap();
    for run in 0..2 {
        let out = kia(&daemon, VEJLE, &["import", "--kind", "plans", plans]).await;
        assert_eq!(out.status.code(), Some(7));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let (created, existing) = if run == 0 { (2, 0) } else { (0, 2) };
        assert_eq!(
            (report["created"].as_u64(), report["existing"].as_u64()),
            (Some(created), Some(existing)),
            "{report}"
        );
        let rejected = &report["results"];
        assert_eq!(rejected[2]["field"], "citizen_reference", "{report}");
        assert_eq!(rejected[2]["code"], "NOT_FOUND");
        assert_eq!(rejected[3]["field"], "kind");
    }
    let plan = ok(&kia(
        &daemon,
        VEJLE,
        &[
            "plan",
            "show",
            find(&listed["cases"], "citizen_reference", "vejle-1")["case_id"]
                .as_str()
                .unwrap(),
        ],
    )
    .await);
    assert_eq!(plan["plan"]["kind"], "PLAN_KIND_FOLLOW_UP_PLAN");

    // Providers, all good: exit 0; a missing column stops before anything is sent: exit 2.
    let providers = dir.path().join("providers.csv");
    std::fs::write(
        &providers,
        "name,kind,organization_id,cvr\nQuick Care,private-provider,quick-care,\n",
    )
    .unwrap();
    let p = ok(&kia(
        &daemon,
        VEJLE,
        &["import", "--kind", "providers", providers.to_str().unwrap()],
    )
    .await);
    assert_eq!(p["created"], 1);
    let p = ok(&kia(
        &daemon,
        VEJLE,
        &["import", "--kind", "providers", providers.to_str().unwrap()],
    )
    .await);
    assert_eq!(
        (p["created"].as_u64(), p["existing"].as_u64()),
        (Some(0), Some(1))
    );
    let (code, err) = failed(
        &kia(
            &daemon,
            VEJLE,
            &["import", "--kind", "plans", providers.to_str().unwrap()],
        )
        .await,
    );
    assert_eq!(code, 2);
    assert!(
        err["message"].as_str().unwrap().contains("case_id"),
        "{err}"
    );
}

#[tokio::test]
async fn the_demo_fills_an_empty_daemon_and_the_scorecard_has_numbers() {
    let daemon = Daemon::start_with(Backend::Sqlite, &["--insecure-dev-identities"]).await;
    let server = format!("http://{}", daemon.grpc_addr);
    let out = kia_at(
        &server,
        VEJLE,
        &["demo", "--server", &server, "--cases", "150"],
    )
    .await;
    let summary = ok(&out);
    assert_eq!(summary["cases"], 150);
    assert!(
        summary["courses_completed"].as_u64().unwrap() > 5,
        "{summary}"
    );
    let quick_care = summary["providers"][0]["id"].as_str().unwrap().to_owned();
    let (from, to) = (
        summary["scorecard_period"][0].as_str().unwrap().to_owned(),
        summary["scorecard_period"][1].as_str().unwrap().to_owned(),
    );

    let card = ok(&kia(
        &daemon,
        VEJLE,
        &[
            "provider",
            "scorecard",
            &quick_care,
            "--from",
            &from,
            "--to",
            &to,
        ],
    )
    .await);
    // Every course the demo played is on the provider's scorecard, with its numbers.
    assert_eq!(
        card["counts"]["courses_completed"],
        summary["courses_completed"]
    );
    assert_eq!(card["counts"]["referrals_received"], summary["referrals"]);
    let exits = find(&card["metrics"], "metric", "SCORECARD_METRIC_EXIT_RATE");
    assert_eq!(exits["count"], summary["courses_completed"]);
    // The summary carries the same scorecard, and the alerts the daemon raised on its own clock.
    assert_eq!(summary["scorecard"]["counts"], card["counts"]);
    assert!(
        !summary["open_alerts"].as_object().unwrap().is_empty(),
        "{summary}"
    );
    let exit_rate = exits["value"].as_f64().unwrap();
    assert!(exit_rate > 0.0 && exit_rate < 1.0, "{card}");
    let wait = find(
        &card["metrics"],
        "metric",
        "SCORECARD_METRIC_REFERRAL_TO_START_DAYS",
    );
    let wait = wait["value"].as_f64().unwrap();
    assert!(
        (1.0..=9.0).contains(&wait),
        "drawn from 1 to 9 days: {card}"
    );

    // KIA-LENE's twin slips past D94 because of the specialist's waiting list.
    let lene = find(
        &summary["scenarios"],
        "name",
        "KIA-LENE with a waiting time",
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let plan = ok(&kia(&daemon, VEJLE, &["plan", "show", &lene]).await);
    assert!(
        plan["projection"]["goals"][0]["slip_days"]
            .as_i64()
            .unwrap()
            > 0,
        "{plan}"
    );
    // AABENRAA: the standing group left no new case unscreened.
    let queue = ok(&kia(&daemon, AABENRAA, &["screening", "unscreened"]).await);
    assert_eq!(queue["unscreened_new_cases"], 0);

    // The same demo again on the same daemon refuses rather than doubling the municipality.
    let (code, _) = failed(
        &kia_at(
            &server,
            VEJLE,
            &["demo", "--server", &server, "--cases", "10"],
        )
        .await,
    );
    assert_eq!(code, 2);
}

#[tokio::test]
async fn the_demo_starts_its_own_daemon_on_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kia"))
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--cases",
            "40",
            "--exit",
            "--output",
            "json",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("KIA_SERVER")
        .env_remove("KIA_DATABASE_URL")
        .output()
        .await
        .unwrap();
    let summary = ok(&out);
    assert_eq!(summary["cases"], 40);
    assert!(dir.path().join("kia.db").exists());
    // It acted with tokens signed by the key its daemon created, not development identities.
    assert!(dir.path().join("keys/token-signing-key.json").exists());
    let log = std::fs::read_to_string(dir.path().join("demo-daemon.log")).unwrap();
    assert!(!log.contains("INSECURE"), "{log}");
    assert!(
        summary["try_next"][0]
            .as_str()
            .unwrap()
            .contains("KIA_TOKEN=$(kia token issue --data-dir"),
        "{summary}"
    );

    // The daemon's clock was set to the demo's today, so alerts are live: open ones by rule.
    let open = summary["open_alerts"].as_object().unwrap();
    let total: u64 = open.values().map(|n| n.as_u64().unwrap()).sum();
    assert!(total > 0, "open alerts: {summary}");
    assert!(open.keys().all(|rule| rule.starts_with("AL-")), "{summary}");
    // Without follow-ups recorded, open cases past D55 have breached AL-04.
    assert!(open.contains_key("AL-04"), "{summary}");
    // Next to it, Quick Care's scorecard with the courses the demo played.
    let card = &summary["scorecard"];
    assert_eq!(
        card["counts"]["courses_completed"],
        summary["courses_completed"]
    );
    assert!(
        summary["courses_completed"].as_u64().unwrap() > 0,
        "{summary}"
    );
    let exits = find(&card["metrics"], "metric", "SCORECARD_METRIC_EXIT_RATE");
    assert_eq!(exits["count"], summary["courses_completed"]);
}

#[tokio::test]
async fn alerts_clock_and_audit_commands_with_signed_tokens() {
    // A sweep every second: a case evaluated just before the clock moves may otherwise wait for
    // the next periodic sweep (a minute by default) before its overdue deadline is raised.
    let daemon = Daemon::start_with(
        Backend::Sqlite,
        &["--settable-clock", "--alert-sweep-interval", "1"],
    )
    .await;
    let (vejle, ops) = (Caller::VEJLE, Caller::OPERATIONS);
    let d0 = ago(30);
    // A token names no municipality the client could read, so the case names it.
    let create = format!(
        "case create --first-sick-day {d0} --employment employed --employer CVR-29189587 \
         --citizen vejle-0077 --municipality 630"
    );
    let words: Vec<&str> = create.split_whitespace().collect();
    let case = ok(&kia_signed(&daemon, &vejle, &words).await);
    let case_id = case["case_id"].as_str().unwrap().to_owned();

    // The clock: anyone reads it, only operations moves it.
    let clock = ok(&kia_signed(&daemon, &vejle, &["clock", "show"]).await);
    assert_eq!(clock["settable"], true);
    let (code, err) = failed(&kia_signed(&daemon, &vejle, &["clock", "set", &ago(-30)]).await);
    assert_eq!((code, err["code"].as_str()), (4, Some("PERMISSION_DENIED")));
    // A watch from the beginning, before anything is raised.
    let mut watch = Watch::start(&daemon, &vejle, 0);
    // D60: the first follow-up (due by D55) was never held.
    let d60 = ago(-30);
    let set = ok(&kia_signed(&daemon, &ops, &["clock", "set", &d60]).await);
    // Noon UTC that day (the clock runs on from the setting, so give or take a millisecond).
    assert!(set["now"].as_str().unwrap().starts_with(&d60), "{set}");
    let clock = ok(&kia_signed(&daemon, &vejle, &["clock", "show"]).await);
    assert!(clock["now"].as_str().unwrap().starts_with(&d60), "{clock}");

    let is_al04 = |c: &Value| c["alert"]["rule"] == "AL-04" && c["alert"]["case_id"] == case_id;
    let raised = watch
        .until(|c| is_al04(c) && c["change"] == "ALERT_CHANGE_RAISED")
        .await;
    let alert_id = raised.last().unwrap()["alert"]["alert_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let raised_at = raised.last().unwrap()["position"].as_i64().unwrap();

    let listed = ok(&kia_signed(
        &daemon,
        &vejle,
        &["alerts", "list", "--rule", "AL-04", "--state", "open"],
    )
    .await);
    let alert = find(&listed["alerts"], "alert_id", &alert_id);
    assert_eq!(alert["case_id"], case_id.as_str());
    assert_eq!(alert["severity"], "ALERT_SEVERITY_HIGH");
    assert_eq!(alert["state"], "ALERT_STATE_OPEN");
    // Aabenraa sees none of Vejle's alerts, and may not acknowledge one.
    let theirs = ok(&kia_signed(&daemon, &Caller::AABENRAA, &["alerts", "list"]).await);
    assert_eq!(theirs["alerts"], Value::Array(vec![]));
    let (code, _) =
        failed(&kia_signed(&daemon, &Caller::AABENRAA, &["alerts", "ack", &alert_id]).await);
    assert_eq!(code, 4);

    let acked = ok(&kia_signed(&daemon, &vejle, &["alerts", "ack", &alert_id]).await);
    assert_eq!(acked["state"], "ALERT_STATE_ACKNOWLEDGED");
    assert_eq!(acked["acknowledged_by"], "jc-630/caseworker");
    let is_ack = |c: &Value| {
        c["alert"]["alert_id"] == alert_id.as_str() && c["change"] == "ALERT_CHANGE_ACKNOWLEDGED"
    };
    watch.until(is_ack).await;
    watch.interrupt().await;

    // From position 0 again: raised once, acknowledged once, in that order.
    let mut again = Watch::start(&daemon, &vejle, 0);
    let replay = again.until(is_ack).await;
    again.interrupt().await;
    let of_alert: Vec<&str> = replay
        .iter()
        .filter(|c| c["alert"]["alert_id"] == alert_id.as_str())
        .map(|c| c["change"].as_str().unwrap())
        .collect();
    assert_eq!(
        of_alert,
        ["ALERT_CHANGE_RAISED", "ALERT_CHANGE_ACKNOWLEDGED"],
        "{replay:?}"
    );
    // Resuming after the raise gives the acknowledgement next, not the raise again.
    let mut resumed = Watch::start(&daemon, &vejle, raised_at);
    let next = resumed
        .until(|c| c["alert"]["alert_id"] == alert_id.as_str())
        .await;
    resumed.interrupt().await;
    assert_eq!(next.last().unwrap()["change"], "ALERT_CHANGE_ACKNOWLEDGED");
    assert!(
        next.iter()
            .all(|c| c["position"].as_i64().unwrap() > raised_at)
    );

    // The audit trail of the case: its intake by Vejle's caseworker.
    let trail = ok(&kia_signed(&daemon, &vejle, &["audit", "case", &case_id]).await);
    let created = find(&trail["events"], "rpc", "kia.v1.CaseService/CreateCase");
    assert_eq!(created["organization"], "jc-630");
    assert_eq!(created["action"], "create");
    let report = ok(&kia_signed(&daemon, &vejle, &["audit", "report", "--case", &case_id]).await);
    assert_eq!(report["case_ids"], serde_json::json!([case_id]));
    assert_eq!(report["organizations"][0]["organization"], "jc-630");
    let (code, err) =
        failed(&kia_signed(&daemon, &Caller::AABENRAA, &["audit", "case", &case_id]).await);
    assert_eq!((code, err["code"].as_str()), (4, Some("PERMISSION_DENIED")));
    let verified = ok(&kia_signed(&daemon, &ops, &["audit", "verify"]).await);
    assert_eq!(verified["intact"], true);
    assert!(
        verified["records_checked"].as_i64().unwrap() >= 2,
        "{verified}"
    );
    // `audit report` names a case or a citizen: neither is a usage error before any call.
    let out = kia_signed(&daemon, &vejle, &["audit", "report"]).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn the_demo_signs_with_the_key_of_the_data_directory_it_is_given_and_sets_the_clock() {
    // No development identities: the demo must sign with the key this daemon trusts.
    let daemon = Daemon::start_with(Backend::Sqlite, &["--settable-clock"]).await;
    let server = format!("http://{}", daemon.grpc_addr);
    let now = ago(100);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kia"))
        .args(["demo", "--server", &server, "--cases", "20", "--now", &now])
        .args(["--output", "json", "--data-dir"])
        .arg(daemon.dir.path())
        .env_remove("KIA_DEV_IDENTITY")
        .env_remove("KIA_TOKEN")
        .output()
        .await
        .unwrap();
    let summary = ok(&out);
    assert_eq!(summary["now"], now.as_str());
    assert!(
        !summary["open_alerts"].as_object().unwrap().is_empty(),
        "{summary}"
    );
    // The daemon's clock now reads the demo's today.
    let clock = ok(&kia_signed(&daemon, &Caller::VEJLE, &["clock", "show"]).await);
    assert!(clock["now"].as_str().unwrap().starts_with(&now), "{clock}");
    // Every alert was raised on that day by the daemon's clock, not today's.
    let alerts = ok(&kia_signed(
        &daemon,
        &Caller::VEJLE,
        &["alerts", "list", "--limit", "1000"],
    )
    .await);
    for alert in alerts["alerts"].as_array().unwrap() {
        let raised = alert["raised_at"].as_str().unwrap();
        assert!(raised.starts_with(&now), "{alert}");
    }
}

#[tokio::test]
async fn the_config_file_names_the_server_and_a_token_replaces_the_development_identity() {
    let daemon = Daemon::start_with(Backend::Sqlite, &["--insecure-dev-identities"]).await;
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("kia")).unwrap();
    let config = home.path().join("kia/config.toml");
    let run = |config_text: String| {
        std::fs::write(&config, config_text).unwrap();
        tokio::process::Command::new(env!("CARGO_BIN_EXE_kia"))
            .args(["case", "list", "--output", "json"])
            .env("XDG_CONFIG_HOME", home.path())
            .env("KIA_DEV_IDENTITY", VEJLE)
            .env_remove("KIA_SERVER")
            .env_remove("KIA_TOKEN")
            .env_remove("KIA_CONFIG")
            .output()
    };
    let server = format!("server = \"http://{}\"\n", daemon.grpc_addr);
    let listed = ok(&run(server.clone()).await.unwrap());
    assert_eq!(listed["cases"], Value::Array(vec![]));
    // A token in the file is sent instead of the development identity; this daemon trusts
    // only development identities, so the caller is unknown: exit 4.
    let out = run(format!("{server}token = \"not-a-signed-token\"\n"))
        .await
        .unwrap();
    let (code, err) = failed(&out);
    assert_eq!((code, err["code"].as_str()), (4, Some("UNAUTHENTICATED")));
    // A misspelt key is a usage error, not silently ignored.
    let out = run(format!("{server}tokn = \"x\"\n")).await.unwrap();
    let (code, err) = failed(&out);
    assert_eq!(code, 2);
    assert!(err["message"].as_str().unwrap().contains("tokn"), "{err}");
}

#[tokio::test]
async fn completions_and_help() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kia"))
            .args(args)
            .output()
            .unwrap()
    };
    let bash = run(&["completions", "bash"]);
    assert!(String::from_utf8_lossy(&bash.stdout).contains("kia,case"));
    let help = String::from_utf8(run(&["--help"]).stdout).unwrap();
    assert!(help.contains("Exit codes"), "{help}");
    let help = String::from_utf8(run(&["plan", "show", "--help"]).stdout).unwrap();
    assert!(help.contains("Example: `kia plan show CASE"), "{help}");
}

/// `kia bench rpc --spawn --ceiling`, briefly: every phase runs its calls without an error, the
/// open-loop phases keep their schedule, and the ratios and the daemon's figures are reported.
#[tokio::test]
async fn the_rpc_bench_measures_every_phase_and_reports_the_ratios() {
    // The server named is ignored with --spawn.
    let out = kia_at(
        "http://127.0.0.1:1",
        VEJLE,
        &[
            "bench",
            "rpc",
            "--spawn",
            "--ceiling",
            "--cases",
            "4",
            "--duration",
            "0.5",
            "--warmup",
            "0",
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let phases: Vec<&str> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        [
            "echo ceiling",
            "kia reads",
            "kia reads at half load",
            "echo at the same rate",
            "raw write ceiling",
            "kia durable writes",
            "kia mix",
        ]
    );
    for phase in report["phases"].as_array().unwrap() {
        for call in phase["calls"].as_array().unwrap() {
            assert!(call["ok"].as_u64().unwrap() > 0, "{phase}");
            assert_eq!(call["errors"], serde_json::json!({}), "{phase}");
        }
    }
    // The two open-loop phases follow one schedule: half the closed-loop read rate.
    let rate = |i: usize| report["phases"][i]["pace"]["rate"].as_f64().unwrap();
    let reads = report["phases"][1]["total"]["throughput"].as_f64().unwrap();
    assert!((rate(2) - reads / 2.0).abs() < 1.0, "{report}");
    assert_eq!(rate(2), rate(3));

    let ratios = &report["ratios"];
    for key in [
        "reads_vs_echo",
        "reads_p99_ms_at_half_load",
        "echo_p99_ms_at_half_load",
        "writes_vs_raw",
    ] {
        assert!(ratios[key].as_f64().unwrap() > 0.0, "{key}: {ratios}");
    }
    let daemon = &report["daemon"];
    assert!(daemon["to_serving_s"].as_f64().unwrap() > 0.0, "{daemon}");
    assert!(daemon["rss_idle_mb"].as_f64().unwrap() > 1.0, "{daemon}");
}
