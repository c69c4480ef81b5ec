//! `kia case`: intake, visitation, follow-ups, closing and the legal timeline of a case.

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use kia_proto::v1 as pb;

use super::output::{Table, or_dash};
use super::proto::{EnumArg, label};
use super::{ConnectArgs, Connection, Failure, all_pages, date_or_today};

#[derive(Debug, Args)]
pub struct CaseArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(subcommand)]
    pub command: CaseCommand,
}

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Open a case at intake.
    ///
    /// Example: `kia case create --first-sick-day 2026-10-05 --employment employed
    /// --employer CVR-29189587 --citizen vejle-0042`
    Create {
        /// First sick day (D0), YYYY-MM-DD.
        #[arg(long)]
        first_sick_day: NaiveDate,
        /// Employment status at D0.
        #[arg(long, value_parser = EnumArg("kia.v1.EmploymentStatus"))]
        employment: i32,
        /// The employer's reference (e.g. its CVR number); required when employed.
        #[arg(long, default_value = "")]
        employer: String,
        /// The citizen's opaque reference in your own system (never a CPR number).
        #[arg(long)]
        citizen: String,
        /// Kommunekode [default: the caller's municipality].
        #[arg(long)]
        municipality: Option<String>,
        /// Idempotency key: a retry with the same key returns the first case.
        #[arg(long, default_value = "")]
        request_id: String,
    },
    /// Show one case.
    ///
    /// Example: `kia case show 0193f1c2-...`
    Show {
        /// The case id.
        case_id: String,
    },
    /// List cases, oldest first.
    ///
    /// Example: `kia case list --state open --limit 20`
    List {
        #[arg(long, value_parser = EnumArg("kia.v1.CaseState"))]
        state: Option<i32>,
        #[arg(long)]
        municipality: Option<String>,
        /// At most this many cases (follows page tokens).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Visitate a case to category 1, 2 or 3.
    ///
    /// Example: `kia case visitate CASE --category 2 --reason "not back within 8 weeks"`
    Visitate {
        /// The case id.
        case_id: String,
        #[arg(long, value_parser = EnumArg("kia.v1.Category"))]
        category: i32,
        #[arg(long)]
        reason: String,
        /// Date of the visitation [default: today].
        #[arg(long)]
        on: Option<NaiveDate>,
        /// Apply only if the case still has this etag (else exit 5, ABORTED).
        #[arg(long, default_value = "")]
        etag: String,
    },
    /// Record a follow-up conversation (opfølgningssamtale).
    ///
    /// The first follow-up is a talk in person; later ones may be by phone, digitally or by letter
    /// where the rules allow (a refusal names the rule, exit 5).
    ///
    /// Example: `kia case follow-up CASE --mode in-person --outcome "partial return agreed"`
    FollowUp {
        /// The case id.
        case_id: String,
        #[arg(long, value_parser = EnumArg("kia.v1.ContactMode"))]
        mode: i32,
        /// What was agreed (kept with the case, never logged).
        #[arg(long)]
        outcome: String,
        /// Date held [default: today].
        #[arg(long)]
        on: Option<NaiveDate>,
        /// The next follow-up agreed.
        #[arg(long)]
        next: Option<NaiveDate>,
        /// Re-visitate to this category.
        #[arg(long, value_parser = EnumArg("kia.v1.Category"))]
        revisitate: Option<i32>,
        #[arg(long, default_value = "")]
        revisitation_reason: String,
        #[arg(long, default_value = "")]
        etag: String,
    },
    /// Close a case with its outcome.
    ///
    /// Example: `kia case close CASE --outcome full-return --on 2026-12-01`
    Close {
        /// The case id.
        case_id: String,
        #[arg(long, value_parser = EnumArg("kia.v1.CaseOutcome"))]
        outcome: i32,
        /// Closing date [default: today].
        #[arg(long)]
        on: Option<NaiveDate>,
        /// Required with `--outcome other`.
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long, default_value = "")]
        etag: String,
    },
    /// Every legal deadline of a case with its rule, due date and status.
    ///
    /// Example: `kia case timeline CASE --as-of 2026-12-01`
    Timeline {
        /// The case id.
        case_id: String,
        /// Evaluate as of this date [default: today].
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Judge by another rule set than the one in force on the first sick day.
        #[arg(long, value_parser = EnumArg("kia.v1.RuleSet"))]
        rule_set: Option<i32>,
    },
}

