//! ICF qualifiers (WHO ICF 2001, Annex 2; DOMAIN.md §7.2) and coded items.

use super::{Component, IcfCode, IcfError, shown};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The generic qualifier: extent of impairment, difficulty, barrier or facilitator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Extent {
    /// 0 — no problem (0–4 %).
    None,
    /// 1 — mild (5–24 %).
    Mild,
    /// 2 — moderate (25–49 %).
    Moderate,
    /// 3 — severe (50–95 %); "substantial" for a facilitator.
    Severe,
    /// 4 — complete (96–100 %).
    Complete,
    /// 8 — not specified.
    NotSpecified,
    /// 9 — not applicable.
    NotApplicable,
}

impl Extent {
    pub const fn from_digit(d: u32) -> Option<Extent> {
        match d {
            0 => Some(Extent::None),
            1 => Some(Extent::Mild),
            2 => Some(Extent::Moderate),
            3 => Some(Extent::Severe),
            4 => Some(Extent::Complete),
            8 => Some(Extent::NotSpecified),
            9 => Some(Extent::NotApplicable),
            _ => None,
        }
    }

    pub const fn digit(self) -> u8 {
        match self {
            Extent::None => 0,
            Extent::Mild => 1,
            Extent::Moderate => 2,
            Extent::Severe => 3,
            Extent::Complete => 4,
            Extent::NotSpecified => 8,
            Extent::NotApplicable => 9,
        }
    }

    /// The 0–4 value, `None` for 8 (not specified) and 9 (not applicable).
    pub const fn rated(self) -> Option<u8> {
        match self {
            Extent::NotSpecified | Extent::NotApplicable => None,
            other => Some(other.digit()),
        }
    }

    /// "no", "mild", "moderate", "severe", "complete", "not specified", "not applicable".
    pub const fn word(self) -> &'static str {
        match self {
            Extent::None => "no",
            Extent::Mild => "mild",
            Extent::Moderate => "moderate",
            Extent::Severe => "severe",
            Extent::Complete => "complete",
            Extent::NotSpecified => "not specified",
            Extent::NotApplicable => "not applicable",
        }
    }
}

/// Second qualifier of body structures: nature of the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NatureOfChange {
    /// 0
    NoChange,
    /// 1
    TotalAbsence,
    /// 2
    PartialAbsence,
    /// 3
    AdditionalPart,
    /// 4
    AberrantDimensions,
    /// 5
    Discontinuity,
    /// 6
    DeviatingPosition,
    /// 7 — qualitative changes in structure, including accumulation of fluid.
    QualitativeChanges,
    /// 8
    NotSpecified,
    /// 9
    NotApplicable,
}

impl NatureOfChange {
    const ALL: [NatureOfChange; 10] = [
        NatureOfChange::NoChange,
        NatureOfChange::TotalAbsence,
        NatureOfChange::PartialAbsence,
        NatureOfChange::AdditionalPart,
        NatureOfChange::AberrantDimensions,
        NatureOfChange::Discontinuity,
        NatureOfChange::DeviatingPosition,
        NatureOfChange::QualitativeChanges,
        NatureOfChange::NotSpecified,
        NatureOfChange::NotApplicable,
    ];

    pub fn from_digit(d: u32) -> Option<NatureOfChange> {
        usize::try_from(d)
            .ok()
            .and_then(|i| NatureOfChange::ALL.get(i))
            .copied()
    }

    pub fn digit(self) -> u8 {
        let i = NatureOfChange::ALL
            .iter()
            .position(|n| *n == self)
            .unwrap_or(8);
        u8::try_from(i).unwrap_or(8)
    }
}

/// Third qualifier of body structures: location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// 0
    MoreThanOneRegion,
    /// 1
    Right,
    /// 2
    Left,
    /// 3
    BothSides,
    /// 4
    Front,
    /// 5
    Back,
    /// 6
    Proximal,
    /// 7
    Distal,
    /// 8
    NotSpecified,
    /// 9
    NotApplicable,
}

impl Location {
    const ALL: [Location; 10] = [
        Location::MoreThanOneRegion,
        Location::Right,
        Location::Left,
        Location::BothSides,
        Location::Front,
        Location::Back,
        Location::Proximal,
        Location::Distal,
        Location::NotSpecified,
        Location::NotApplicable,
    ];

