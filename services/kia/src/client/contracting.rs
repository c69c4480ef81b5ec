//! `kia provider`, `kia contract`, `kia referral`: other actors, the municipality's contracts
//! with them, referred cases and the outcome scorecards.

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use kia_proto::v1 as pb;

use super::output::{Output, Table, or_dash};
use super::proto::{EnumArg, label, parse_enum};
use super::{ConnectArgs, Connection, Failure, all_pages, date_or_today};

#[derive(Debug, Args)]
pub struct ProviderArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(subcommand)]
    pub command: ProviderCommand,
}

#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Register a provider (jobcenter or operations).
    ///
    /// Example: `kia provider create --name "Quick Care" --kind private-provider
    /// --organization-id quick-care --cvr 12345678`
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = EnumArg("kia.v1.ProviderKind"))]
        kind: i32,
        /// The organisation id its callers present (x-kia-organization).
        #[arg(long)]
        organization_id: String,
        #[arg(long, default_value = "")]
        cvr: String,
        #[arg(long, default_value = "")]
        request_id: String,
    },
    /// List the providers you may see.
    ///
    /// Example: `kia provider list`
    List,
    /// The outcome scorecard of a provider (or `--contract`, or `--municipality`) over a
    /// period, next to Quick Care's, Roskilde's and KIA's figures.
    ///
    /// Example: `kia provider scorecard PROVIDER --from 2026-01-01 --to 2026-12-31`
    Scorecard {
        /// The provider [or give --contract or --municipality].
        provider_id: Option<String>,
        #[arg(long, conflicts_with_all = ["provider_id", "municipality"])]
        contract: Option<String>,
        #[arg(long, conflicts_with = "provider_id")]
        municipality: Option<String>,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
    },
}

#[derive(Debug, Args)]
pub struct ContractArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(subcommand)]
    pub command: ContractCommand,
}

#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Contract a provider for your municipality.
    ///
    /// Example: `kia contract create --provider P --service return-to-work-course
    /// --price-oere 3860000 --price-unit course --from 2026-01-01 --to 2026-12-31
    /// --target referral-to-start-days=4.9 --target exit-rate=0.6`
    Create {
        #[arg(long)]
        provider: String,
        #[arg(long, value_parser = EnumArg("kia.v1.ServiceType"))]
        service: i32,
        /// Price ex VAT in øre (1 DKK = 100 øre).
        #[arg(long)]
        price_oere: i64,
        #[arg(long, value_parser = EnumArg("kia.v1.PriceUnit"))]
        price_unit: i32,
        #[arg(long)]
        from: NaiveDate,
        /// Inclusive.
        #[arg(long)]
        to: NaiveDate,
        /// Referrals in progress at once.
        #[arg(long)]
        max_concurrent: Option<u32>,
        /// `METRIC=VALUE`, repeated (a share as a fraction: exit-rate=0.6).
        #[arg(long = "target")]
        targets: Vec<String>,
        /// Kommunekode [default: the caller's municipality].
        #[arg(long)]
        municipality: Option<String>,
        #[arg(long, default_value = "")]
        request_id: String,
    },
    /// Show a contract.
    ///
    /// Example: `kia contract show CONTRACT`
    Show {
        /// The contract id.
        contract_id: String,
    },
    /// List contracts.
    ///
    /// Example: `kia contract list --provider P`
    List {
        #[arg(long, default_value = "")]
        provider: String,
    },
}

