//! ICF codes: the WHO International Classification of Functioning, Disability and Health (2001),
//! as used by the holistic (360-degree) assessment (DOMAIN.md §7).
//!
//! The seeds ask for the ICF model as the leading principle of the combined health and
//! employment effort ([004 §4.2], 004_29a2444e953dfa53.txt); the code grammar, the qualifier
//! scales and the core sets below are GENERAL KNOWLEDGE (DOMAIN.md §7.2), not seed content.
//!
//! * [`IcfCode`] — a category code: component prefix `b` (body functions), `s` (body
//!   structures), `d` (activities and participation) or `e` (environmental factors), a chapter
//!   digit (b1–b8, s1–s8, d1–d9, e1–e5), then 2 digits for the second level, 1 for the third and
//!   1 for the fourth: `b2` → `b280` → `b2801` → `b28013`. Personal factors have no codes.
//! * [`Qualifiers`] — what follows the point: the generic scale 0–4, 8 (not specified),
//!   9 (not applicable); body structures up to three qualifiers (extent, nature of the change,
//!   location); activities and participation performance and capacity; environmental factors
//!   a barrier (`e310.2`) or a facilitator (`e310+2`).
//! * [`IcfItem`] — a code with its qualifiers, parsed from the written form (`b28013.2`,
//!   `s12000.273`, `d430.23`, `e310+2`) or from structured input.
//! * [`Classification`] — the shipped data set (`domain/data/`): a code must be grammatical
//!   **and** listed there, otherwise it is rejected as unknown.

mod classification;
mod code;
mod qualifier;

pub use classification::{Category, Classification, CoreSet, classification};
pub use code::{Component, IcfCode, Level};
pub use qualifier::{Environmental, Extent, IcfItem, Location, NatureOfChange, Qualifiers};

use crate::error::FieldViolation;
use std::fmt;

/// Which part of a structured ICF input an error is about (the written form is one field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorPart {
    Component,
    Code,
    Qualifiers,
}

impl ErrorPart {
    /// Sub-field name for structured input: `component`, `code` or `qualifiers`.
    pub const fn field(self) -> &'static str {
        match self {
            ErrorPart::Component => "component",
            ErrorPart::Code => "code",
            ErrorPart::Qualifiers => "qualifiers",
        }
    }
}

/// What is wrong with an ICF code or its qualifiers. Every message names the code as given
/// (input that does not look like a code is not echoed) and says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IcfError {
    #[error("ICF code is empty")]
    Empty,
    #[error(
        "ICF code {code} must start with b, s, d or e (personal factors have no ICF codes; \
         record them as free text)"
    )]
    UnknownComponent { code: String },
    #[error("ICF code {code} is malformed: {reason}")]
    Malformed { code: String, reason: &'static str },
    #[error("ICF code {code} has chapter {chapter}; {component} chapters are {range}")]
    ChapterOutOfRange {
        code: String,
        chapter: u8,
        component: &'static str,
        range: &'static str,
    },
    #[error("unknown ICF code {code}")]
    Unknown { code: String },
    #[error("component {component} does not match ICF code {code}")]
    ComponentMismatch {
        code: String,
        component: &'static str,
    },
    #[error(
        "ICF code {code} needs at least one qualifier (use 8 for not specified, 9 for not \
         applicable)"
    )]
    QualifierMissing { code: String },
    #[error("ICF code {code} takes at most {max} qualifier(s), got {got}")]
    TooManyQualifiers {
        code: String,
        max: usize,
        got: usize,
    },
    #[error("qualifier {value} is not one of {allowed} ({code}, {position})")]
    QualifierInvalid {
        code: String,
        value: u32,
        position: &'static str,
        allowed: &'static str,
    },
    #[error("qualifier part of {code} is malformed: {reason}")]
    QualifierMalformed { code: String, reason: &'static str },
    #[error("'+' (facilitator) is only used with environmental factors, not with {code}")]
    FacilitatorNotEnvironmental { code: String },
    #[error("facilitator qualifier 9 is not defined for {code}; write {code}.9 for not applicable")]
    FacilitatorNotApplicable { code: String },
}

impl IcfError {
    /// The part of a structured input the error is about.
    pub fn part(&self) -> ErrorPart {
        match self {
            IcfError::ComponentMismatch { .. } => ErrorPart::Component,
            IcfError::Empty
            | IcfError::UnknownComponent { .. }
            | IcfError::Malformed { .. }
            | IcfError::ChapterOutOfRange { .. }
            | IcfError::Unknown { .. } => ErrorPart::Code,
            IcfError::QualifierMissing { .. }
            | IcfError::TooManyQualifiers { .. }
            | IcfError::QualifierInvalid { .. }
            | IcfError::QualifierMalformed { .. }
            | IcfError::FacilitatorNotEnvironmental { .. }
            | IcfError::FacilitatorNotApplicable { .. } => ErrorPart::Qualifiers,
        }
    }

    /// This error as a violation of `field` (the written form's field as a whole).
    pub fn at(&self, field: impl Into<String>) -> FieldViolation {
        FieldViolation::new(field, self.to_string())
    }

    /// This error as a violation of `{prefix}.component|code|qualifiers` (structured input).
    pub fn at_part(&self, prefix: &str) -> FieldViolation {
        FieldViolation::new(
            format!("{prefix}.{}", self.part().field()),
            self.to_string(),
        )
    }
}

/// The code as the caller wrote it, for an error message. Input that does not look like an
/// ICF code (too long, or characters other than letters, digits, `.` and `+`) is not echoed:
/// a name or a diagnosis typed into the wrong field must not end up in a log.
pub(crate) fn shown(raw: &str) -> String {
    const MAX: usize = 12;
    let raw = raw.trim();
    let code_like = raw
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '+');
    if code_like && raw.len() <= MAX {
        raw.to_owned()
    } else {
        format!("(input of {} characters, not shown)", raw.chars().count())
    }
}

/// A one-line name for a component, used in messages.
impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