    pub fn from_digit(d: u32) -> Option<Location> {
        usize::try_from(d)
            .ok()
            .and_then(|i| Location::ALL.get(i))
            .copied()
    }

    pub fn digit(self) -> u8 {
        let i = Location::ALL.iter().position(|l| *l == self).unwrap_or(8);
        u8::try_from(i).unwrap_or(8)
    }
}

/// An environmental factor is either a barrier (`e310.2`) or a facilitator (`e310+2`).
/// "Not applicable" is written with the point only (`e310.9`); `+9` is not defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environmental {
    Barrier(Extent),
    Facilitator(Extent),
}

/// The qualifiers of one coded item, shaped by its component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "component", rename_all = "snake_case")]
pub enum Qualifiers {
    BodyFunctions {
        impairment: Extent,
    },
    BodyStructures {
        impairment: Extent,
        /// Second qualifier; absent when only the extent was given.
        nature: Option<NatureOfChange>,
        /// Third qualifier; only together with `nature`.
        location: Option<Location>,
    },
    ActivitiesAndParticipation {
        /// First qualifier: what the person does in the current environment.
        performance: Extent,
        /// Second qualifier: ability in a standardised environment, without assistance.
        capacity: Option<Extent>,
    },
    EnvironmentalFactors {
        factor: Environmental,
    },
}

const GENERIC: &str = "0-4, 8, 9";