#[derive(Debug, Args)]
pub struct ReferralArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(subcommand)]
    pub command: ReferralCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReferralCommand {
    /// Refer a case under a contract.
    ///
    /// Example: `kia referral create --contract CONTRACT --case CASE --on 2026-11-02`
    Create {
        #[arg(long)]
        contract: String,
        #[arg(long = "case")]
        case_id: String,
        /// [default: today]
        #[arg(long)]
        on: Option<NaiveDate>,
        #[arg(long, default_value = "")]
        request_id: String,
    },
    /// Record what happened: started, placement-started, partial-return,
    /// satisfaction-recorded (`--satisfied true|false`), ended (`--outcome`).
    ///
    /// Example: `kia referral event REFERRAL --kind ended --on 2027-01-10 --outcome recovered-fully`
    Event {
        /// The referral id.
        referral_id: String,
        #[arg(long, value_parser = EnumArg("kia.v1.ReferralEventKind"))]
        kind: i32,
        /// [default: today]
        #[arg(long)]
        on: Option<NaiveDate>,
        #[arg(long, value_parser = EnumArg("kia.v1.ReferralOutcome"))]
        outcome: Option<i32>,
        #[arg(long, value_parser = EnumArg("kia.v1.OtherBenefit"))]
        other_benefit: Option<i32>,
        #[arg(long)]
        satisfied: Option<bool>,
        #[arg(long, default_value = "")]
        etag: String,
    },
    /// Show a referral.
    ///
    /// Example: `kia referral show REFERRAL`
    Show {
        /// The referral id.
        referral_id: String,
    },
    /// List referrals.
    ///
    /// Example: `kia referral list --contract CONTRACT`
    List {
        #[arg(long, default_value = "")]
        contract: String,
    },
}

fn target(raw: &str) -> Result<pb::ContractTarget, Failure> {
    let bad = |e: String| Failure::usage(format!("--target {raw:?}: {e}"));
    let (metric, value) = raw
        .split_once('=')
        .ok_or_else(|| bad("expected METRIC=VALUE".into()))?;
    Ok(pb::ContractTarget {
        metric: parse_enum("kia.v1.ScorecardMetric", metric).map_err(bad)?,
        value: value.parse().map_err(|e| bad(format!("{e}")))?,
    })
}

pub async fn provider(s: Connection, command: ProviderCommand) -> Result<(), Failure> {
    let mut c = s.contracting();
    match command {
        ProviderCommand::Create {
            name,
            kind,
            organization_id,
            cvr,
            request_id,
        } => {
            let p = c
                .create_provider(pb::CreateProviderRequest {
                    provider: Some(pb::Provider {
                        provider_id: String::new(),
                        name,
                        kind,
                        cvr,
                        organization_id,
                    }),
                    request_id,
                })
                .await?
                .into_inner()
                .provider
                .unwrap_or_default();
            s.out.message(&p, "kia.v1.Provider", || {
                print_providers(&s, std::slice::from_ref(&p))
            });
        }
        ProviderCommand::List => {
            let (providers, _) = all_pages(usize::MAX, |page_token| {
                let mut c = c.clone();
                let request = pb::ListProvidersRequest {
                    page_size: 500,
                    page_token,
                };
                async move {
                    let r = c.list_providers(request).await?.into_inner();
                    Ok((r.providers, r.next_page_token))
                }
            })
            .await?;
            let all = pb::ListProvidersResponse {
                providers,
                next_page_token: String::new(),
            };
            s.out.message(&all, "kia.v1.ListProvidersResponse", || {
                print_providers(&s, &all.providers)
            });
        }
        ProviderCommand::Scorecard {
            provider_id,
            contract,
            municipality,
            from,
            to,
        } => {
            use pb::get_scorecard_request::Scope;
            let scope = match (provider_id, contract, municipality) {
                (Some(p), _, _) => Scope::ProviderId(p),
                (_, Some(c), _) => Scope::ContractId(c),
                (_, _, m) => Scope::MunicipalityCode(s.municipality(m.as_deref())?),
            };
            let r = c
                .get_scorecard(pb::GetScorecardRequest {
                    scope: Some(scope),
                    period_from: from.to_string(),
                    period_to: to.to_string(),
                })
                .await?
                .into_inner();
            s.out.message(&r, "kia.v1.GetScorecardResponse", || {
                print_scorecard(&s.out, &r)
            });
        }
    }
    Ok(())
}

fn print_providers(s: &Connection, providers: &[pb::Provider]) {
    let mut table = Table::new(&["provider", "name", "kind", "organisation", "cvr"]);
    for p in providers {
        table.row(vec![
            p.provider_id.clone(),
            p.name.clone(),
            label("kia.v1.ProviderKind", p.kind),
            p.organization_id.clone(),
            or_dash(&p.cvr),
        ]);
    }
    s.out.table(&table);
}

