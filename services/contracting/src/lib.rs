//! kia.v1.ContractingService: providers (andre aktører), the municipality's contracts with
//! them, referrals of cases, scorecards, rankings and the municipality's economics. Thin: the
//! rules live in `kia_domain::contracting`; this converts, authorizes, and stores.
//!
//! Who sees what: a jobcenter sees and manages its own municipality's contracts and referrals;
//! a provider caller (`identity.organization` = the organisation id registered on a provider)
//! sees only that provider's contracts and the referrals under them, and records their events.

mod convert;
pub mod fuzzing;

use kia_domain::case::{Case, CaseId, MunicipalityCode};
use kia_domain::contracting::{
    CitizenEconomics, Contract, ContractId, DateRange, ProviderId, RawReferral, Referral,
    ReferralId, Scope, Scorecard, Unranked, admit_referral, citizen_net_gain, kia_vejle_2003_2006,
    quick_care_national, rank, roskilde_2010_2012, roskilde_net_gain,
};
use kia_domain::error::Invalid;
use kia_domain::reimbursement::Activity;
use kia_proto::v1 as pb;
use kia_proto::v1::contracting_service_server::ContractingService;
use kia_runtime::identity::OrganizationKind;
use kia_runtime::{ApiError, Context, Identity, audit, authz, handle, pagination};
use kia_store::{
    ContractFilter, Created, NewEvent, ProviderRecord, ReferralFilter, ReferralRecord, Referred,
    StoreError,
};
use tonic::{Request, Response, Status};

pub use kia_proto::v1::contracting_service_server::ContractingServiceServer;

/// The ContractingService implementation.
#[derive(Debug, Clone)]
pub struct ContractingApi {
    ctx: Context,
}

/// Most rows a scorecard or ranking reads in one go.
const ALL: u32 = u32::MAX;

/// How many times a referral event without an etag is re-applied after a concurrent change.
const MAX_CHANGE_ATTEMPTS: usize = 3;

/// Whose contracts a caller acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Viewer {
    Jobcenter(MunicipalityCode),
    Provider(ProviderId),
}

impl Viewer {
    fn sees(&self, contract: &Contract) -> bool {
        match self {
            Viewer::Jobcenter(m) => contract.municipality == *m,
            Viewer::Provider(p) => contract.provider == *p,
        }
    }

    fn sees_referral(&self, record: &ReferralRecord) -> bool {
        match self {
            Viewer::Jobcenter(m) => record.municipality == *m,
            Viewer::Provider(p) => record.provider == *p,
        }
    }

    fn contracts(&self) -> ContractFilter {
        match self {
            Viewer::Jobcenter(m) => ContractFilter {
                municipality: Some(m.clone()),
                provider: None,
            },
            Viewer::Provider(p) => ContractFilter {
                municipality: None,
                provider: Some(*p),
            },
        }
    }

    fn referrals(&self) -> ReferralFilter {
        let c = self.contracts();
        ReferralFilter {
            municipality: c.municipality,
            provider: c.provider,
            contract: None,
        }
    }

    fn municipality(&self) -> Result<&MunicipalityCode, ApiError> {
        match self {
            Viewer::Jobcenter(m) => Ok(m),
            Viewer::Provider(_) => Err(ApiError::PermissionDenied),
        }
    }
}

fn parse_id<T: std::str::FromStr>(field: &str, raw: &str) -> Result<T, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::invalid(field, "must be an id as kia issued it"))
}

fn new_uuid_parts(ctx: &Context) -> (u64, u128) {
    (
        ctx.clock.now().timestamp_millis().max(0) as u64,
        uuid::Uuid::new_v4().as_u128(),
    )
}

/// Pages through `rows` fetched with one extra row: the token for the next page, if any.
fn next_page<T>(
    rows: &mut Vec<T>,
    page_size: u32,
    key: impl Fn(&T) -> String,
    digest: &str,
) -> String {
    if rows.len() > page_size as usize {
        rows.truncate(page_size as usize);
        rows.last()
            .map(|r| pagination::encode(&key(r), digest))
            .unwrap_or_default()
    } else {
        String::new()
    }
}

