//! `kia plan`: the shared case plan, drawn as a timeline, and the changes a caseworker makes.

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use kia_proto::v1 as pb;
use pb::apply_plan_change_request::Change;

use super::output::or_dash;
use super::proto::{EnumArg, label};
use super::{ConnectArgs, Connection, Failure, date_or_today};

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Who makes the change, `PERSON[:CAPACITY]` (capacity default: caseworker); recorded in
    /// the plan's history.
    #[arg(long, global = true, env = "KIA_AUTHOR", help_heading = "Connection")]
    pub author: Option<String>,
    #[command(subcommand)]
    pub command: PlanCommand,
}

/// Which activity a change is about, and against which etag.
#[derive(Debug, Args)]
pub struct Target {
    /// The case id.
    pub case_id: String,
    /// The activity id (unique within the plan).
    pub activity_id: String,
    /// The date [default: today].
    #[arg(long)]
    pub on: Option<NaiveDate>,
    /// Apply only against this etag (else exit 5, ABORTED) [default: the plan's current etag].
    #[arg(long)]
    pub etag: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Draw the plan as a timeline: planned, booked and actual spans, waiting times, the
    /// projected return-to-work date against the goal, and what made it slip.
    ///
    /// Example: `kia plan show CASE --as-of 2026-11-20`
    Show {
        /// The case id.
        case_id: String,
        /// Project as of this date [default: today].
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Width of the drawing [default: the terminal's, else 100].
        #[arg(long)]
        width: Option<usize>,
    },
    /// Make the case's plan (one per case).
    ///
    /// Example: `kia plan create CASE --kind kia-return-plan --stage preliminary --author sw-1`
    Create {
        /// The case id.
        case_id: String,
        #[arg(long, value_parser = EnumArg("kia.v1.PlanKind"))]
        kind: i32,
        #[arg(long, value_parser = EnumArg("kia.v1.PlanStage"), default_value = "preliminary")]
        stage: i32,
        #[arg(long, default_value = "")]
        request_id: String,
    },
    /// Add an activity: a health activity (`--health KIND`), an employment activity
    /// (`--employment KIND --hours H`) or a workplace activity (`--workplace KIND`).
    ///
    /// Example: `kia plan add-activity CASE physio --health physiotherapy --start 2026-12-01
    /// --end 2026-12-20 --responsible fysio-vejle`
    AddActivity {
        /// The case id.
        case_id: String,
        /// The activity id (unique within the plan).
        activity_id: String,
        #[arg(long, value_parser = EnumArg("kia.v1.HealthActivityKind"), group = "what")]
        health: Option<i32>,
        #[arg(long, value_parser = EnumArg("kia.v1.EmploymentActivityKind"), group = "what")]
        employment: Option<i32>,
        #[arg(long, value_parser = EnumArg("kia.v1.WorkplaceActivityKind"), group = "what")]
        workplace: Option<i32>,
        /// Hours per week (employment and workplace activities).
        #[arg(long, default_value_t = 0.0)]
        hours: f64,
        /// Work-facing description of a workplace activity (never a diagnosis).
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long)]
        start: NaiveDate,
        #[arg(long)]
        end: Option<NaiveDate>,
        /// A date a waiting list gave: books the activity at once.
        #[arg(long)]
        booked: Option<NaiveDate>,
        /// The organisation that carries it out.
        #[arg(long, default_value = "")]
        responsible: String,
        /// Starts no earlier than these activities end.
        #[arg(long, value_delimiter = ',')]
        after: Vec<String>,
        /// Why an offer alongside a partial return speeds the return (rule 001-I6).
        #[arg(long, default_value = "")]
        combination_reason: String,
        /// Why fewer hours than the minimum.
        #[arg(long, default_value = "")]
        fewer_hours_reason: String,
        #[arg(long)]
        etag: Option<String>,
    },
    /// Book an activity for the date a waiting list gave (`--on`).
    ///
    /// Example: `kia plan book CASE specialist --on 2026-12-10`
    Book(Target),
    /// Record that an activity started.
    ///
    /// Example: `kia plan start CASE physio --on 2026-12-01`
    Start(Target),
    /// Record that an activity was completed.
    ///
    /// Example: `kia plan complete CASE physio --on 2026-12-20`
    Complete(Target),
    /// Set a goal: full return by a date, or a partial return at some hours.
    ///
    /// Example: `kia plan goal CASE full-return --by 2027-01-15`
    Goal {
        /// The case id.
        case_id: String,
        /// The goal id (unique within the plan).
        goal_id: String,
        #[arg(long)]
        by: NaiveDate,
        /// A partial return at these hours per week (default: a full return).
        #[arg(long)]
        partial_hours: Option<f64>,
        /// Reached when these activities end [default: every activity not cancelled].
        #[arg(long, value_delimiter = ',')]
        after: Vec<String>,
        #[arg(long)]
        etag: Option<String>,
    },
}

/// `PERSON[:CAPACITY]` as the plan's Party.
fn author(raw: Option<&str>) -> Result<pb::Party, Failure> {
    let raw = raw.ok_or_else(|| Failure::usage("--author (or KIA_AUTHOR) is required"))?;
    let (person, capacity) = raw.split_once(':').unwrap_or((raw, "caseworker"));
    let capacity = super::proto::parse_enum("kia.v1.Capacity", capacity)
        .map_err(|e| Failure::usage(format!("--author: {e}")))?;
    Ok(pb::Party {
        person: person.to_owned(),
        organisation: String::new(),
        capacity,
    })
}

