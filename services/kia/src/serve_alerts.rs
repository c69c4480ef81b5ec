//! The alert engine's and the clock's part of `kia serve`: their flags and routes.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use kia_domain::alerts::{AlertParams, AlertRule};
use kia_runtime::Context;
use tonic::service::Routes;

#[derive(Debug, Args)]
pub struct AlertArgs {
    /// Let operations move the daemon's clock with kia.v1.ClockService/SetClock (tests and
    /// demonstrations only: deadlines and alerts follow the clock).
    #[arg(long, env = "KIA_SETTABLE_CLOCK")]
    settable_clock: bool,

    /// Seconds between alert sweeps (deadlines that pass with nothing recorded).
    #[arg(long, env = "KIA_ALERT_SWEEP_INTERVAL", default_value_t = 60)]
    alert_sweep_interval: u64,

    /// Warning lead times in days before a deadline, per rule, comma-separated, e.g.
    /// `AL-04=7,AL-07=14` (0 turns the warning off). Rules not named keep their default.
    #[arg(long, env = "KIA_ALERT_LEAD_DAYS", value_delimiter = ',', value_parser = lead_days)]
    alert_lead_days: Vec<(AlertRule, u32)>,
}

fn lead_days(raw: &str) -> Result<(AlertRule, u32), String> {
    let (rule, days) = raw
        .split_once('=')
        .ok_or_else(|| format!("{raw:?}: expected RULE=DAYS, e.g. AL-04=7"))?;
    let rule = AlertRule::parse(rule.trim())
        .ok_or_else(|| format!("{rule:?} is not an alert rule kia evaluates"))?;
    let days = days
        .trim()
        .parse()
        .map_err(|_| format!("{days:?} is not a number of days"))?;
    Ok((rule, days))
}

impl AlertArgs {
    /// The engine of this process, started.
    pub fn engine(&self, ctx: &Context) -> anyhow::Result<Arc<kia_alerts::Engine>> {
        if self.alert_sweep_interval == 0 {
            anyhow::bail!("--alert-sweep-interval must be at least 1 second");
        }
        let mut params = AlertParams::default();
        params
            .lead_days
            .extend(self.alert_lead_days.iter().copied());
        let engine = kia_alerts::Engine::new(
            ctx.clone(),
            kia_alerts::EngineOptions {
                sweep_interval: Duration::from_secs(self.alert_sweep_interval),
                params,
                settable_clock: self.settable_clock,
                holder: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4()),
            },
        );
        engine.spawn();
        if self.settable_clock {
            tracing::warn!("the clock is settable (--settable-clock): do not run so in production");
        }
        Ok(engine)
    }

    /// AlertService when the engine runs here; ClockService always.
    pub fn add_routes(
        &self,
        routes: Routes,
        ctx: &Context,
        engine: Option<Arc<kia_alerts::Engine>>,
    ) -> Routes {
        let routes = match &engine {
            Some(_) => routes.add_service(kia_alerts::AlertApi::server(ctx.clone())),
            None => routes,
        };
        routes.add_service(kia_alerts::ClockApi::server(
            ctx.clone(),
            self.settable_clock,
            engine,
        ))
    }
}