/// A scorecard for people: the counts, each metric against what it compares with, the misses.
pub fn print_scorecard(out: &Output, r: &pb::GetScorecardResponse) {
    let counts = r.counts.unwrap_or_default();
    out.fields(&[
        ("scope", format!("{} {}", r.scope_kind, r.scope_id)),
        ("period", format!("{} .. {}", r.period_from, r.period_to)),
        ("referrals", counts.referrals_received.to_string()),
        ("started", counts.courses_started.to_string()),
        ("completed", counts.courses_completed.to_string()),
        ("withdrawn", counts.withdrawn.to_string()),
        ("in progress", counts.in_progress_at_end.to_string()),
    ]);
    println!();
    let mut table = Table::new(&["metric", "count", "value", "unit", "compare with"]);
    for m in &r.metrics {
        let value = m.value.map_or("-".to_owned(), |v| {
            if m.unit == "share" {
                format!("{:.1} %", v * 100.0)
            } else {
                format!("{v:.1}")
            }
        });
        let bases: Vec<String> = m
            .bases
            .iter()
            .filter_map(|b| {
                b.value.map(|v| {
                    let v = if m.unit == "share" {
                        format!("{:.0} %", v * 100.0)
                    } else {
                        format!("{v}")
                    };
                    format!("{} {v}", b.label)
                })
            })
            .collect();
        table.row(vec![
            label("kia.v1.ScorecardMetric", m.metric),
            m.count.to_string(),
            value,
            m.unit.clone(),
            or_dash(&bases.join("; ")),
        ]);
    }
    out.table(&table);
    for miss in &r.target_misses {
        println!(
            "{}",
            out.alarm(&format!(
                "target missed: {} {:.2} against {:.2} ({} courses){}",
                label("kia.v1.ScorecardMetric", miss.metric),
                miss.actual,
                miss.target,
                miss.count,
                if miss.rule_id.is_empty() {
                    String::new()
                } else {
                    format!(", alert {}", miss.rule_id)
                }
            ))
        );
    }
}

pub async fn contract(s: Connection, command: ContractCommand) -> Result<(), Failure> {
    let mut c = s.contracting();
    match command {
        ContractCommand::Create {
            provider,
            service,
            price_oere,
            price_unit,
            from,
            to,
            max_concurrent,
            targets,
            municipality,
            request_id,
        } => {
            let contract = pb::Contract {
                provider_id: provider,
                municipality_code: s.municipality(municipality.as_deref())?,
                service,
                price_oere,
                price_unit,
                max_concurrent,
                period_from: from.to_string(),
                period_to: to.to_string(),
                targets: targets
                    .iter()
                    .map(|t| target(t))
                    .collect::<Result<_, _>>()?,
                ..Default::default()
            };
            let k = c
                .create_contract(pb::CreateContractRequest {
                    contract: Some(contract),
                    request_id,
                })
                .await?
                .into_inner()
                .contract
                .unwrap_or_default();
            s.out.message(&k, "kia.v1.Contract", || {
                print_contracts(&s, std::slice::from_ref(&k))
            });
        }
        ContractCommand::Show { contract_id } => {
            let k = c
                .get_contract(pb::GetContractRequest { contract_id })
                .await?
                .into_inner()
                .contract
                .unwrap_or_default();
            s.out.message(&k, "kia.v1.Contract", || {
                print_contracts(&s, std::slice::from_ref(&k))
            });
        }
        ContractCommand::List { provider } => {
            let (contracts, _) = all_pages(usize::MAX, |page_token| {
                let mut c = c.clone();
                let request = pb::ListContractsRequest {
                    page_size: 500,
                    page_token,
                    provider_id: provider.clone(),
                };
                async move {
                    let r = c.list_contracts(request).await?.into_inner();
                    Ok((r.contracts, r.next_page_token))
                }
            })
            .await?;
            let all = pb::ListContractsResponse {
                contracts,
                next_page_token: String::new(),
            };
            s.out.message(&all, "kia.v1.ListContractsResponse", || {
                print_contracts(&s, &all.contracts)
            });
        }
    }
    Ok(())
}

