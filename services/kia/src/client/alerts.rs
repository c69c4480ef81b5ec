//! `kia alerts`: the alerts kia raised for the caller, acknowledging them, and following them as
//! they change.

use std::io::Write as _;

use clap::{Args, Subcommand};
use kia_proto::v1 as pb;

use super::output::{Table, or_dash, when};
use super::proto::{EnumArg, label, to_json};
use super::{ConnectArgs, Connection, Failure, all_pages};

#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(subcommand)]
    pub command: AlertsCommand,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List the alerts the caller may see, oldest first.
    ///
    /// Example: `kia alerts list --state open --rule AL-04`
    List {
        /// Only this case's alerts.
        #[arg(long = "case")]
        case_id: Option<String>,
        /// Only this rule (`AL-04`, `AL-19`, ...).
        #[arg(long)]
        rule: Option<String>,
        #[arg(long, value_parser = EnumArg("kia.v1.AlertState"))]
        state: Option<i32>,
        /// A municipality code; a jobcentre may name only its own [default: its own].
        #[arg(long)]
        municipality: Option<String>,
        /// At most this many alerts (follows page tokens).
        #[arg(long, default_value_t = 200)]
        limit: usize,
    },
    /// Mark an open alert as seen (who and when are kept). Acknowledging twice changes nothing;
    /// a resolved alert is exit 5.
    ///
    /// Example: `kia alerts ack ALERT`
    Ack {
        /// The alert id.
        alert_id: String,
    },
    /// Follow every change of the caller's alerts: first those already recorded after
    /// `--after`, then each as it happens, one line each (one JSON object per line with
    /// `--output json`), until Ctrl-C.
    ///
    /// Resume where you stopped with the last position printed: nothing is skipped or repeated.
    ///
    /// Example: `kia alerts watch --after 1042`
    Watch {
        /// Changes after this event-log position (0: from the beginning).
        #[arg(long, default_value_t = 0)]
        after: i64,
    },
}

pub async fn run(s: Connection, command: AlertsCommand) -> Result<(), Failure> {
    let mut alerts = s.alerts();
    match command {
        AlertsCommand::List {
            case_id,
            rule,
            state,
            municipality,
            limit,
        } => {
            let (alerts, next_page_token) = all_pages(limit, |page_token| {
                let mut client = alerts.clone();
                let request = pb::ListAlertsRequest {
                    municipality: municipality.clone().unwrap_or_default(),
                    case_id: case_id.clone().unwrap_or_default(),
                    rule: rule.clone().unwrap_or_default(),
                    state: state.unwrap_or_default(),
                    page_size: i32::try_from(limit.clamp(1, 500)).unwrap_or(500),
                    page_token,
                };
                async move {
                    let r = client.list_alerts(request).await?.into_inner();
                    Ok((r.alerts, r.next_page_token))
                }
            })
            .await?;
            let all = pb::ListAlertsResponse {
                alerts,
                next_page_token,
            };
            s.out.message(&all, "kia.v1.ListAlertsResponse", || {
                let mut table = Table::new(&[
                    "alert", "rule", "severity", "state", "case", "due", "for", "cause",
                ]);
                for a in &all.alerts {
                    table.row(vec![
                        a.alert_id.clone(),
                        a.rule.clone(),
                        severity(&s, a.severity),
                        label("kia.v1.AlertState", a.state),
                        or_dash(&a.case_id),
                        or_dash(&a.due_on),
                        recipient(a),
                        a.cause.clone(),
                    ]);
                }
                s.out.table(&table);
                if !all.next_page_token.is_empty() {
                    println!("(more: raise --limit)");
                }
            });
            Ok(())
        }
        AlertsCommand::Ack { alert_id } => {
            let alert = alerts
                .acknowledge_alert(pb::AcknowledgeAlertRequest { alert_id })
                .await?
                .into_inner()
                .alert
                .unwrap_or_default();
            s.out
                .message(&alert, "kia.v1.Alert", || print_alert(&s, &alert));
            Ok(())
        }
        AlertsCommand::Watch { after } => {
            // Installed before anything is printed: a Ctrl-C right after the first line must
            // end the watch here, not kill the process (`ctrl_c()` installs on first poll only).
            let mut interrupt =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                    .map_err(|e| Failure::other(format!("listening for Ctrl-C: {e}")))?;
            let mut stream = alerts
                .watch_alerts(pb::WatchAlertsRequest {
                    after_position: after,
                })
                .await?
                .into_inner();
            loop {
                tokio::select! {
                    // Ctrl-C ends the watch cleanly: every change printed so far is complete.
                    _ = interrupt.recv() => return Ok(()),
                    next = stream.message() => match next? {
                        // A reader that went away (`| head`) ends the watch as Ctrl-C does.
                        Some(change) => if print_change(&s, &change).is_err() {
                            return Ok(());
                        },
                        None => return Ok(()),
                    },
                }
            }
        }
    }
}

/// One line per change: position, change, rule, severity, state, case, alert, cause. Fails
/// when stdout is gone.
fn print_change(s: &Connection, change: &pb::WatchAlertsResponse) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    if s.out.json() {
        return writeln!(stdout, "{}", to_json(change, "kia.v1.WatchAlertsResponse"));
    }
    let a = change.alert.clone().unwrap_or_default();
    writeln!(
        stdout,
        "{}  {}  {}  {}  {}  {}  {}  {}",
        change.position,
        label("kia.v1.AlertChange", change.change),
        a.rule,
        severity(s, a.severity),
        label("kia.v1.AlertState", a.state),
        or_dash(&a.case_id),
        a.alert_id,
        a.cause
    )
}

/// High and critical alerts in red on a terminal.
fn severity(s: &Connection, value: i32) -> String {
    let text = label("kia.v1.AlertSeverity", value);
    if value >= pb::AlertSeverity::High as i32 {
        s.out.alarm(&text)
    } else {
        text
    }
}

/// `organisation/role`, or the role alone when the alert is for the case's jobcentre.
fn recipient(a: &pb::Alert) -> String {
    if a.recipient_organisation.is_empty() {
        a.recipient_role.clone()
    } else {
        format!("{}/{}", a.recipient_organisation, a.recipient_role)
    }
}

fn print_alert(s: &Connection, a: &pb::Alert) {
    s.out.fields(&[
        ("alert", a.alert_id.clone()),
        ("rule", a.rule.clone()),
        ("severity", severity(s, a.severity)),
        ("state", label("kia.v1.AlertState", a.state)),
        ("case", or_dash(&a.case_id)),
        ("subject", a.subject.clone()),
        ("for", recipient(a)),
        ("due", or_dash(&a.due_on)),
        ("cause", a.cause.clone()),
        ("raised", when(a.raised_at.as_ref())),
        ("acknowledged by", or_dash(&a.acknowledged_by)),
        ("acknowledged", when(a.acknowledged_at.as_ref())),
        ("source", or_dash(&a.source)),
    ]);
}
