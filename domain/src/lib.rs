//! kia-domain: the rules of a Danish sickness-benefit case, pure.
//!
//! No I/O, no async, no clock reads: everything is evaluated as of an instant passed in, so
//! a week-8 deadline is testable without waiting eight weeks.

pub mod alerts;
pub mod case;
pub mod contracting;
pub mod error;
pub mod facts;
pub mod followup;
pub mod fuzzing;
pub mod icf;
pub mod offers;
pub mod plan;
pub mod reimbursement;
pub mod rules;
pub mod screening;
pub mod timeline;
pub mod visitation;
pub mod weeks;
