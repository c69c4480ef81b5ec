//! `kia import`: cases, plans or providers from a CSV file, for a municipality moving from
//! another system.
//!
//! Every row is one create request whose `request_id` is derived from the row's content, so a
//! re-run (or a duplicated row) replays instead of creating twice, and a bad row is rejected on
//! its own: it never stops the rest or leaves anything half-written.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use kia_proto::v1 as pb;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::client::error::exit;
use crate::client::output::Table;
use crate::client::proto::parse_enum;
use crate::client::{self, ConnectArgs, Connection, Failure};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportKind {
    /// citizen_reference, first_sick_day, employment_status[, employer_reference,
    /// municipality_code]
    Cases,
    /// case_id or citizen_reference, kind, author[, stage]
    Plans,
    /// name, kind, organization_id[, cvr]
    Providers,
}

impl ImportKind {
    fn name(self) -> &'static str {
        match self {
            Self::Cases => "cases",
            Self::Plans => "plans",
            Self::Providers => "providers",
        }
    }

    /// (required, optional) columns.
    fn columns(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Self::Cases => (
                &["citizen_reference", "first_sick_day", "employment_status"],
                &["employer_reference", "municipality_code"],
            ),
            Self::Plans => (
                &["kind", "author"],
                &["case_id", "citizen_reference", "stage"],
            ),
            Self::Providers => (&["name", "kind", "organization_id"], &["cvr"]),
        }
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The CSV file: a header row naming the columns (any order), then one record per row.
    pub file: PathBuf,
    /// What the rows are.
    #[arg(long, value_enum, default_value = "cases")]
    pub kind: ImportKind,
    /// Rows sent at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
}

/// One data row: its line number in the file (the header is row 1) and its cells by column.
#[derive(Debug, Clone)]
struct Row {
    number: usize,
    cells: HashMap<String, String>,
}

impl Row {
    fn get(&self, column: &str) -> &str {
        self.cells.get(column).map_or("", |v| v.trim())
    }

    /// The idempotency key of this row: the same content always gives the same key.
    fn request_id(&self, kind: ImportKind) -> String {
        let mut columns: Vec<(&String, &String)> = self.cells.iter().collect();
        columns.sort();
        let mut hash = Sha256::new();
        hash.update(kind.name());
        for (k, v) in columns {
            hash.update([0x1f]);
            hash.update(k);
            hash.update([0x1e]);
            hash.update(v.trim());
        }
        format!("import-{}", &hex::encode(hash.finalize())[..40])
    }
}

/// What became of one row.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
enum RowResult {
    Created {
        row: usize,
        id: String,
    },
    /// Imported by an earlier run (or an identical earlier row).
    Existing {
        row: usize,
        id: String,
    },
    Rejected {
        row: usize,
        /// The column (refused here) or the request field (refused by the daemon) at fault.
        field: String,
        code: String,
        message: String,
    },
}

impl RowResult {
    fn row(&self) -> usize {
        match self {
            Self::Created { row, .. } | Self::Existing { row, .. } | Self::Rejected { row, .. } => {
                *row
            }
        }
    }

    fn rejected(row: usize, failure: &Failure, fallback_field: &str) -> Self {
        Self::Rejected {
            row,
            field: failure.field().unwrap_or(fallback_field).to_owned(),
            code: failure.code.clone(),
            message: failure
                .field_violations
                .first()
                .map_or_else(|| failure.message.clone(), |v| v.description.clone()),
        }
    }
}

#[derive(Debug, serde::Serialize)]
struct Report {
    kind: &'static str,
    file: String,
    rows: usize,
    created: usize,
    existing: usize,
    rejected: usize,
    results: Vec<RowResult>,
}

