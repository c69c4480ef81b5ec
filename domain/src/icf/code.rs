//! The ICF code grammar (WHO ICF 2001, Annex 2 "Guidelines for coding ICF"; DOMAIN.md §7.2).

use super::{IcfError, classification, shown};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The four coded ICF components. Personal factors are part of the model but have no codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    /// `b` — body functions (kropsfunktioner).
    BodyFunctions,
    /// `s` — body structures (kropsstrukturer).
    BodyStructures,
    /// `d` — activities and participation (aktiviteter og deltagelse).
    ActivitiesAndParticipation,
    /// `e` — environmental factors (omgivelsesfaktorer).
    EnvironmentalFactors,
}

impl Component {
    pub const ALL: [Component; 4] = [
        Component::BodyFunctions,
        Component::BodyStructures,
        Component::ActivitiesAndParticipation,
        Component::EnvironmentalFactors,
    ];

    /// The code prefix: `b`, `s`, `d` or `e`.
    pub const fn prefix(self) -> char {
        match self {
            Component::BodyFunctions => 'b',
            Component::BodyStructures => 's',
            Component::ActivitiesAndParticipation => 'd',
            Component::EnvironmentalFactors => 'e',
        }
    }

    pub const fn from_prefix(c: char) -> Option<Component> {
        match c {
            'b' => Some(Component::BodyFunctions),
            's' => Some(Component::BodyStructures),
            'd' => Some(Component::ActivitiesAndParticipation),
            'e' => Some(Component::EnvironmentalFactors),
            _ => None,
        }
    }

    /// Chapter digits of the component: b1–b8, s1–s8, d1–d9, e1–e5.
    pub const fn chapters(self) -> (u8, u8) {
        match self {
            Component::BodyFunctions | Component::BodyStructures => (1, 8),
            Component::ActivitiesAndParticipation => (1, 9),
            Component::EnvironmentalFactors => (1, 5),
        }
    }

    const fn chapter_range(self) -> &'static str {
        match self {
            Component::BodyFunctions => "b1-b8",
            Component::BodyStructures => "s1-s8",
            Component::ActivitiesAndParticipation => "d1-d9",
            Component::EnvironmentalFactors => "e1-e5",
        }
    }

    /// English name, e.g. "activities and participation".
    pub const fn name(self) -> &'static str {
        match self {
            Component::BodyFunctions => "body functions",
            Component::BodyStructures => "body structures",
            Component::ActivitiesAndParticipation => "activities and participation",
            Component::EnvironmentalFactors => "environmental factors",
        }
    }

    /// Stable identifier (`body_functions`, …), as serialized.
    pub const fn as_str(self) -> &'static str {
        match self {
            Component::BodyFunctions => "body_functions",
            Component::BodyStructures => "body_structures",
            Component::ActivitiesAndParticipation => "activities_and_participation",
            Component::EnvironmentalFactors => "environmental_factors",
        }
    }

    /// At most this many qualifiers after the point: b 1; s 3 (extent, nature of change,
    /// location); d 2 (performance, capacity); e 1 (barrier `.` or facilitator `+`).
    pub const fn max_qualifiers(self) -> usize {
        match self {
            Component::BodyFunctions | Component::EnvironmentalFactors => 1,
            Component::BodyStructures => 3,
            Component::ActivitiesAndParticipation => 2,
        }
    }
}

/// Depth of a code in the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Prefix + chapter digit: `b2`.
    Chapter,
    /// + 2 digits: `b280`.
    Second,
    /// + 1 digit: `b2801`.
    Third,
    /// + 1 digit: `b28013`.
    Fourth,
}

impl Level {
    const fn len(self) -> usize {
        match self {
            Level::Chapter => 2,
            Level::Second => 4,
            Level::Third => 5,
            Level::Fourth => 6,
        }
    }
}

/// A grammatical ICF category code such as `b28013` (lower case, no qualifiers).
///
/// [`IcfCode::parse`] also requires the code to be in the shipped classification;
/// [`IcfCode::parse_grammar`] checks the grammar only. Ordered as strings.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IcfCode {
    bytes: [u8; 6],
    len: u8,
}

impl IcfCode {
    /// A grammatical code that is in the shipped data set; otherwise "unknown ICF code …".
    pub fn parse(raw: &str) -> Result<IcfCode, IcfError> {
        let code = IcfCode::parse_grammar(raw)?;
        if classification().contains(code) {
            Ok(code)
        } else {
            Err(IcfError::Unknown {
                code: code.to_string(),
            })
        }
    }

