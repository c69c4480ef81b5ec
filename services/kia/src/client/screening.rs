//! `kia screening`: screening groups, the ICF-coded 360-degree assessment and the work list of
//! unscreened cases.

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use kia_proto::v1 as pb;

use super::output::{Table, or_dash, timestamp};
use super::proto::{EnumArg, label, parse_enum};
use super::{ConnectArgs, Connection, Failure, date_or_today};

#[derive(Debug, Args)]
pub struct ScreeningArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(subcommand)]
    pub command: ScreeningCommand,
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a screening group or KIA team.
    ///
    /// Example: `kia screening group create --name "Screeningsgruppen" --mode standing-group
    /// --member cw-1:caseworker --member qc-doc:doctor:quick-care --member qc-fys:physiotherapist:quick-care
    /// --required caseworker,doctor,physiotherapist`
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = EnumArg("kia.v1.ScreeningMode"))]
        mode: i32,
        /// `REFERENCE:DISCIPLINE[:PROVIDER_ORGANIZATION]`, repeated; a member with a provider
        /// organisation works for that provider and may record its own assessments.
        #[arg(long = "member", required = true)]
        members: Vec<String>,
        /// Disciplines that must assess before concluding [default: caseworker, doctor,
        /// physiotherapist, psychologist].
        #[arg(long, value_delimiter = ',', value_parser = EnumArg("kia.v1.Discipline"))]
        required: Vec<i32>,
        /// A team session's limit in minutes [default: 120].
        #[arg(long, default_value_t = 0)]
        session_limit: u32,
        #[arg(long, default_value = "")]
        request_id: String,
    },
    /// Show a group.
    ///
    /// Example: `kia screening group show GROUP`
    Show {
        /// The group id.
        group_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScreeningCommand {
    /// Screening groups and KIA teams.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Open a screening of a case by a group.
    ///
    /// Example: `kia screening open CASE --group GROUP`
    Open {
        /// The case id.
        case_id: String,
        #[arg(long)]
        group: String,
        /// [default: today]
        #[arg(long)]
        on: Option<NaiveDate>,
    },
    /// Record one discipline's ICF-coded assessment.
    ///
    /// Example: `kia screening assess SCREENING --discipline physiotherapist --finding b28013.2
    /// --finding d430.23 --domain physical --work-capacity "can work 4 h/day without lifting"`
    Assess {
        /// The screening id.
        screening_id: String,
        #[arg(long, value_parser = EnumArg("kia.v1.Discipline"))]
        discipline: i32,
        /// The member's reference (required when a provider records).
        #[arg(long, default_value = "")]
        assessor: String,
        /// An ICF finding in written form (`b28013.2`, `d430.23`, `e310+2`), repeated.
        #[arg(long = "finding")]
        findings: Vec<String>,
        /// A domain the assessment covers, repeated.
        #[arg(long = "domain", value_parser = EnumArg("kia.v1.AssessmentDomain"))]
        domains: Vec<i32>,
        /// The discipline's statement on work capacity (arbejdsevne).
        #[arg(long)]
        work_capacity: String,
        /// When the talk began, RFC 3339 [default: 30 minutes before it ended].
        #[arg(long)]
        started: Option<chrono::DateTime<chrono::Utc>>,
        /// When the talk ended, RFC 3339 [default: now].
        #[arg(long)]
        ended: Option<chrono::DateTime<chrono::Utc>>,
        #[arg(long, default_value = "")]
        etag: String,
    },
    /// Conclude a screening: category, proposed activities, expected return.
    ///
    /// Example: `kia screening conclude SCREENING --category 2 --activity
    /// active-offer:guidance-and-upskilling:"lifting technique" --full-return-by 2027-01-15`
    Conclude {
        /// The screening id.
        screening_id: String,
        #[arg(long, value_parser = EnumArg("kia.v1.Category"))]
        category: i32,
        /// [default: today]
        #[arg(long)]
        on: Option<NaiveDate>,
        /// `KIND[:OFFER_TYPE]:DESCRIPTION`, repeated (KIND: partial-return, active-offer,
        /// treatment, workplace-contact, round-table).
        #[arg(long = "activity")]
        activities: Vec<String>,
        #[arg(long)]
        partial_from: Option<NaiveDate>,
        #[arg(long)]
        full_return_by: Option<NaiveDate>,
        #[arg(long, default_value = "")]
        etag: String,
    },
    /// Show a screening: assessments, readiness, conclusion.
    ///
    /// Example: `kia screening show SCREENING`
    Show {
        /// The screening id.
        screening_id: String,
    },
    /// Open cases without a concluded screening, earliest D55 first.
    ///
    /// Example: `kia screening unscreened`
    Unscreened {
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
}

fn member(raw: &str) -> Result<pb::ScreeningMember, Failure> {
    let parts: Vec<&str> = raw.splitn(3, ':').collect();
    let (reference, discipline, org) = match parts.as_slice() {
        [r, d] => (*r, *d, ""),
        [r, d, o] => (*r, *d, *o),
        _ => {
            return Err(Failure::usage(format!(
                "--member {raw:?}: expected REFERENCE:DISCIPLINE[:PROVIDER_ORGANIZATION]"
            )));
        }
    };
    let discipline = parse_enum("kia.v1.Discipline", discipline)
        .map_err(|e| Failure::usage(format!("--member {raw:?}: {e}")))?;
    let organisation = if org.is_empty() {
        pb::MemberOrganisation::Jobcentre
    } else {
        pb::MemberOrganisation::Provider
    };
    Ok(pb::ScreeningMember {
        reference: reference.to_owned(),
        discipline,
        organisation: organisation as i32,
        organization_id: org.to_owned(),
    })
}

fn proposed(raw: &str) -> Result<pb::ProposedPlanActivity, Failure> {
    let bad = |e: String| Failure::usage(format!("--activity {raw:?}: {e}"));
    let (kind, rest) = raw
        .split_once(':')
        .ok_or_else(|| bad("expected KIND[:OFFER_TYPE]:DESCRIPTION".into()))?;
    let kind = parse_enum("kia.v1.PlanActivityKind", kind).map_err(bad)?;
    let (offer_type, description) = if kind == pb::PlanActivityKind::ActiveOffer as i32 {
        let (offer, description) = rest
            .split_once(':')
            .ok_or_else(|| bad("an active offer names its OFFER_TYPE".into()))?;
        (
            parse_enum("kia.v1.ProposedOfferType", offer).map_err(bad)?,
            description,
        )
    } else {
        (0, rest)
    };
    Ok(pb::ProposedPlanActivity {
        description: description.to_owned(),
        kind,
        offer_type,
    })
}

pub async fn run(s: Connection, command: ScreeningCommand) -> Result<(), Failure> {
    let mut client = s.screening();
    match command {
        ScreeningCommand::Group(GroupCommand::Create {
            name,
            mode,
            members,
            required,
            session_limit,
            request_id,
        }) => {
            let group = pb::ScreeningGroup {
                display_name: name,
                members: members
                    .iter()
                    .map(|m| member(m))
                    .collect::<Result<_, _>>()?,
                mode,
                session_limit_minutes: session_limit,
                required_disciplines: required,
                ..Default::default()
            };
            let g = client
                .create_screening_group(pb::CreateScreeningGroupRequest {
                    group: Some(group),
                    request_id,
                })
                .await?
                .into_inner()
                .group
                .unwrap_or_default();
            print_group(&s, &g);
        }
        ScreeningCommand::Group(GroupCommand::Show { group_id }) => {
            let g = client
                .get_screening_group(pb::GetScreeningGroupRequest { group_id })
                .await?
                .into_inner()
                .group
                .unwrap_or_default();
            print_group(&s, &g);
        }
        ScreeningCommand::Open { case_id, group, on } => {
            let r = client
                .open_screening(pb::OpenScreeningRequest {
                    case_id,
                    group_id: group,
                    opened_on: date_or_today(&on),
                })
                .await?
                .into_inner();
            print_screening(&s, &r.screening.unwrap_or_default());
        }
        ScreeningCommand::Assess {
            screening_id,
            discipline,
            assessor,
            findings,
            domains,
            work_capacity,
            started,
            ended,
            etag,
        } => {
            let ended = ended.unwrap_or_else(chrono::Utc::now);
            let started = started.unwrap_or(ended - chrono::Duration::minutes(30));
            let r = client
                .record_assessment(pb::RecordAssessmentRequest {
                    screening_id,
                    discipline,
                    assessor,
                    findings: findings
                        .into_iter()
                        .map(|icf| pb::IcfFinding {
                            icf,
                            ..Default::default()
                        })
                        .collect(),
                    work_capacity,
                    domains,
                    started_at: Some(timestamp(started)),
                    ended_at: Some(timestamp(ended)),
                    etag,
                    ..Default::default()
                })
                .await?
                .into_inner();
            print_screening(&s, &r.screening.unwrap_or_default());
        }
        ScreeningCommand::Conclude {
            screening_id,
            category,
            on,
            activities,
            partial_from,
            full_return_by,
            etag,
        } => {
            let expected_return =
                (partial_from.is_some() || full_return_by.is_some()).then(|| pb::ExpectedReturn {
                    partial_from: partial_from.map(|d| d.to_string()).unwrap_or_default(),
                    full_by: full_return_by.map(|d| d.to_string()).unwrap_or_default(),
                });
            let r = client
                .conclude_screening(pb::ConcludeScreeningRequest {
                    screening_id,
                    concluded_on: date_or_today(&on),
                    recommended_category: category,
                    plan_activities: activities
                        .iter()
                        .map(|a| proposed(a))
                        .collect::<Result<_, _>>()?,
                    expected_return,
                    etag,
                    ..Default::default()
                })
                .await?
                .into_inner();
            print_screening(&s, &r.screening.unwrap_or_default());
        }
        ScreeningCommand::Show { screening_id } => {
            let r = client
                .get_screening(pb::GetScreeningRequest { screening_id })
                .await?
                .into_inner();
            print_screening(&s, &r.screening.unwrap_or_default());
        }
        ScreeningCommand::Unscreened { as_of } => {
            let r = client
                .list_unscreened_cases(pb::ListUnscreenedCasesRequest {
                    as_of: as_of.map(|d| d.to_string()).unwrap_or_default(),
                })
                .await?
                .into_inner();
            s.out.message(&r, "kia.v1.ListUnscreenedCasesResponse", || {
                s.out.fields(&[
                    ("as of", r.as_of.clone()),
                    ("unscreened", r.unscreened_new_cases.to_string()),
                    ("overdue", r.overdue.to_string()),
                ]);
                println!();
                let mut table =
                    Table::new(&["case", "first sick day", "due (D55)", "days left", "status"]);
                for c in &r.cases {
                    let status = label("kia.v1.DeadlineStatus", c.status);
                    table.row(vec![
                        c.case_id.clone(),
                        c.first_sick_day.clone(),
                        c.due_on.clone(),
                        c.days_left.to_string(),
                        if c.days_left < 0 {
                            s.out.alarm(&status)
                        } else {
                            status
                        },
                    ]);
                }
                s.out.table(&table);
            });
        }
    }
    Ok(())
}

fn print_group(s: &Connection, g: &pb::ScreeningGroup) {
    s.out.message(g, "kia.v1.ScreeningGroup", || {
        s.out.fields(&[
            ("group", g.group_id.clone()),
            ("name", g.display_name.clone()),
            ("municipality", g.municipality_code.clone()),
            ("mode", label("kia.v1.ScreeningMode", g.mode)),
            (
                "required",
                g.required_disciplines
                    .iter()
                    .map(|d| label("kia.v1.Discipline", *d))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        ]);
        println!();
        let mut table = Table::new(&["member", "discipline", "organisation"]);
        for m in &g.members {
            table.row(vec![
                m.reference.clone(),
                label("kia.v1.Discipline", m.discipline),
                or_dash(&m.organization_id),
            ]);
        }
        s.out.table(&table);
    });
}

fn print_screening(s: &Connection, x: &pb::Screening) {
    s.out.message(x, "kia.v1.Screening", || {
        let readiness = x.readiness.clone().unwrap_or_default();
        let missing: Vec<String> = readiness
            .missing_disciplines
            .iter()
            .map(|d| label("kia.v1.Discipline", *d))
            .chain(
                readiness
                    .missing_domains
                    .iter()
                    .map(|d| label("kia.v1.AssessmentDomain", *d)),
            )
            .collect();
        s.out.fields(&[
            ("screening", x.screening_id.clone()),
            ("case", x.case_id.clone()),
            ("group", x.group_id.clone()),
            ("opened on", x.opened_on.clone()),
            ("state", label("kia.v1.ScreeningState", x.state)),
            (
                "ready",
                if readiness.ready {
                    "yes".to_owned()
                } else {
                    format!("no, missing {}", missing.join(", "))
                },
            ),
            (
                "concluded",
                x.conclusion.as_ref().map_or("-".to_owned(), |c| {
                    format!(
                        "{} (category {})",
                        c.concluded_on,
                        label("kia.v1.Category", c.recommended_category)
                    )
                }),
            ),
            ("etag", x.etag.clone()),
        ]);
        println!();
        let mut table = Table::new(&["discipline", "assessor", "findings", "work capacity"]);
        for a in &x.assessments {
            table.row(vec![
                label("kia.v1.Discipline", a.discipline),
                or_dash(&a.assessor),
                a.findings
                    .iter()
                    .map(|f| f.icf.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
                a.work_capacity.clone(),
            ]);
        }
        s.out.table(&table);
    });
}