pub async fn run(
    s: Connection,
    author_arg: Option<String>,
    command: PlanCommand,
) -> Result<(), Failure> {
    let mut plans = s.plans();
    let mut apply = async |case_id: String, etag: Option<String>, change: Change| {
        let etag = match etag {
            Some(etag) => etag,
            None => current(&s, &case_id).await?.etag,
        };
        let plan = plans
            .apply_plan_change(pb::ApplyPlanChangeRequest {
                case_id,
                etag,
                author: Some(author(author_arg.as_deref())?),
                change: Some(change),
            })
            .await?
            .into_inner()
            .plan
            .unwrap_or_default();
        print_plan(&s, &plan);
        Ok::<(), Failure>(())
    };
    match command {
        PlanCommand::Show {
            case_id,
            as_of,
            width,
        } => {
            let r = s
                .plans()
                .get_plan(pb::GetPlanRequest {
                    case_id,
                    as_of: as_of.map(|d| d.to_string()).unwrap_or_default(),
                })
                .await?
                .into_inner();
            s.out.message(&r, "kia.v1.GetPlanResponse", || {
                let width = width.or_else(terminal_width).unwrap_or(100);
                print!("{}", crate::render::timeline::render(&r, width));
            });
            Ok(())
        }
        PlanCommand::Create {
            case_id,
            kind,
            stage,
            request_id,
        } => {
            let plan = s
                .plans()
                .create_plan(pb::CreatePlanRequest {
                    case_id,
                    kind,
                    stage,
                    author: Some(author(author_arg.as_deref())?),
                    request_id,
                })
                .await?
                .into_inner()
                .plan
                .unwrap_or_default();
            print_plan(&s, &plan);
            Ok(())
        }
        PlanCommand::AddActivity {
            case_id,
            activity_id,
            health,
            employment,
            workplace,
            hours,
            description,
            start,
            end,
            booked,
            responsible,
            after,
            combination_reason,
            fewer_hours_reason,
            etag,
        } => {
            use pb::plan_activity::Kind;
            let kind = match (health, employment, workplace) {
                (Some(kind), _, _) => Kind::Health(pb::HealthActivity {
                    kind,
                    ordered_by_gp: false,
                }),
                (_, Some(kind), _) => Kind::Employment(pb::EmploymentActivity {
                    kind,
                    hours_per_week: hours,
                    organiser: 0,
                    at_own_workplace: false,
                    fewer_hours_reason,
                    combination_reason,
                }),
                (_, _, Some(kind)) => Kind::Workplace(pb::WorkplaceActivity {
                    kind,
                    hours_per_week: hours,
                    description,
                }),
                _ => {
                    return Err(Failure::usage(
                        "name what the activity is: --health, --employment or --workplace",
                    ));
                }
            };
            let activity = pb::PlanActivity {
                activity_id,
                kind: Some(kind),
                responsible,
                planned_start: start.to_string(),
                planned_end: end.map(|d| d.to_string()).unwrap_or_default(),
                booked_start: booked.map(|d| d.to_string()).unwrap_or_default(),
                depends_on: after,
                ..Default::default()
            };
            apply(
                case_id,
                etag,
                Change::AddActivity(pb::AddActivity {
                    activity: Some(activity),
                }),
            )
            .await
        }
        PlanCommand::Book(t) => {
            let change = Change::BookActivity(pb::BookActivity {
                activity_id: t.activity_id,
                booked_start: date_or_today(&t.on),
            });
            apply(t.case_id, t.etag, change).await
        }
        PlanCommand::Start(t) => {
            let change = Change::StartActivity(pb::StartActivity {
                activity_id: t.activity_id,
                started_on: date_or_today(&t.on),
            });
            apply(t.case_id, t.etag, change).await
        }
        PlanCommand::Complete(t) => {
            let change = Change::CompleteActivity(pb::CompleteActivity {
                activity_id: t.activity_id,
                completed_on: date_or_today(&t.on),
            });
            apply(t.case_id, t.etag, change).await
        }
        PlanCommand::Goal {
            case_id,
            goal_id,
            by,
            partial_hours,
            after,
            etag,
        } => {
            let (kind, hours) = match partial_hours {
                Some(h) => (pb::GoalKind::PartialReturn, h),
                None => (pb::GoalKind::FullReturn, 37.0),
            };
            let change = Change::SetGoal(pb::SetGoal {
                goal: Some(pb::Goal {
                    goal_id,
                    kind: kind as i32,
                    hours_per_week: hours,
                    by: by.to_string(),
                    depends_on: after,
                }),
            });
            apply(case_id, etag, change).await
        }
    }
}

/// The plan as it is now (for its etag).
async fn current(s: &Connection, case_id: &str) -> Result<pb::Plan, Failure> {
    Ok(s.plans()
        .get_plan(pb::GetPlanRequest {
            case_id: case_id.to_owned(),
            as_of: String::new(),
        })
        .await?
        .into_inner()
        .plan
        .unwrap_or_default())
}

fn print_plan(s: &Connection, plan: &pb::Plan) {
    s.out.message(plan, "kia.v1.Plan", || {
        s.out.fields(&[
            ("case", plan.case_id.clone()),
            ("kind", label("kia.v1.PlanKind", plan.kind)),
            ("stage", label("kia.v1.PlanStage", plan.stage)),
            ("owner", plan.owner.clone()),
            ("goals", plan.goals.len().to_string()),
            ("activities", plan.activities.len().to_string()),
            ("etag", or_dash(&plan.etag)),
        ]);
        println!("draw it: kia plan show {}", plan.case_id);
    });
}

/// The width of the terminal stdout is, else COLUMNS when the shell exports it.
fn terminal_width() -> Option<usize> {
    console::Term::stdout()
        .size_checked()
        .map(|(_, columns)| usize::from(columns))
        .or_else(|| std::env::var("COLUMNS").ok()?.parse().ok())
}