fn after<T: std::str::FromStr>(token: &str, digest: &str) -> Result<Option<T>, ApiError> {
    pagination::decode(token, digest)?
        .map(|raw| raw.parse::<T>())
        .transpose()
        .map_err(|_| ApiError::invalid("page_token", "is not a token this server issued"))
}

impl ContractingApi {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// The service wrapped in the gate (readiness and caller identity).
    pub fn server(
        ctx: Context,
    ) -> tonic::service::interceptor::InterceptedService<
        ContractingServiceServer<Self>,
        kia_runtime::server::Gate,
    > {
        let gate = ctx.gate.clone();
        ContractingServiceServer::with_interceptor(Self::new(ctx), gate)
    }

    /// The caller as a jobcenter or a registered provider; everyone else is denied.
    async fn viewer(&self, identity: &Identity) -> Result<Viewer, ApiError> {
        match identity.kind {
            OrganizationKind::Jobcenter => Ok(Viewer::Jobcenter(
                identity.jobcenter_municipality()?.clone(),
            )),
            OrganizationKind::Provider => self
                .ctx
                .store
                .provider_by_organization(&identity.organization)
                .await?
                .map(|p| Viewer::Provider(p.provider.id))
                .ok_or(ApiError::PermissionDenied),
            _ => Err(ApiError::PermissionDenied),
        }
    }

    async fn visible_contract(&self, viewer: &Viewer, raw_id: &str) -> Result<Contract, ApiError> {
        let id: ContractId = parse_id("contract_id", raw_id)?;
        authz::owned(self.ctx.store.get_contract(id).await?, "contract", |c| {
            viewer.sees(c)
        })
    }

    async fn visible_referral(
        &self,
        viewer: &Viewer,
        raw_id: &str,
    ) -> Result<ReferralRecord, ApiError> {
        let id: ReferralId = parse_id("referral_id", raw_id)?;
        let record = authz::owned(self.ctx.store.get_referral(id).await?, "referral", |r| {
            viewer.sees_referral(r)
        })?;
        audit::touch(&record.referral.case.to_string(), audit::Category::Referral);
        Ok(record)
    }

    async fn visible_case(&self, scope: &MunicipalityCode, raw_id: &str) -> Result<Case, ApiError> {
        let id: CaseId = parse_id("case_id", raw_id)?;
        let case = authz::owned(self.ctx.store.get_case(id).await?, "case", |c: &Case| {
            &c.intake.municipality == scope
        })?;
        audit::touch(&case.id.to_string(), audit::Category::Referral);
        Ok(case)
    }