impl Qualifiers {
    /// Qualifiers for `code` from their digits in order, as written after the point
    /// (`facilitator` = written after a `+`).
    pub fn from_digits(code: IcfCode, digits: &[u32], facilitator: bool) -> Result<Self, IcfError> {
        let component = code.component();
        let shown = || code.to_string();
        if facilitator && component != Component::EnvironmentalFactors {
            return Err(IcfError::FacilitatorNotEnvironmental { code: shown() });
        }
        let Some(&first) = digits.first() else {
            return Err(IcfError::QualifierMissing { code: shown() });
        };
        if digits.len() > component.max_qualifiers() {
            return Err(IcfError::TooManyQualifiers {
                code: shown(),
                max: component.max_qualifiers(),
                got: digits.len(),
            });
        }
        let generic = |value: u32, position: &'static str| {
            Extent::from_digit(value).ok_or(IcfError::QualifierInvalid {
                code: shown(),
                value,
                position,
                allowed: GENERIC,
            })
        };
        Ok(match component {
            Component::BodyFunctions => Qualifiers::BodyFunctions {
                impairment: generic(first, "first qualifier: extent of impairment")?,
            },
            Component::BodyStructures => {
                let impairment = generic(first, "first qualifier: extent of impairment")?;
                let nature = match digits.get(1) {
                    None => None,
                    Some(&v) => Some(NatureOfChange::from_digit(v).ok_or(
                        IcfError::QualifierInvalid {
                            code: shown(),
                            value: v,
                            position: "second qualifier: nature of the change",
                            allowed: "0-9",
                        },
                    )?),
                };
                let location = match digits.get(2) {
                    None => None,
                    Some(&v) => {
                        Some(Location::from_digit(v).ok_or(IcfError::QualifierInvalid {
                            code: shown(),
                            value: v,
                            position: "third qualifier: location",
                            allowed: "0-9",
                        })?)
                    }
                };
                Qualifiers::BodyStructures {
                    impairment,
                    nature,
                    location,
                }
            }
            Component::ActivitiesAndParticipation => Qualifiers::ActivitiesAndParticipation {
                performance: generic(first, "first qualifier: performance")?,
                capacity: match digits.get(1) {
                    None => None,
                    Some(&v) => Some(generic(v, "second qualifier: capacity")?),
                },
            },
            Component::EnvironmentalFactors => {
                if facilitator {
                    let extent = generic(first, "qualifier: extent of facilitator")?;
                    if extent == Extent::NotApplicable {
                        return Err(IcfError::FacilitatorNotApplicable { code: shown() });
                    }
                    Qualifiers::EnvironmentalFactors {
                        factor: Environmental::Facilitator(extent),
                    }
                } else {
                    Qualifiers::EnvironmentalFactors {
                        factor: Environmental::Barrier(generic(
                            first,
                            "qualifier: extent of barrier",
                        )?),
                    }
                }
            }
        })
    }

    pub fn component(&self) -> Component {
        match self {
            Qualifiers::BodyFunctions { .. } => Component::BodyFunctions,
            Qualifiers::BodyStructures { .. } => Component::BodyStructures,
            Qualifiers::ActivitiesAndParticipation { .. } => Component::ActivitiesAndParticipation,
            Qualifiers::EnvironmentalFactors { .. } => Component::EnvironmentalFactors,
        }
    }

    /// The first qualifier: extent of impairment, performance, or extent of barrier/facilitator.
    pub fn primary(&self) -> Extent {
        match *self {
            Qualifiers::BodyFunctions { impairment }
            | Qualifiers::BodyStructures { impairment, .. } => impairment,
            Qualifiers::ActivitiesAndParticipation { performance, .. } => performance,
            Qualifiers::EnvironmentalFactors {
                factor: Environmental::Barrier(e) | Environmental::Facilitator(e),
            } => e,
        }
    }

    /// The first qualifier on one "problem" scale for comparisons over time: 0–4 for
    /// impairments, difficulties (performance) and barriers, −4–0 for facilitators (a stronger
    /// facilitator is less of a problem). `None` for 8 and 9, which cannot be compared.
    pub fn burden(&self) -> Option<i8> {
        let v = i8::try_from(self.primary().rated()?).ok()?;
        Some(match self {
            Qualifiers::EnvironmentalFactors {
                factor: Environmental::Facilitator(_),
            } => -v,
            _ => v,
        })
    }

    /// The written form after the code: `.2`, `.273`, `.23`, `+2`.
    pub fn written(&self) -> String {
        let mut s = String::with_capacity(4);
        let mut push = |d: u8| s.push(char::from(b'0' + d));
        let sep = match self {
            Qualifiers::EnvironmentalFactors {
                factor: Environmental::Facilitator(_),
            } => '+',
            _ => '.',
        };
        match *self {
            Qualifiers::BodyFunctions { impairment } => push(impairment.digit()),
            Qualifiers::BodyStructures {
                impairment,
                nature,
                location,
            } => {
                push(impairment.digit());
                if let Some(n) = nature {
                    push(n.digit());
                }
                if let Some(l) = location {
                    push(l.digit());
                }
            }
            Qualifiers::ActivitiesAndParticipation {
                performance,
                capacity,
            } => {
                push(performance.digit());
                if let Some(c) = capacity {
                    push(c.digit());
                }
            }
            Qualifiers::EnvironmentalFactors {
                factor: Environmental::Barrier(e) | Environmental::Facilitator(e),
            } => push(e.digit()),
        }
        format!("{sep}{s}")
    }
}

/// One coded ICF item: a known code with qualifiers that fit its component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IcfItem {
    pub code: IcfCode,
    pub qualifiers: Qualifiers,
}

impl IcfItem {
    /// The written form: `b28013.2`, `s12000.273`, `d430.23`, `e310.2` (barrier),
    /// `e310+2` (facilitator). The code must be in the shipped data set and at least one
    /// qualifier is required (WHO: a code without a qualifier has no meaning).
    pub fn parse(written: &str) -> Result<IcfItem, IcfError> {
        let raw = written.trim();
        let Some(at) = raw.find(['.', '+']) else {
            return Err(match IcfCode::parse(raw) {
                Ok(code) => IcfError::QualifierMissing {
                    code: code.to_string(),
                },
                Err(e) => e,
            });
        };
        let (code_part, rest) = raw.split_at(at);
        let code = IcfCode::parse(code_part)?;
        let facilitator = rest.starts_with('+');
        let digits_part = &rest[1..];
        if digits_part.is_empty() {
            return Err(IcfError::QualifierMissing {
                code: code.to_string(),
            });
        }
        if !digits_part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IcfError::QualifierMalformed {
                code: shown(raw),
                reason: "qualifiers are single digits written together after one '.' or '+'",
            });
        }
        let digits: Vec<u32> = digits_part.bytes().map(|b| u32::from(b - b'0')).collect();
        Ok(IcfItem {
            code,
            qualifiers: Qualifiers::from_digits(code, &digits, facilitator)?,
        })
    }

    /// Structured input: the component as stated by the caller (must match the code's prefix),
    /// the code, the qualifiers in order, and for environmental factors whether the factor is
    /// a facilitator.
    pub fn from_structured(
        component: Component,
        code: &str,
        qualifiers: &[u32],
        facilitator: bool,
    ) -> Result<IcfItem, IcfError> {
        let code = IcfCode::parse(code)?;
        if code.component() != component {
            return Err(IcfError::ComponentMismatch {
                code: code.to_string(),
                component: component.as_str(),
            });
        }
        Ok(IcfItem {
            code,
            qualifiers: Qualifiers::from_digits(code, qualifiers, facilitator)?,
        })
    }

    pub fn component(&self) -> Component {
        self.code.component()
    }
}