    /// Grammar only: component prefix, chapter digit in the component's range, and 1, 3, 4
    /// or 5 digits in all. Surrounding whitespace is ignored and the prefix may be upper case.
    pub fn parse_grammar(raw: &str) -> Result<IcfCode, IcfError> {
        let trimmed = raw.trim();
        let mut chars = trimmed.chars();
        let Some(first) = chars.next() else {
            return Err(IcfError::Empty);
        };
        let Some(component) = Component::from_prefix(first.to_ascii_lowercase()) else {
            return Err(IcfError::UnknownComponent { code: shown(raw) });
        };
        let digits = chars.as_str();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IcfError::Malformed {
                code: shown(raw),
                reason: "after the component letter only digits may follow (qualifiers go after \
                         a '.' or '+')",
            });
        }
        if !matches!(digits.len(), 1 | 3 | 4 | 5) {
            return Err(IcfError::Malformed {
                code: shown(raw),
                reason: "a code is the component letter and 1 (chapter), 3 (second level), \
                         4 (third level) or 5 (fourth level) digits",
            });
        }
        let chapter = digits.as_bytes()[0] - b'0';
        let (lo, hi) = component.chapters();
        if !(lo..=hi).contains(&chapter) {
            return Err(IcfError::ChapterOutOfRange {
                code: shown(raw),
                chapter,
                component: component.name(),
                range: component.chapter_range(),
            });
        }
        let mut bytes = [0u8; 6];
        bytes[0] = component.prefix() as u8;
        bytes[1..=digits.len()].copy_from_slice(digits.as_bytes());
        Ok(IcfCode {
            bytes,
            len: u8::try_from(digits.len() + 1).unwrap_or(6),
        })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    pub fn component(self) -> Component {
        match self.bytes[0] {
            b'b' => Component::BodyFunctions,
            b's' => Component::BodyStructures,
            b'd' => Component::ActivitiesAndParticipation,
            _ => Component::EnvironmentalFactors,
        }
    }

    /// The chapter digit (1 for `b1`, 2 for `b28013`).
    pub fn chapter(self) -> u8 {
        self.bytes[1] - b'0'
    }

    pub fn level(self) -> Level {
        match self.len {
            2 => Level::Chapter,
            4 => Level::Second,
            5 => Level::Third,
            _ => Level::Fourth,
        }
    }

    /// The code one level up (`b28013` → `b2801` → `b280` → `b2`); `None` for a chapter.
    pub fn parent(self) -> Option<IcfCode> {
        let up = match self.level() {
            Level::Chapter => return None,
            Level::Second => Level::Chapter,
            Level::Third => Level::Second,
            Level::Fourth => Level::Third,
        };
        Some(self.truncate(up))
    }

    /// The ancestor (or the code itself) at `level`; `None` if the code is above that level.
    pub fn at_level(self, level: Level) -> Option<IcfCode> {
        (level <= self.level()).then(|| self.truncate(level))
    }

    /// Whether `self` is `other` or one of its descendants (`b28013` is within `b280`).
    pub fn is_within(self, other: IcfCode) -> bool {
        self.as_str().starts_with(other.as_str())
    }

    fn truncate(self, level: Level) -> IcfCode {
        let len = level.len();
        let mut bytes = [0u8; 6];
        bytes[..len].copy_from_slice(&self.bytes[..len]);
        IcfCode {
            bytes,
            len: u8::try_from(len).unwrap_or(6),
        }
    }

    /// English title from the shipped classification (`None` if the code is not shipped).
    pub fn title(self) -> Option<&'static str> {
        classification().get(self).map(|c| c.title)
    }
}

impl fmt::Display for IcfCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for IcfCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IcfCode({})", self.as_str())
    }
}

impl FromStr for IcfCode {
    type Err = IcfError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IcfCode::parse(s)
    }
}

impl TryFrom<String> for IcfCode {
    type Error = IcfError;
    /// Grammar only, so stored records stay readable if the shipped data set shrinks.
    fn try_from(s: String) -> Result<Self, Self::Error> {
        IcfCode::parse_grammar(&s)
    }
}