    async fn create_provider(
        &self,
        identity: Identity,
        r: pb::CreateProviderRequest,
    ) -> Result<pb::CreateProviderResponse, ApiError> {
        if !matches!(
            identity.kind,
            OrganizationKind::Jobcenter | OrganizationKind::Operations
        ) {
            return Err(ApiError::PermissionDenied);
        }
        let (ms, random) = new_uuid_parts(&self.ctx);
        let raw = r.provider.unwrap_or_default();
        let record = convert::provider_record(ProviderId::new(ms, random), &raw)?;
        let params = (
            &record.provider.name,
            record.provider.kind,
            &record.provider.cvr,
            &record.organization,
        );
        let key = convert::idempotency_key(&identity, "CreateProvider", &r.request_id, &params)?;
        let record = match self.ctx.store.create_provider(&record, key.as_ref()).await {
            Ok(Created::New(p)) => {
                self.ctx.feed.nudge();
                tracing::info!(provider_id = %p.provider.id, "provider registered");
                p
            }
            Ok(Created::Replayed(p)) => p,
            Err(StoreError::Conflict(_)) => {
                return Err(ApiError::invalid(
                    "provider.organization_id",
                    "is already registered to another provider",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        Ok(pb::CreateProviderResponse {
            provider: Some(convert::provider_to_pb(&record)),
        })
    }

    async fn get_provider(
        &self,
        identity: Identity,
        r: pb::GetProviderRequest,
    ) -> Result<pb::GetProviderResponse, ApiError> {
        let own = self.provider_scope(&identity).await?;
        let id: ProviderId = parse_id("provider_id", &r.provider_id)?;
        if own.is_some_and(|own| own != id) {
            return Err(ApiError::PermissionDenied);
        }
        let record = self
            .ctx
            .store
            .get_provider(id)
            .await?
            .ok_or(ApiError::NotFound {
                resource: "provider",
            })?;
        Ok(pb::GetProviderResponse {
            provider: Some(convert::provider_to_pb(&record)),
        })
    }

    /// Providers are a shared register: jobcenters and operations see all of them, a provider
    /// caller only its own (`Some`).
    async fn provider_scope(&self, identity: &Identity) -> Result<Option<ProviderId>, ApiError> {
        match identity.kind {
            OrganizationKind::Jobcenter | OrganizationKind::Operations => Ok(None),
            _ => match self.viewer(identity).await? {
                Viewer::Provider(p) => Ok(Some(p)),
                Viewer::Jobcenter(_) => Ok(None),
            },
        }
    }

    async fn list_providers(
        &self,
        identity: Identity,
        r: pb::ListProvidersRequest,
    ) -> Result<pb::ListProvidersResponse, ApiError> {
        let own = self.provider_scope(&identity).await?;
        let page_size = pagination::page_size(r.page_size)?;
        let digest = pagination::filter_digest(&["providers"]);
        let after: Option<ProviderId> = after(&r.page_token, &digest)?;
        let mut rows: Vec<ProviderRecord> = match own {
            Some(id) => self
                .ctx
                .store
                .get_provider(id)
                .await?
                .into_iter()
                .filter(|p| after.is_none_or(|a| p.provider.id > a))
                .collect(),
            None => self.ctx.store.list_providers(after, page_size + 1).await?,
        };
        let next_page_token =
            next_page(&mut rows, page_size, |p| p.provider.id.to_string(), &digest);
        Ok(pb::ListProvidersResponse {
            providers: rows.iter().map(convert::provider_to_pb).collect(),
            next_page_token,
        })
    }

    async fn create_contract(
        &self,
        identity: Identity,
        r: pb::CreateContractRequest,
    ) -> Result<pb::CreateContractResponse, ApiError> {
        let scope = identity.jobcenter_municipality()?.clone();
        let raw = r.contract.unwrap_or_default();
        let (ms, random) = new_uuid_parts(&self.ctx);
        let contract = Contract::parse(
            ContractId::new(ms, random),
            &convert::raw_contract(&raw)?,
            "contract.",
        )?;
        if contract.municipality != scope {
            return Err(ApiError::PermissionDenied);
        }
        if self
            .ctx
            .store
            .get_provider(contract.provider)
            .await?
            .is_none()
        {
            return Err(ApiError::invalid(
                "contract.provider_id",
                "names no registered provider",
            ));
        }
        let params = Contract {
            id: ContractId::from_uuid(uuid::Uuid::nil()),
            ..contract.clone()
        };
        let key = convert::idempotency_key(&identity, "CreateContract", &r.request_id, &params)?;
        let contract = match self
            .ctx
            .store
            .create_contract(&contract, key.as_ref())
            .await?
        {
            Created::New(c) => {
                self.ctx.feed.nudge();
                tracing::info!(contract_id = %c.id, municipality = %c.municipality, "contract created");
                c
            }
            Created::Replayed(c) => c,
        };
        Ok(pb::CreateContractResponse {
            contract: Some(convert::contract_to_pb(&contract)),
        })
    }

    async fn get_contract(
        &self,
        identity: Identity,
        r: pb::GetContractRequest,
    ) -> Result<pb::GetContractResponse, ApiError> {
        let viewer = self.viewer(&identity).await?;
        let contract = self.visible_contract(&viewer, &r.contract_id).await?;
        Ok(pb::GetContractResponse {
            contract: Some(convert::contract_to_pb(&contract)),
        })
    }

    async fn list_contracts(
        &self,
        identity: Identity,
        r: pb::ListContractsRequest,
    ) -> Result<pb::ListContractsResponse, ApiError> {
        let viewer = self.viewer(&identity).await?;
        let page_size = pagination::page_size(r.page_size)?;
        let mut filter = viewer.contracts();
        if !r.provider_id.is_empty() {
            let asked: ProviderId = parse_id("provider_id", &r.provider_id)?;
            if filter.provider.is_some_and(|own| own != asked) {
                return Err(ApiError::PermissionDenied);
            }
            filter.provider = Some(asked);
        }
        let digest = pagination::filter_digest(&[&r.provider_id]);
        let after: Option<ContractId> = after(&r.page_token, &digest)?;
        let mut rows = self
            .ctx
            .store
            .list_contracts(&filter, after, page_size + 1)
            .await?;
        let next_page_token = next_page(&mut rows, page_size, |c| c.id.to_string(), &digest);
        Ok(pb::ListContractsResponse {
            contracts: rows.iter().map(convert::contract_to_pb).collect(),
            next_page_token,
        })
    }

    async fn refer_case(
        &self,
        identity: Identity,
        r: pb::ReferCaseRequest,
    ) -> Result<pb::ReferCaseResponse, ApiError> {
        let scope = identity.jobcenter_municipality()?.clone();
        let viewer = Viewer::Jobcenter(scope.clone());
        let contract = self.visible_contract(&viewer, &r.contract_id).await?;
        let case = self.visible_case(&scope, &r.case_id).await?;
        let (ms, random) = new_uuid_parts(&self.ctx);
        let first_sick_day = case.intake.first_sick_day.to_string();
        let referral = Referral::parse(
            ReferralId::new(ms, random),
            contract.id,
            &RawReferral {
                case: Some(case.id),
                first_sick_day: &first_sick_day,
                referred_on: &r.referred_on,
            },
            self.ctx.clock.today(),
            "",
        )?;
        let params = (contract.id, case.id, referral.referred_on);
        let key = convert::idempotency_key(&identity, "ReferCase", &r.request_id, &params)?;
        let record = ReferralRecord {
            referral,
            municipality: scope.clone(),
            provider: contract.provider,
            version: 1,
        };
        let (case_id, referred_on) = (case.id, record.referral.referred_on);
        let admit = move |c: &Contract, existing: &[Referral]| {
            admit_referral(c, existing, &scope, case_id, referred_on)
        };
        let record = match self.ctx.store.refer(&record, key.as_ref(), &admit).await? {
            Referred::New(r) => {
                self.ctx.feed.nudge();
                tracing::info!(referral_id = %r.referral.id, contract_id = %r.referral.contract, "case referred");
                r
            }
            Referred::Replayed(r) => r,
            Referred::Refused(verdict) => return Err(verdict.into()),
            Referred::NoContract => {
                return Err(ApiError::NotFound {
                    resource: "contract",
                });
            }
        };
        Ok(pb::ReferCaseResponse {
            referral: Some(convert::referral_to_pb(&record)),
        })
    }

    async fn record_referral_event(
        &self,
        identity: Identity,
        r: pb::RecordReferralEventRequest,
    ) -> Result<pb::RecordReferralEventResponse, ApiError> {
        let viewer = self.viewer(&identity).await?;
        self.visible_referral(&viewer, &r.referral_id).await?;
        let event = convert::referral_event(&r)?;
        for _ in 0..MAX_CHANGE_ATTEMPTS {
            let mut record = self.visible_referral(&viewer, &r.referral_id).await?;
            if !r.etag.is_empty() && r.etag != record.etag() {
                return Err(ApiError::Aborted {
                    current_etag: record.etag(),
                });
            }
            let next = record.referral.apply(&event, self.ctx.clock.today(), "")?;
            if next == record.referral {
                // A retried event: already recorded, nothing changes.
                return Ok(pb::RecordReferralEventResponse {
                    referral: Some(convert::referral_to_pb(&record)),
                });
            }
            let expected = record.version;
            record.referral = next;
            record.version += 1;
            let stored = NewEvent::referral_changed(&record, &event);
            match self
                .ctx
                .store
                .update_referral(&record, expected, &stored)
                .await
            {
                Ok(()) => {
                    self.ctx.feed.nudge();
                    if let kia_domain::contracting::ReferralEvent::Started { on } = event {
                        self.record_referral_to_start(&record, on).await;
                    }
                    tracing::info!(referral_id = %record.referral.id, event = stored.event_type, "referral event recorded");
                    return Ok(pb::RecordReferralEventResponse {
                        referral: Some(convert::referral_to_pb(&record)),
                    });
                }
                Err(StoreError::Stale) if r.etag.is_empty() => continue,
                Err(StoreError::Stale) => {
                    let current = self.visible_referral(&viewer, &r.referral_id).await?;
                    return Err(ApiError::Aborted {
                        current_etag: current.etag(),
                    });
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(ApiError::Unavailable(
            "the referral is changing too fast; retry".into(),
        ))
    }

    /// The referral-to-start histogram, by the provider's organisation id.
    async fn record_referral_to_start(
        &self,
        record: &ReferralRecord,
        started_on: chrono::NaiveDate,
    ) {
        match self.ctx.store.get_provider(record.provider).await {
            Ok(Some(provider)) => self.ctx.metrics.record_referral_to_start(
                &provider.organization,
                (started_on - record.referral.referred_on).num_days(),
            ),
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "reading the provider for metrics failed"),
        }
    }

    async fn get_referral(
        &self,
        identity: Identity,
        r: pb::GetReferralRequest,
    ) -> Result<pb::GetReferralResponse, ApiError> {
        let viewer = self.viewer(&identity).await?;
        let record = self.visible_referral(&viewer, &r.referral_id).await?;
        Ok(pb::GetReferralResponse {
            referral: Some(convert::referral_to_pb(&record)),
        })
    }

    async fn list_referrals(
        &self,
        identity: Identity,
        r: pb::ListReferralsRequest,
    ) -> Result<pb::ListReferralsResponse, ApiError> {
        let viewer = self.viewer(&identity).await?;
        let page_size = pagination::page_size(r.page_size)?;
        let mut filter = viewer.referrals();
        if !r.contract_id.is_empty() {
            filter.contract = Some(self.visible_contract(&viewer, &r.contract_id).await?.id);
        }
        let digest = pagination::filter_digest(&[&r.contract_id]);
        let after: Option<ReferralId> = after(&r.page_token, &digest)?;
        let mut rows = self
            .ctx
            .store
            .list_referrals(&filter, after, page_size + 1)
            .await?;
        let next_page_token =
            next_page(&mut rows, page_size, |r| r.referral.id.to_string(), &digest);
        for row in &rows {
            audit::touch(&row.referral.case.to_string(), audit::Category::Referral);
        }
        Ok(pb::ListReferralsResponse {
            referrals: rows.iter().map(convert::referral_to_pb).collect(),
            next_page_token,
        })
    }

    /// Every contract and referral the viewer may see (a scorecard's input).
    async fn visible_book(
        &self,
        viewer: &Viewer,
    ) -> Result<(Vec<Contract>, Vec<Referral>), ApiError> {
        let contracts = self
            .ctx
            .store
            .list_contracts(&viewer.contracts(), None, ALL)
            .await?;
        let referrals = self
            .ctx
            .store
            .list_referrals(&viewer.referrals(), None, ALL)
            .await?
            .into_iter()
            .map(|r| r.referral)
            .collect();
        Ok((contracts, referrals))
    }

    /// The scorecard of `scope` with the published comparison figures stored next to each
    /// metric.
    fn scorecard(
        scope: Scope,
        period: DateRange,
        contracts: &[Contract],
        referrals: &[Referral],
    ) -> Result<Scorecard, ApiError> {
        let mut card = Scorecard::compute(scope, period, contracts, referrals);
        card.attach_all(
            quick_care_national()
                .into_iter()
                .chain(roskilde_2010_2012())
                .chain(kia_vejle_2003_2006()),
        )
        .map_err(|e| ApiError::Internal(format!("reference figures: {e}")))?;
        Ok(card)
    }

    async fn get_scorecard(
        &self,
        identity: Identity,
        r: pb::GetScorecardRequest,
    ) -> Result<pb::GetScorecardResponse, ApiError> {
        use pb::get_scorecard_request::Scope as S;
        let viewer = self.viewer(&identity).await?;
        let scope = match &r.scope {
            Some(S::ContractId(id)) => {
                Scope::Contract(self.visible_contract(&viewer, id).await?.id)
            }
            Some(S::ProviderId(id)) => {
                let id: ProviderId = parse_id("provider_id", id)?;
                if matches!(viewer, Viewer::Provider(own) if own != id) {
                    return Err(ApiError::PermissionDenied);
                }
                Scope::Provider(id)
            }
            Some(S::MunicipalityCode(code)) => {
                let own = viewer.municipality()?;
                let code = MunicipalityCode::parse(code)
                    .map_err(|e| ApiError::invalid("municipality_code", e))?;
                if &code != own {
                    return Err(ApiError::PermissionDenied);
                }
                Scope::Municipality(code)
            }
            None => {
                return Err(ApiError::invalid(
                    "scope",
                    "must name a contract, a provider or a municipality",
                ));
            }
        };
        let period = DateRange::parse(&r.period_from, &r.period_to, "period_")?;
        let (contracts, referrals) = self.visible_book(&viewer).await?;
        let card = Self::scorecard(scope, period, &contracts, &referrals)?;
        Ok(convert::scorecard_to_pb(&card))
    }

    async fn rank_providers(
        &self,
        identity: Identity,
        r: pb::RankProvidersRequest,
    ) -> Result<pb::RankProvidersResponse, ApiError> {
        // Rankings compare providers: a jobcenter ranks those it contracts, on its own results.
        let scope = identity.jobcenter_municipality()?.clone();
        let mut invalid = Invalid::default();
        let metric = convert::metric_from_pb(r.metric);
        if metric.is_none() {
            invalid.push("metric", "must name a metric");
        }
        let period = DateRange::parse(&r.period_from, &r.period_to, "period_")
            .map_err(|e| invalid.0.extend(e.0))
            .ok();
        let (Some(metric), Some(period)) = (metric, period) else {
            return Err(invalid.into());
        };
        let (contracts, referrals) = self.visible_book(&Viewer::Jobcenter(scope)).await?;
        let mut providers: Vec<ProviderId> = contracts.iter().map(|c| c.provider).collect();
        providers.sort();
        providers.dedup();
        let cards: Vec<Scorecard> = providers
            .into_iter()
            .map(|p| Scorecard::compute(Scope::Provider(p), period, &contracts, &referrals))
            .collect();
        let ranked = rank(metric, &cards, r.min_count)?;
        Ok(pb::RankProvidersResponse {
            ranks: ranked
                .iter()
                .map(|e| pb::ProviderRank {
                    provider_id: convert::scope_to_pb(&e.scope).1,
                    count: e.n,
                    value: e.value,
                    rank: e.rank,
                    unranked_reason: match e.unranked {
                        None => String::new(),
                        Some(Unranked::NoData) => "no_data".into(),
                        Some(Unranked::TooFewCourses { .. }) => "too_few_courses".into(),
                    },
                })
                .collect(),
        })
    }

    async fn get_net_gain(
        &self,
        identity: Identity,
        r: pb::GetNetGainRequest,
    ) -> Result<pb::GetNetGainResponse, ApiError> {
        // The municipality's economics: its own jobcenter only.
        let scope = identity.jobcenter_municipality()?.clone();
        let viewer = Viewer::Jobcenter(scope.clone());
        let record = self.visible_referral(&viewer, &r.referral_id).await?;
        let mut invalid = Invalid::default();
        if r.weekly_benefit_oere <= 0 {
            invalid.push("weekly_benefit_oere", "must be a positive amount in øre");
        }
        let weeks = r.benefit_weeks_saved;
        if !weeks.is_finite() || !(0.0..=520.0).contains(&weeks) {
            invalid.push(
                "benefit_weeks_saved",
                "must be a number of weeks between 0 and 520",
            );
        }
        invalid.into_result(())?;
        let Some((started_on, ended)) = record.referral.completed() else {
            return Err(ApiError::FailedPrecondition {
                rule_id: None,
                reason: "the course has not both started and ended: its price and the end of \
                         benefit are not known yet"
                    .into(),
            });
        };
        let contract = self
            .visible_contract(&viewer, &record.referral.contract.to_string())
            .await?;
        let case = self
            .visible_case(&scope, &record.referral.case.to_string())
            .await?;
        let rule_set = case.rule_set();
        let gain = citizen_net_gain(&CitizenEconomics {
            rule_set,
            employment: case.facts.employment,
            first_sick_day: case.intake.first_sick_day,
            trial: case.facts.trial,
            weekly_benefit: r.weekly_benefit_oere,
            benefit_ended_on: ended.on,
            days_saved: (weeks * 7.0).round() as u32,
            counterfactual_activity: Activity::Passive,
            provider_price: contract.price.course_cost(started_on, ended.on),
            operating_cost_refund_weeks: r.operating_cost_refund_weeks,
        })?;
        Ok(pb::GetNetGainResponse {
            rule_set: rule_set_to_pb(rule_set.id),
            days_saved: gain.days_saved,
            saved_employer_oere: gain.saved.employer,
            saved_municipality_oere: gain.saved.municipality,
            saved_state_oere: gain.saved.state,
            provider_price_oere: gain.provider_price,
            price_refund_oere: gain.price_refund,
            net_gain_oere: gain.net_gain,
            inferred: true,
            note: gain.note,
        })
    }

    async fn roskilde_what_if(
        &self,
        _identity: Identity,
        r: pb::RoskildeWhatIfRequest,
    ) -> Result<pb::RoskildeWhatIfResponse, ApiError> {
        // A model over published figures: no case or contract data, any caller may ask.
        let w = roskilde_net_gain(r.effect_pp, r.price_factor)?;
        Ok(pb::RoskildeWhatIfResponse {
            net_gain_oere: w.net_gain,
            net_gain_low_oere: w.net_gain_range.0,
            net_gain_high_oere: w.net_gain_range.1,
            per_citizen_oere: w.per_citizen,
            provider_cost_oere: w.provider_cost,
            inferred: w.inferred,
            note: w.note,
        })
    }
}

fn rule_set_to_pb(id: kia_domain::rules::RuleSetId) -> i32 {
    use kia_domain::rules::RuleSetId as R;
    use pb::RuleSet as P;
    (match id {
        R::R2008 => P::R2008,
        R::P2008 => P::P2008,
        R::R2009 => P::R2009,
        R::A2010 => P::A2010,
        R::R2012 => P::R2012,
        R::L2014 => P::L2014,
    }) as i32
}

#[tonic::async_trait]
impl ContractingService for ContractingApi {
    async fn create_provider(
        &self,
        request: Request<pb::CreateProviderRequest>,
    ) -> Result<Response<pb::CreateProviderResponse>, Status> {
        handle(request, |id, req| {
            ContractingApi::create_provider(self, id, req)
        })
        .await
    }

    async fn get_provider(
        &self,
        request: Request<pb::GetProviderRequest>,
    ) -> Result<Response<pb::GetProviderResponse>, Status> {
        handle(request, |id, req| {
            ContractingApi::get_provider(self, id, req)
        })
        .await
    }

    async fn list_providers(
        &self,
        request: Request<pb::ListProvidersRequest>,
    ) -> Result<Response<pb::ListProvidersResponse>, Status> {
        handle(request, |id, req| {
            ContractingApi::list_providers(self, id, req)
        })
        .await
    }

    async fn create_contract(
        &self,
        request: Request<pb::CreateContractRequest>,
    ) -> Result<Response<pb::CreateContractResponse>, Status> {
        handle(request, |id, req| {
            ContractingApi::create_contract(self, id, req)
        })
        .await
    }

    async fn get_contract(
        &self,
        request: Request<pb::GetContractRequest>,
    ) -> Result<Response<pb::GetContractResponse>, Status> {
        handle(request, |id, req| {
            ContractingApi::get_contract(self, id, req)
        })
        .await
    }

    async fn list_contracts(
        &self,
        request: Request<pb::ListContractsRequest>,
    ) -> Result<Response<pb::ListContractsResponse>, Status> {
        handle(request, |id, req| {
            ContractingApi::list_contracts(self, id, req)
        })
        .await
    }

    async fn refer_case(
        &self,
        request: Request<pb::ReferCaseRequest>,
    ) -> Result<Response<pb::ReferCaseResponse>, Status> {
        handle(request, |id, req| ContractingApi::refer_case(self, id, req)).await
    }

    async fn record_referral_event(
        &self,
        request: Request<pb::RecordReferralEventRequest>,
    ) -> Result<Response<pb::RecordReferralEventResponse>, Status> {
        handle(request, |id, req| {
            ContractingApi::record_referral_event(self, id, req)
        })
        .await
    }

    async fn get_referral(
        &self,
        request: Request<pb::GetReferralRequest>,
    ) -> Result<Response<pb::GetReferralResponse>, Status> {
        handle(request, |id, req| {
            ContractingApi::get_referral(self, id, req)
        })
        .await
    }

    async fn list_referrals(
        &self,
        request: Request<pb::ListReferralsRequest>,
    ) -> Result<Response<pb::ListReferralsResponse>, Status> {
        handle(request, |id, req| {
            ContractingApi::list_referrals(self, id, req)
        })
        .await
    }

    async fn get_scorecard(
        &self,
        request: Request<pb::GetScorecardRequest>,
    ) -> Result<Response<pb::GetScorecardResponse>, Status> {
        handle(request, |id, req| {
            ContractingApi::get_scorecard(self, id, req)
        })
        .await
    }

    async fn rank_providers(
        &self,
        request: Request<pb::RankProvidersRequest>,
    ) -> Result<Response<pb::RankProvidersResponse>, Status> {
        handle(request, |id, req| {
            ContractingApi::rank_providers(self, id, req)
        })
        .await
    }

    async fn get_net_gain(
        &self,
        request: Request<pb::GetNetGainRequest>,
    ) -> Result<Response<pb::GetNetGainResponse>, Status> {
        handle(request, |id, req| {
            ContractingApi::get_net_gain(self, id, req)
        })
        .await
    }

    async fn roskilde_what_if(
        &self,
        request: Request<pb::RoskildeWhatIfRequest>,
    ) -> Result<Response<pb::RoskildeWhatIfResponse>, Status> {
        handle(request, |id, req| {
            ContractingApi::roskilde_what_if(self, id, req)
        })
        .await
    }
}