impl fmt::Display for IcfItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.code, self.qualifiers.written())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn item(s: &str) -> IcfItem {
        IcfItem::parse(s).unwrap()
    }

    fn err(s: &str) -> String {
        IcfItem::parse(s).unwrap_err().to_string()
    }

    #[test]
    fn written_forms_round_trip() {
        for s in [
            "b28013.2",
            "b280.0",
            "b130.8",
            "b152.9",
            "s12000.273",
            "s760.2",
            "s76002.17",
            "d430.23",
            "d430.2",
            "d415.89",
            "e310+2",
            "e310.2",
            "e310.9",
            "e330+8",
            "e580+0",
        ] {
            assert_eq!(item(s).to_string(), s);
        }
    }

    #[test]
    fn body_function_generic_qualifier() {
        assert_eq!(
            item("b28013.2").qualifiers,
            Qualifiers::BodyFunctions {
                impairment: Extent::Moderate
            }
        );
        for q in [0, 1, 2, 3, 4, 8, 9] {
            assert!(IcfItem::parse(&format!("b280.{q}")).is_ok(), "{q}");
        }
        for q in [5, 6, 7] {
            assert_eq!(
                err(&format!("b280.{q}")),
                format!(
                    "qualifier {q} is not one of 0-4, 8, 9 (b280, first qualifier: extent of \
                     impairment)"
                )
            );
        }
        assert_eq!(
            err("b280.23"),
            "ICF code b280 takes at most 1 qualifier(s), got 2"
        );
    }

    #[test]
    fn body_structure_three_qualifiers() {
        assert_eq!(
            item("s12000.273").qualifiers,
            Qualifiers::BodyStructures {
                impairment: Extent::Moderate,
                nature: Some(NatureOfChange::QualitativeChanges),
                location: Some(Location::BothSides),
            }
        );
        for nature in 0..=9 {
            for location in 0..=9 {
                assert!(IcfItem::parse(&format!("s760.2{nature}{location}")).is_ok());
            }
        }
        assert!(err("s760.5").contains("qualifier 5 is not one of 0-4, 8, 9"));
        assert_eq!(
            err("s760.2734"),
            "ICF code s760 takes at most 3 qualifier(s), got 4"
        );
        let e = IcfItem::from_structured(Component::BodyStructures, "s760", &[2, 10], false)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "qualifier 10 is not one of 0-9 (s760, second qualifier: nature of the change)"
        );
        let e = IcfItem::from_structured(Component::BodyStructures, "s760", &[2, 7, 12], false)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "qualifier 12 is not one of 0-9 (s760, third qualifier: location)"
        );
    }

    #[test]
    fn activities_performance_and_capacity() {
        assert_eq!(
            item("d430.23").qualifiers,
            Qualifiers::ActivitiesAndParticipation {
                performance: Extent::Moderate,
                capacity: Some(Extent::Severe),
            }
        );
        assert_eq!(
            item("d430.2").qualifiers,
            Qualifiers::ActivitiesAndParticipation {
                performance: Extent::Moderate,
                capacity: None,
            }
        );
        assert_eq!(
            err("d430.25"),
            "qualifier 5 is not one of 0-4, 8, 9 (d430, second qualifier: capacity)"
        );
        assert_eq!(
            err("d430.62"),
            "qualifier 6 is not one of 0-4, 8, 9 (d430, first qualifier: performance)"
        );
        assert_eq!(
            err("d430.231"),
            "ICF code d430 takes at most 2 qualifier(s), got 3"
        );
    }

    #[test]
    fn environmental_barrier_and_facilitator() {
        assert_eq!(
            item("e310+2").qualifiers,
            Qualifiers::EnvironmentalFactors {
                factor: Environmental::Facilitator(Extent::Moderate)
            }
        );
        assert_eq!(
            item("e310.2").qualifiers,
            Qualifiers::EnvironmentalFactors {
                factor: Environmental::Barrier(Extent::Moderate)
            }
        );
        assert_eq!(
            err("e310+9"),
            "facilitator qualifier 9 is not defined for e310; write e310.9 for not applicable"
        );
        assert_eq!(
            err("e310+5"),
            "qualifier 5 is not one of 0-4, 8, 9 (e310, qualifier: extent of facilitator)"
        );
        assert_eq!(
            err("e310.7"),
            "qualifier 7 is not one of 0-4, 8, 9 (e310, qualifier: extent of barrier)"
        );
        assert_eq!(
            err("e310+23"),
            "ICF code e310 takes at most 1 qualifier(s), got 2"
        );
        for not_e in ["b280+2", "s760+2", "d430+2"] {
            assert!(
                err(not_e).contains("'+' (facilitator) is only used with environmental factors"),
                "{not_e}"
            );
        }
    }

    #[test]
    fn qualifier_presence_and_shape() {
        assert_eq!(
            err("b280"),
            "ICF code b280 needs at least one qualifier (use 8 for not specified, 9 for not \
             applicable)"
        );
        assert!(err("b280.").contains("needs at least one qualifier"));
        assert!(err("e310+").contains("needs at least one qualifier"));
        assert!(err("d430.2x").contains("qualifier part of d430.2x is malformed"));
        assert!(err("d430.2.3").contains("is malformed"));
        assert!(err("d430+2+3").contains("is malformed"));
    }

    #[test]
    fn unknown_and_ungrammatical_codes() {
        assert_eq!(err("d999.2"), "unknown ICF code d999");
        assert_eq!(err("b28019.2"), "unknown ICF code b28019");
        assert!(err("b9.1").contains("chapter 9"));
        assert!(err("x123.1").contains("must start with b, s, d or e"));
        assert_eq!(err(""), "ICF code is empty");
    }

    #[test]
    fn structured_input() {
        let i =
            IcfItem::from_structured(Component::EnvironmentalFactors, "e330", &[3], true).unwrap();
        assert_eq!(i.to_string(), "e330+3");
        let i = IcfItem::from_structured(
            Component::ActivitiesAndParticipation,
            "d430",
            &[2, 3],
            false,
        )
        .unwrap();
        assert_eq!(i, item("d430.23"));
        let e =
            IcfItem::from_structured(Component::BodyFunctions, "d430", &[2], false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "component body_functions does not match ICF code d430"
        );
        assert_eq!(e.at_part("findings[0]").field, "findings[0].component");
        let e = IcfItem::from_structured(Component::BodyFunctions, "b280", &[], false).unwrap_err();
        assert_eq!(e.at_part("findings[0]").field, "findings[0].qualifiers");
        let e =
            IcfItem::from_structured(Component::BodyFunctions, "b199", &[1], false).unwrap_err();
        let v = e.at_part("findings[2]");
        assert_eq!(
            (v.field.as_str(), v.description.as_str()),
            ("findings[2].code", "unknown ICF code b199")
        );
        let e =
            IcfItem::from_structured(Component::BodyFunctions, "b280", &[300], false).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("qualifier 300 is not one of 0-4, 8, 9")
        );
    }

    #[test]
    fn burden_scale_for_comparisons() {
        assert_eq!(item("b28013.3").qualifiers.burden(), Some(3));
        assert_eq!(item("d430.12").qualifiers.burden(), Some(1));
        assert_eq!(item("e310.2").qualifiers.burden(), Some(2));
        assert_eq!(item("e310+2").qualifiers.burden(), Some(-2));
        assert_eq!(item("b280.8").qualifiers.burden(), None);
        assert_eq!(item("b280.9").qualifiers.burden(), None);
    }
}
