//! The alert rules the engine evaluates, with their severity, default lead time and source.

use serde::{Deserialize, Serialize};

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A deadline is coming (within its lead time), or advice.
    Warning,
    /// A deadline passed or a rule is breached.
    High,
    /// Week 52: the state refund ends and three in four do not return to work.
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Severity::Warning, Severity::High, Severity::Critical]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

macro_rules! alert_rules {
    ($( $(#[$doc:meta])* $variant:ident = $id:literal, $severity:ident, lead $lead:literal,
        $source:literal; )*) => {
        /// An alert rule of DOMAIN.md §2.6 that kia evaluates.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum AlertRule {
            $( $(#[$doc])* #[serde(rename = $id)] $variant, )*
        }

        impl AlertRule {
            pub const ALL: &'static [AlertRule] = &[$(AlertRule::$variant),*];

            /// `AL-nn`.
            pub const fn as_str(self) -> &'static str {
                match self { $(AlertRule::$variant => $id,)* }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|r| r.as_str() == raw)
            }

            /// Severity once the condition holds (a deadline rule warns before it).
            pub const fn severity(self) -> Severity {
                match self { $(AlertRule::$variant => Severity::$severity,)* }
            }

            /// Days before a deadline the warning starts (0: none, or no deadline).
            pub const fn default_lead_days(self) -> u32 {
                match self { $(AlertRule::$variant => $lead,)* }
            }

            /// The seed rule the alert rests on (DOMAIN.md §2.6), with its seed file.
            pub const fn source(self) -> &'static str {
                match self { $(AlertRule::$variant => $source,)* }
            }
        }
    };
}

alert_rules! {
    /// First follow-up not held by D55 (T-11).
    Al04 = "AL-04", High, lead 7,
        "T-11: first follow-up by the end of sick week 8 ([003 F1 ch3, P19, P22] 003_532c043554107ee2.txt; [004 §3.2] 004_29a2444e953dfa53.txt)";
    /// No follow-up plan at the 2nd follow-up (T-15).
    Al05 = "AL-05", High, lead 7,
        "T-15: follow-up plan at the latest at the 2nd follow-up ([003 F1 ch3] 003_532c043554107ee2.txt)";
    /// Next follow-up overdue per the category cadence of the rule set (T-13, T-13b).
    Al06 = "AL-06", High, lead 7,
        "T-13/T-13b: follow-up cadence per category ([003 F1 ch3, P22] 003_532c043554107ee2.txt)";
    /// 360-degree assessment not concluded by D55 (T-21).
    Al07 = "AL-07", High, lead 14,
        "T-21: 360-degree assessment within 8 weeks ([004 §5, §6.1] 004_29a2444e953dfa53.txt)";
    /// Plan slippage: a goal's projected date moved past it (KIA division of labour).
    Al09 = "AL-09", High, lead 0,
        "KIA plan follow-up: intervene when the plan slips because of waiting times ([002] 002_59c7ae5e83dc120d.txt)";
    /// Hospital examination or treatment not available within one month (T-25).
    Al10 = "AL-10", High, lead 0,
        "T-25: extended free hospital choice after one month ([003 ch5] 003_532c043554107ee2.txt)";
    /// Waiting with no activity (Ringsted).
    Al11 = "AL-11", Warning, lead 0,
        "Ringsted: keep the person active while waiting ([003 ch3] 003_532c043554107ee2.txt)";
    /// Active offer in the plan while the least-sick rule forbids new offers ([001 I2]).
    Al13 = "AL-13", High, lead 0,
        "A2010 I2: least-sick rule ([001 I2] 001_fb3c8f7d7777c6f3.txt)";
    /// Active offer while gradual return is possible, no combination reason ([001 I6]).
    Al14 = "AL-14", High, lead 0,
        "A2010 I6: gradual return before active offers ([001 I6] 001_fb3c8f7d7777c6f3.txt)";
    /// Partial return without a planned date for full-time return (Ringsted).
    Al18 = "AL-18", Warning, lead 0,
        "Ringsted: a plan for the return to full time ([003 ch3] 003_532c043554107ee2.txt)";
    /// The case crossed week 13 / 26 / 52: risk escalation on the exclusion curve.
    Al19 = "AL-19", High, lead 0,
        "exclusion curve 43.3 / 59.5 / 75.2 % ([004 fig.7] 004_29a2444e953dfa53.txt); refund ends at week 52 ([003 P21] 003_532c043554107ee2.txt)";
    /// Scheduled weekly contact missed (trial after week 8; T-18c, T-22).
    Al20 = "AL-20", High, lead 1,
        "T-18c: weekly contact talks ([000] 000_5a4e8a35e68842e8.txt; Svendborg [004 §6.3] 004_29a2444e953dfa53.txt)";
    /// Referral → start (or placement) over the contract's target (T-23, T-23b).
    Al21 = "AL-21", High, lead 0,
        "T-23/T-23b: referral to start 4.9 days, to placement 19 days ([004 §7] 004_29a2444e953dfa53.txt)";
    /// New case not screened by the screening group (Aabenraa).
    Al22 = "AL-22", Warning, lead 0,
        "Aabenraa: the screening group screens every new case ([004 §6.1] 004_29a2444e953dfa53.txt)";
}