fn read_rows(args: &ImportArgs) -> Result<Vec<Row>, Failure> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::Headers)
        .flexible(true)
        .from_path(&args.file)
        .map_err(|e| Failure::usage(format!("{}: {e}", args.file.display())))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Failure::usage(format!("{}: {e}", args.file.display())))?
        .iter()
        .map(str::to_owned)
        .collect();
    let (required, optional) = args.kind.columns();
    let missing: Vec<&str> = required
        .iter()
        .filter(|c| !headers.iter().any(|h| h == *c))
        .copied()
        .collect();
    let names_no_case = args.kind == ImportKind::Plans
        && !headers
            .iter()
            .any(|h| h == "case_id" || h == "citizen_reference");
    if !missing.is_empty() || names_no_case {
        let missing = if names_no_case {
            missing
                .into_iter()
                .chain(["case_id or citizen_reference"])
                .collect()
        } else {
            missing
        };
        return Err(Failure::usage(format!(
            "{}: missing column(s) {} (an import of {} has {}; optional {})",
            args.file.display(),
            missing.join(", "),
            args.kind.name(),
            required.join(", "),
            optional.join(", ")
        )));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Failure::usage(format!("{}: {e}", args.file.display())))?;
        let cells = headers
            .iter()
            .zip(record.iter())
            .map(|(h, v)| (h.clone(), v.to_owned()))
            .collect();
        rows.push(Row {
            number: i + 2,
            cells,
        });
    }
    Ok(rows)
}

pub fn main(args: ImportArgs) -> ExitCode {
    let json = args.connect.output == client::output::Format::Json;
    let rows = match read_rows(&args) {
        Ok(rows) => rows,
        Err(f) => return client::report(&f, json),
    };
    let mut rejected_any = false;
    let rejected = &mut rejected_any;
    let args = &args;
    let code = client::run(&args.connect, |s| async move {
        let report = import(&s, args, rows).await?;
        *rejected = report.rejected > 0;
        print_report(&s, &report);
        Ok(())
    });
    if code == ExitCode::SUCCESS && rejected_any {
        ExitCode::from(exit::ROWS_REJECTED)
    } else {
        code
    }
}

/// What the daemon held before the run: to tell rows already imported, and to find a plan's
/// case by the citizen's reference.
#[derive(Debug, Default)]
struct Known {
    started: prost_types::Timestamp,
    providers: HashSet<String>,
    cases_by_citizen: HashMap<String, Vec<String>>,
}