pub async fn run(s: Connection, command: CaseCommand) -> Result<(), Failure> {
    let mut cases = s.cases();
    let one = |case: Option<pb::Case>| -> Result<(), Failure> {
        let case = case.unwrap_or_default();
        s.out
            .message(&case, "kia.v1.Case", || print_case(&s, &case));
        Ok(())
    };
    match command {
        CaseCommand::Create {
            first_sick_day,
            employment,
            employer,
            citizen,
            municipality,
            request_id,
        } => {
            let case = pb::Case {
                municipality_code: s.municipality(municipality.as_deref())?,
                first_sick_day: first_sick_day.to_string(),
                employment_status: employment,
                employer_reference: employer,
                citizen_reference: citizen,
                ..Default::default()
            };
            let r = cases
                .create_case(pb::CreateCaseRequest {
                    r#case: Some(case),
                    request_id,
                })
                .await?;
            one(r.into_inner().r#case)
        }
        CaseCommand::Show { case_id } => {
            let r = cases.get_case(pb::GetCaseRequest { case_id }).await?;
            one(r.into_inner().r#case)
        }
        CaseCommand::List {
            state,
            municipality,
            limit,
        } => {
            let (cases, next_page_token) = all_pages(limit, |page_token| {
                let mut cases = cases.clone();
                let request = pb::ListCasesRequest {
                    page_size: i32::try_from(limit.clamp(1, 500)).unwrap_or(500),
                    page_token,
                    municipality_code: municipality.clone().unwrap_or_default(),
                    state: state.unwrap_or_default(),
                };
                async move {
                    let r = cases.list_cases(request).await?.into_inner();
                    Ok((r.cases, r.next_page_token))
                }
            })
            .await?;
            let all = pb::ListCasesResponse {
                cases,
                next_page_token,
            };
            s.out.message(&all, "kia.v1.ListCasesResponse", || {
                let mut table = Table::new(&[
                    "case",
                    "municipality",
                    "first sick day",
                    "state",
                    "category",
                    "citizen",
                ]);
                for c in &all.cases {
                    table.row(vec![
                        c.case_id.clone(),
                        c.municipality_code.clone(),
                        c.first_sick_day.clone(),
                        label("kia.v1.CaseState", c.state),
                        label("kia.v1.Category", c.category),
                        c.citizen_reference.clone(),
                    ]);
                }
                s.out.table(&table);
                if !all.next_page_token.is_empty() {
                    println!("(more: raise --limit)");
                }
            });
            Ok(())
        }
        CaseCommand::Visitate {
            case_id,
            category,
            reason,
            on,
            etag,
        } => {
            let r = cases
                .visitate(pb::VisitateRequest {
                    case_id,
                    category,
                    reason,
                    visited_on: date_or_today(&on),
                    etag,
                })
                .await?;
            one(r.into_inner().r#case)
        }
        CaseCommand::FollowUp {
            case_id,
            mode,
            outcome,
            on,
            next,
            revisitate,
            revisitation_reason,
            etag,
        } => {
            let r = cases
                .record_follow_up(pb::RecordFollowUpRequest {
                    case_id,
                    held_on: date_or_today(&on),
                    contact_mode: mode,
                    outcome,
                    next_agreed_on: next.map(|d| d.to_string()).unwrap_or_default(),
                    revisitation_category: revisitate.unwrap_or_default(),
                    revisitation_reason,
                    prognosis: None,
                    etag,
                })
                .await?;
            one(r.into_inner().r#case)
        }
        CaseCommand::Close {
            case_id,
            outcome,
            on,
            note,
            etag,
        } => {
            let r = cases
                .close_case(pb::CloseCaseRequest {
                    case_id,
                    outcome,
                    closed_on: date_or_today(&on),
                    outcome_note: note,
                    etag,
                })
                .await?;
            one(r.into_inner().r#case)
        }
        CaseCommand::Timeline {
            case_id,
            as_of,
            rule_set,
        } => {
            let t = cases
                .get_timeline(pb::GetTimelineRequest {
                    case_id,
                    as_of: as_of.map(|d| d.to_string()).unwrap_or_default(),
                    rule_set: rule_set.unwrap_or_default(),
                })
                .await?
                .into_inner();
            s.out.message(&t, "kia.v1.GetTimelineResponse", || {
                s.out.fields(&[
                    ("rule set", label("kia.v1.RuleSet", t.rule_set)),
                    ("as of", t.as_of.clone()),
                    ("category", label("kia.v1.Category", t.category)),
                ]);
                println!();
                let mut table = Table::new(&["rule", "what", "due", "status", "met"]);
                for d in &t.deadlines {
                    let status = label("kia.v1.DeadlineStatus", d.status);
                    let status = if d.status == pb::DeadlineStatus::Overdue as i32 {
                        s.out.alarm(&status)
                    } else {
                        status
                    };
                    let what = if d.number > 0 {
                        format!("{} {}", d.kind, d.number)
                    } else {
                        d.kind.clone()
                    };
                    table.row(vec![
                        d.rule_id.clone(),
                        what,
                        or_dash(&d.due_on),
                        status,
                        or_dash(&d.met_on),
                    ]);
                }
                s.out.table(&table);
                println!();
                let mut table = Table::new(&["milestone", "week", "on", "status", "exclusion"]);
                for m in &t.milestones {
                    table.row(vec![
                        format!("{} {}", m.rule_id, m.kind),
                        m.week.to_string(),
                        or_dash(&m.on),
                        m.status.clone(),
                        m.exclusion_basis_points
                            .map_or("-".into(), |bp| format!("{:.1} %", f64::from(bp) / 100.0)),
                    ]);
                }
                s.out.table(&table);
            });
            Ok(())
        }
    }
}

fn print_case(s: &Connection, c: &pb::Case) {
    s.out.fields(&[
        ("case", c.case_id.clone()),
        ("municipality", c.municipality_code.clone()),
        ("first sick day", c.first_sick_day.clone()),
        (
            "employment",
            label("kia.v1.EmploymentStatus", c.employment_status),
        ),
        ("employer", or_dash(&c.employer_reference)),
        ("citizen", c.citizen_reference.clone()),
        ("state", label("kia.v1.CaseState", c.state)),
        ("category", label("kia.v1.Category", c.category)),
        ("closed on", or_dash(&c.closed_on)),
        ("outcome", label("kia.v1.CaseOutcome", c.outcome)),
        ("etag", c.etag.clone()),
    ]);
}