fn print_contracts(s: &Connection, contracts: &[pb::Contract]) {
    let mut table = Table::new(&[
        "contract",
        "provider",
        "municipality",
        "service",
        "price (DKK)",
        "period",
        "targets",
    ]);
    for k in contracts {
        table.row(vec![
            k.contract_id.clone(),
            k.provider_id.clone(),
            k.municipality_code.clone(),
            label("kia.v1.ServiceType", k.service),
            format!(
                "{:.2} per {}",
                k.price_oere as f64 / 100.0,
                label("kia.v1.PriceUnit", k.price_unit)
            ),
            format!("{} .. {}", k.period_from, k.period_to),
            or_dash(
                &k.targets
                    .iter()
                    .map(|t| format!("{}={}", label("kia.v1.ScorecardMetric", t.metric), t.value))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        ]);
    }
    s.out.table(&table);
}

pub async fn referral(s: Connection, command: ReferralCommand) -> Result<(), Failure> {
    let mut c = s.contracting();
    let one = |r: Option<pb::Referral>| {
        let r = r.unwrap_or_default();
        s.out.message(&r, "kia.v1.Referral", || {
            print_referrals(&s, std::slice::from_ref(&r))
        });
    };
    match command {
        ReferralCommand::Create {
            contract,
            case_id,
            on,
            request_id,
        } => {
            let r = c
                .refer_case(pb::ReferCaseRequest {
                    contract_id: contract,
                    case_id,
                    referred_on: date_or_today(&on),
                    request_id,
                })
                .await?;
            one(r.into_inner().referral);
        }
        ReferralCommand::Event {
            referral_id,
            kind,
            on,
            outcome,
            other_benefit,
            satisfied,
            etag,
        } => {
            let satisfaction = kind == pb::ReferralEventKind::SatisfactionRecorded as i32;
            let r = c
                .record_referral_event(pb::RecordReferralEventRequest {
                    referral_id,
                    etag,
                    kind,
                    on: if satisfaction {
                        String::new()
                    } else {
                        date_or_today(&on)
                    },
                    outcome: outcome.unwrap_or_default(),
                    other_benefit: other_benefit.unwrap_or_default(),
                    satisfied: satisfied.unwrap_or_default(),
                })
                .await?;
            one(r.into_inner().referral);
        }
        ReferralCommand::Show { referral_id } => {
            let r = c
                .get_referral(pb::GetReferralRequest { referral_id })
                .await?;
            one(r.into_inner().referral);
        }
        ReferralCommand::List { contract } => {
            let (referrals, _) = all_pages(usize::MAX, |page_token| {
                let mut c = c.clone();
                let request = pb::ListReferralsRequest {
                    page_size: 500,
                    page_token,
                    contract_id: contract.clone(),
                };
                async move {
                    let r = c.list_referrals(request).await?.into_inner();
                    Ok((r.referrals, r.next_page_token))
                }
            })
            .await?;
            let all = pb::ListReferralsResponse {
                referrals,
                next_page_token: String::new(),
            };
            s.out.message(&all, "kia.v1.ListReferralsResponse", || {
                print_referrals(&s, &all.referrals)
            });
        }
    }
    Ok(())
}

fn print_referrals(s: &Connection, referrals: &[pb::Referral]) {
    let mut table = Table::new(&[
        "referral", "case", "contract", "referred", "started", "ended", "outcome",
    ]);
    for r in referrals {
        table.row(vec![
            r.referral_id.clone(),
            r.case_id.clone(),
            r.contract_id.clone(),
            r.referred_on.clone(),
            or_dash(&r.started_on),
            or_dash(&r.ended_on),
            label("kia.v1.ReferralOutcome", r.outcome),
        ]);
    }
    s.out.table(&table);
}
