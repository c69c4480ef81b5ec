//! `kia audit`: who read or changed a case's data, the access report for a citizen, and the check
//! of the audit trail's hash chain.

use clap::{ArgGroup, Args, Subcommand};
use kia_proto::v1 as pb;

use super::output::{Table, or_dash, when};
use super::{ConnectArgs, Connection, Failure, all_pages};

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Every recorded access to a case, oldest first.
    ///
    /// Example: `kia audit case CASE --limit 500`
    Case {
        /// The case id.
        case_id: String,
        /// At most this many records (follows page tokens).
        #[arg(long, default_value_t = 200)]
        limit: usize,
    },
    /// Who accessed a citizen's data: per organisation the categories, purposes, count, first and
    /// last access, then every access.
    ///
    /// Example: `kia audit report --case CASE`
    #[command(group(ArgGroup::new("citizen").required(true).args(["case_id", "cpr"])))]
    Report {
        /// The case whose citizen it is.
        #[arg(long = "case")]
        case_id: Option<String>,
        /// Or the citizen's CPR number (every case of your municipality); it is sent to the
        /// daemon only, never printed.
        #[arg(long, env = "KIA_AUDIT_CPR", hide_env_values = true)]
        cpr: Option<String>,
    },
    /// Recompute the audit trail's hash chain; exit 8 when it is broken.
    ///
    /// Example: `kia audit verify`
    Verify,
}

pub async fn run(s: Connection, command: AuditCommand) -> Result<(), Failure> {
    let mut audit = s.audit();
    match command {
        AuditCommand::Case { case_id, limit } => {
            let (events, next_page_token) = all_pages(limit, |page_token| {
                let mut client = audit.clone();
                let request = pb::ListAuditEventsRequest {
                    case_id: case_id.clone(),
                    page_size: i32::try_from(limit.clamp(1, 500)).unwrap_or(500),
                    page_token,
                };
                async move {
                    let r = client.list_audit_events(request).await?.into_inner();
                    Ok((r.events, r.next_page_token))
                }
            })
            .await?;
            let all = pb::ListAuditEventsResponse {
                events,
                next_page_token,
            };
            s.out.message(&all, "kia.v1.ListAuditEventsResponse", || {
                s.out.table(&events_table(&all.events));
                if !all.next_page_token.is_empty() {
                    println!("(more: raise --limit)");
                }
            });
            Ok(())
        }
        AuditCommand::Report { case_id, cpr } => {
            let citizen = match (case_id, cpr) {
                (Some(case_id), _) => pb::get_access_report_request::Citizen::CaseId(case_id),
                (None, Some(cpr)) => pb::get_access_report_request::Citizen::CitizenCpr(cpr),
                (None, None) => return Err(Failure::usage("give --case or --cpr")),
            };
            let report = audit
                .get_access_report(pb::GetAccessReportRequest {
                    citizen: Some(citizen),
                })
                .await?
                .into_inner();
            s.out
                .message(&report, "kia.v1.GetAccessReportResponse", || {
                    s.out.fields(&[("cases", report.case_ids.join(", "))]);
                    println!("\n{}", s.out.bold("Organisations"));
                    let mut table = Table::new(&[
                        "organisation",
                        "kind",
                        "categories",
                        "purposes",
                        "accesses",
                        "first",
                        "last",
                    ]);
                    for o in &report.organizations {
                        table.row(vec![
                            o.organization.clone(),
                            o.organization_kind.clone(),
                            o.categories.join(","),
                            o.purposes.join(","),
                            o.accesses.to_string(),
                            when(o.first_access_time.as_ref()),
                            when(o.last_access_time.as_ref()),
                        ]);
                    }
                    s.out.table(&table);
                    println!("\n{}", s.out.bold("Accesses"));
                    s.out.table(&events_table(&report.events));
                });
            Ok(())
        }
        AuditCommand::Verify => {
            let r = audit
                .verify_audit_chain(pb::VerifyAuditChainRequest {})
                .await?
                .into_inner();
            s.out.message(&r, "kia.v1.VerifyAuditChainResponse", || {
                s.out.fields(&[
                    (
                        "chain",
                        if r.intact {
                            "intact".to_owned()
                        } else {
                            s.out.alarm("BROKEN")
                        },
                    ),
                    ("records checked", r.records_checked.to_string()),
                    (
                        "first broken",
                        if r.intact {
                            "-".to_owned()
                        } else {
                            r.first_broken_sequence.to_string()
                        },
                    ),
                    ("head hash", or_dash(&r.head_hash)),
                ]);
            });
            if r.intact {
                Ok(())
            } else {
                Err(Failure::chain_broken(format!(
                    "the audit trail's hash chain is broken at record {}",
                    r.first_broken_sequence
                )))
            }
        }
    }
}

fn events_table(events: &[pb::AuditEvent]) -> Table {
    let mut table = Table::new(&[
        "seq",
        "when",
        "organisation",
        "role",
        "person",
        "category",
        "action",
        "outcome",
        "rpc",
    ]);
    for e in events {
        table.row(vec![
            e.sequence.to_string(),
            when(e.recorded_time.as_ref()),
            e.organization.clone(),
            or_dash(&e.role),
            or_dash(&e.person),
            e.category.clone(),
            e.action.clone(),
            e.outcome.clone(),
            e.rpc.clone(),
        ]);
    }
    table
}
