//! `kia clock`: the daemon's clock, which deadlines and alerts are evaluated against, and moving
//! it on a daemon run with `--settable-clock`.

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use kia_proto::v1 as pb;

use super::output::{timestamp, when};
use super::{ConnectArgs, Connection, Failure};

#[derive(Debug, Args)]
pub struct ClockArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(subcommand)]
    pub command: ClockCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// The daemon's clock and whether it can be moved.
    ///
    /// Example: `kia clock show`
    Show,
    /// Move the daemon's clock (it runs on from there) and re-evaluate every alert. Needs a
    /// daemon run with `--settable-clock` (else exit 5) and an `operations` identity (else exit
    /// 4).
    ///
    /// Example: `kia clock set 2026-12-01` (noon UTC that day), `kia clock set
    /// 2026-12-01T08:30:00Z`
    Set {
        /// The new reading: an RFC 3339 instant, or a date (noon UTC, the same day in Denmark).
        #[arg(value_parser = parse_instant)]
        now: DateTime<Utc>,
    },
}

/// An RFC 3339 instant, or `YYYY-MM-DD` as noon UTC of that day.
pub fn parse_instant(raw: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("{raw:?} is neither YYYY-MM-DD nor an RFC 3339 instant"))
}

pub async fn run(s: Connection, command: ClockCommand) -> Result<(), Failure> {
    let mut clock = s.clock();
    match command {
        ClockCommand::Show => {
            let r = clock.get_clock(pb::GetClockRequest {}).await?.into_inner();
            s.out.message(&r, "kia.v1.GetClockResponse", || {
                s.out.fields(&[
                    ("now", when(r.now.as_ref())),
                    ("settable", r.settable.to_string()),
                ]);
            });
        }
        ClockCommand::Set { now } => {
            let r = clock
                .set_clock(pb::SetClockRequest {
                    now: Some(timestamp(now)),
                })
                .await?
                .into_inner();
            s.out.message(&r, "kia.v1.SetClockResponse", || {
                s.out.fields(&[("now", when(r.now.as_ref()))]);
            });
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_date_is_noon_utc_and_an_instant_keeps_its_offset() {
        assert_eq!(
            parse_instant("2026-12-01").unwrap().to_rfc3339(),
            "2026-12-01T12:00:00+00:00"
        );
        assert_eq!(
            parse_instant("2026-12-01T09:30:00+01:00")
                .unwrap()
                .to_rfc3339(),
            "2026-12-01T08:30:00+00:00"
        );
        assert!(parse_instant("1/12/2026").is_err());
    }
}