impl From<IcfCode> for String {
    fn from(c: IcfCode) -> String {
        c.as_str().to_owned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn g(s: &str) -> Result<IcfCode, IcfError> {
        IcfCode::parse_grammar(s)
    }

    #[test]
    fn valid_codes_per_component_and_level() {
        for (raw, component, level) in [
            ("b2", Component::BodyFunctions, Level::Chapter),
            ("b280", Component::BodyFunctions, Level::Second),
            ("b2801", Component::BodyFunctions, Level::Third),
            ("b28013", Component::BodyFunctions, Level::Fourth),
            ("s1", Component::BodyStructures, Level::Chapter),
            ("s120", Component::BodyStructures, Level::Second),
            ("s12000", Component::BodyStructures, Level::Fourth),
            ("d9", Component::ActivitiesAndParticipation, Level::Chapter),
            ("d430", Component::ActivitiesAndParticipation, Level::Second),
            ("d4301", Component::ActivitiesAndParticipation, Level::Third),
            ("e5", Component::EnvironmentalFactors, Level::Chapter),
            ("e310", Component::EnvironmentalFactors, Level::Second),
        ] {
            let c = g(raw).unwrap();
            assert_eq!(
                (c.component(), c.level(), c.as_str()),
                (component, level, raw)
            );
        }
        assert_eq!(
            g(" B280 ").unwrap().as_str(),
            "b280",
            "trimmed, prefix lower-cased"
        );
    }

    #[test]
    fn chapter_ranges_per_component() {
        for ok in ["b1", "b8", "s1", "s8", "d1", "d9", "e1", "e5"] {
            assert!(g(ok).is_ok(), "{ok}");
        }
        for (bad, msg) in [
            (
                "b0",
                "ICF code b0 has chapter 0; body functions chapters are b1-b8",
            ),
            (
                "b9",
                "ICF code b9 has chapter 9; body functions chapters are b1-b8",
            ),
            (
                "s9",
                "ICF code s9 has chapter 9; body structures chapters are s1-s8",
            ),
            (
                "d0",
                "ICF code d0 has chapter 0; activities and participation chapters are d1-d9",
            ),
            (
                "e6",
                "ICF code e6 has chapter 6; environmental factors chapters are e1-e5",
            ),
            (
                "e610",
                "ICF code e610 has chapter 6; environmental factors chapters are e1-e5",
            ),
        ] {
            assert_eq!(g(bad).unwrap_err().to_string(), msg);
        }
    }

    #[test]
    fn malformed_codes_are_refused_with_the_reason() {
        assert_eq!(g("").unwrap_err(), IcfError::Empty);
        assert_eq!(g("   ").unwrap_err(), IcfError::Empty);
        for bad in ["b28", "b2801345", "b", "d43x"] {
            let e = g(bad).unwrap_err();
            assert!(matches!(e, IcfError::Malformed { .. }), "{bad}: {e:?}");
            assert!(
                e.to_string()
                    .starts_with(&format!("ICF code {bad} is malformed")),
                "{e}"
            );
        }
        for bad in ["b 280", "b-280"] {
            assert!(
                matches!(g(bad).unwrap_err(), IcfError::Malformed { .. }),
                "{bad}"
            );
        }
        let e = g("p110").unwrap_err();
        assert!(matches!(e, IcfError::UnknownComponent { .. }));
        assert!(e.to_string().contains("personal factors have no ICF codes"));
        assert!(matches!(
            g("12").unwrap_err(),
            IcfError::UnknownComponent { .. }
        ));
    }

    #[test]
    fn free_text_in_a_code_field_is_not_echoed() {
        let e = g("Lene has back pain since March").unwrap_err();
        let msg = e.to_string();
        assert!(!msg.contains("Lene") && !msg.contains("back"), "{msg}");
        assert!(msg.contains("not shown"), "{msg}");
    }

    #[test]
    fn hierarchy_navigation() {
        let c = g("b28013").unwrap();
        let chain: Vec<String> = std::iter::successors(Some(c), |c| c.parent())
            .map(|c| c.to_string())
            .collect();
        assert_eq!(chain, ["b28013", "b2801", "b280", "b2"]);
        assert_eq!(c.chapter(), 2);
        assert_eq!(c.at_level(Level::Second).unwrap().as_str(), "b280");
        assert_eq!(g("b280").unwrap().at_level(Level::Third), None);
        assert!(c.is_within(g("b280").unwrap()));
        assert!(!g("b2800").unwrap().is_within(g("b2801").unwrap()));
    }

    #[test]
    fn ordering_is_string_ordering() {
        let mut v: Vec<IcfCode> = ["e310", "b2", "b280", "b1", "d430", "b130", "s120"]
            .iter()
            .map(|s| g(s).unwrap())
            .collect();
        v.sort();
        let s: Vec<&str> = v.iter().map(|c| c.as_str()).collect();
        assert_eq!(s, ["b1", "b130", "b2", "b280", "d430", "e310", "s120"]);
    }
}