async fn import(s: &Connection, args: &ImportArgs, rows: Vec<Row>) -> Result<Report, Failure> {
    let kind = args.kind;
    let started = prost_types::Timestamp::from(std::time::SystemTime::now());
    let mut cases_by_citizen: HashMap<String, Vec<String>> = HashMap::new();
    if kind == ImportKind::Plans && rows.iter().any(|r| r.get("case_id").is_empty()) {
        let (cases, _) = client::all_pages(usize::MAX, |page_token| {
            let mut c = s.cases();
            async move {
                let r = c
                    .list_cases(pb::ListCasesRequest {
                        page_size: 500,
                        page_token,
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                Ok((r.cases, r.next_page_token))
            }
        })
        .await?;
        for case in cases {
            cases_by_citizen
                .entry(case.citizen_reference)
                .or_default()
                .push(case.case_id);
        }
    }
    let providers = if kind == ImportKind::Providers {
        let (providers, _) = client::all_pages(usize::MAX, |page_token| {
            let mut c = s.contracting();
            async move {
                let r = c
                    .list_providers(pb::ListProvidersRequest {
                        page_size: 500,
                        page_token,
                    })
                    .await?
                    .into_inner();
                Ok((r.providers, r.next_page_token))
            }
        })
        .await?;
        providers.into_iter().map(|p| p.provider_id).collect()
    } else {
        HashSet::new()
    };
    let known = Arc::new(Known {
        started,
        providers,
        cases_by_citizen,
    });
    let bar = if std::io::stderr().is_terminal() && !s.out.json() {
        indicatif::ProgressBar::new(rows.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let limit = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for row in rows.clone() {
        let (s, limit, bar, known) = (s.clone(), limit.clone(), bar.clone(), known.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire().await;
            let result = import_row(&s, kind, &row, &known).await;
            bar.inc(1);
            result
        });
    }
    let mut results = Vec::with_capacity(rows.len());
    while let Some(joined) = tasks.join_next().await {
        results.push(joined.map_err(|e| Failure::other(format!("an import task failed: {e}")))?);
    }
    bar.finish_and_clear();
    results.sort_by_key(RowResult::row);
    let count = |f: fn(&RowResult) -> bool| results.iter().filter(|r| f(r)).count();
    Ok(Report {
        kind: kind.name(),
        file: args.file.display().to_string(),
        rows: rows.len(),
        created: count(|r| matches!(r, RowResult::Created { .. })),
        existing: count(|r| matches!(r, RowResult::Existing { .. })),
        rejected: count(|r| matches!(r, RowResult::Rejected { .. })),
        results,
    })
}

/// An enum cell, or the row's rejection naming the column.
fn enum_cell(row: &Row, column: &str, full_name: &str) -> Result<i32, RowResult> {
    parse_enum(full_name, row.get(column)).map_err(|message| RowResult::Rejected {
        row: row.number,
        field: column.to_owned(),
        code: "INVALID_ARGUMENT".to_owned(),
        message,
    })
}

fn created_before(time: Option<&prost_types::Timestamp>, started: &prost_types::Timestamp) -> bool {
    time.is_some_and(|t| (t.seconds, t.nanos) < (started.seconds, started.nanos))
}

async fn import_row(s: &Connection, kind: ImportKind, row: &Row, known: &Known) -> RowResult {
    match import_row_inner(s, kind, row, known).await {
        Ok(result) | Err(result) => result,
    }
}

async fn import_row_inner(
    s: &Connection,
    kind: ImportKind,
    row: &Row,
    known: &Known,
) -> Result<RowResult, RowResult> {
    let request_id = row.request_id(kind);
    let n = row.number;
    let done = |id: String, existing: bool| {
        if existing {
            RowResult::Existing { row: n, id }
        } else {
            RowResult::Created { row: n, id }
        }
    };
    match kind {
        ImportKind::Cases => {
            let municipality = match row.get("municipality_code") {
                "" => s
                    .municipality(None)
                    .map_err(|f| RowResult::rejected(n, &f, "municipality_code"))?,
                m => m.to_owned(),
            };
            let case = pb::Case {
                municipality_code: municipality,
                first_sick_day: row.get("first_sick_day").to_owned(),
                employment_status: enum_cell(row, "employment_status", "kia.v1.EmploymentStatus")?,
                employer_reference: row.get("employer_reference").to_owned(),
                citizen_reference: row.get("citizen_reference").to_owned(),
                ..Default::default()
            };
            let case = s
                .cases()
                .create_case(pb::CreateCaseRequest {
                    r#case: Some(case),
                    request_id,
                })
                .await
                .map_err(|e| RowResult::rejected(n, &e.into(), ""))?
                .into_inner()
                .r#case
                .unwrap_or_default();
            Ok(done(
                case.case_id,
                created_before(case.create_time.as_ref(), &known.started),
            ))
        }
        ImportKind::Plans => {
            let raw_author = row.get("author");
            let (person, capacity) = raw_author
                .split_once(':')
                .unwrap_or((raw_author, "caseworker"));
            let capacity =
                parse_enum("kia.v1.Capacity", capacity).map_err(|message| RowResult::Rejected {
                    row: n,
                    field: "author".into(),
                    code: "INVALID_ARGUMENT".into(),
                    message,
                })?;
            let case_id = match row.get("case_id") {
                "" => {
                    let citizen = row.get("citizen_reference");
                    let found = known
                        .cases_by_citizen
                        .get(citizen)
                        .map_or(&[][..], Vec::as_slice);
                    match found {
                        [one] => one.clone(),
                        _ => {
                            return Err(RowResult::Rejected {
                                row: n,
                                field: "citizen_reference".into(),
                                code: "NOT_FOUND".into(),
                                message: format!(
                                    "matches {} of your cases; give case_id instead",
                                    found.len()
                                ),
                            });
                        }
                    }
                }
                id => id.to_owned(),
            };
            let stage = match row.get("stage") {
                "" => pb::PlanStage::Preliminary as i32,
                _ => enum_cell(row, "stage", "kia.v1.PlanStage")?,
            };
            let plan = s
                .plans()
                .create_plan(pb::CreatePlanRequest {
                    case_id,
                    kind: enum_cell(row, "kind", "kia.v1.PlanKind")?,
                    stage,
                    author: Some(pb::Party {
                        person: person.to_owned(),
                        organisation: String::new(),
                        capacity,
                    }),
                    request_id,
                })
                .await
                .map_err(|e| RowResult::rejected(n, &e.into(), ""))?
                .into_inner()
                .plan
                .unwrap_or_default();
            Ok(done(
                plan.case_id,
                created_before(plan.create_time.as_ref(), &known.started),
            ))
        }
        ImportKind::Providers => {
            let provider = pb::Provider {
                provider_id: String::new(),
                name: row.get("name").to_owned(),
                kind: enum_cell(row, "kind", "kia.v1.ProviderKind")?,
                cvr: row.get("cvr").to_owned(),
                organization_id: row.get("organization_id").to_owned(),
            };
            let provider = s
                .contracting()
                .create_provider(pb::CreateProviderRequest {
                    provider: Some(provider),
                    request_id,
                })
                .await
                .map_err(|e| RowResult::rejected(n, &e.into(), ""))?
                .into_inner()
                .provider
                .unwrap_or_default();
            let existing = known.providers.contains(&provider.provider_id);
            Ok(done(provider.provider_id, existing))
        }
    }
}

fn print_report(s: &Connection, report: &Report) {
    if s.out.json() {
        println!("{}", serde_json::to_value(report).unwrap_or_default());
        return;
    }
    println!(
        "{}: {} rows: {} imported, {} already there, {} rejected",
        report.file, report.rows, report.created, report.existing, report.rejected
    );
    if report.rejected > 0 {
        println!();
        let mut table = Table::new(&["row", "field", "status", "reason"]);
        for r in &report.results {
            if let RowResult::Rejected {
                row,
                field,
                code,
                message,
            } = r
            {
                table.row(vec![
                    row.to_string(),
                    if field.is_empty() {
                        "-".into()
                    } else {
                        field.clone()
                    },
                    code.clone(),
                    message.clone(),
                ]);
            }
        }
        s.out.table(&table);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row(number: usize, cells: &[(&str, &str)]) -> Row {
        Row {
            number,
            cells: cells
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn the_request_id_is_the_rows_content_not_its_place() {
        let a = row(
            2,
            &[
                ("citizen_reference", "v-1"),
                ("first_sick_day", "2026-10-05"),
            ],
        );
        let moved = row(
            9,
            &[
                ("first_sick_day", "2026-10-05 "),
                ("citizen_reference", "v-1"),
            ],
        );
        let other = row(
            2,
            &[
                ("citizen_reference", "v-2"),
                ("first_sick_day", "2026-10-05"),
            ],
        );
        assert_eq!(
            a.request_id(ImportKind::Cases),
            moved.request_id(ImportKind::Cases)
        );
        assert_ne!(
            a.request_id(ImportKind::Cases),
            other.request_id(ImportKind::Cases)
        );
        assert_ne!(
            a.request_id(ImportKind::Cases),
            a.request_id(ImportKind::Plans)
        );
        assert!(a.request_id(ImportKind::Cases).len() <= 64);
    }
}
