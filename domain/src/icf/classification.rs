//! The shipped ICF data set (`domain/data/`, see its README.md): categories with English titles
//! and the membership lists of the ICF Core Sets the KIA / 360-degree work starts from.
//!
//! The data is compiled in with `include_str!` and parsed once on first use; the crate does no
//! I/O. A code is valid only when it is grammatical **and** listed in `icf_categories.tsv`.
//! More specific (3rd/4th-level) codes are accepted only where the file lists them; a known
//! second-level parent is not enough. That keeps "unknown" one simple rule: not in the file.

use super::{Component, IcfCode, Level};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

const CATEGORIES: &str = include_str!("../../data/icf_categories.tsv");
const VR_COMPREHENSIVE: &str =
    include_str!("../../data/core_sets/vocational_rehabilitation_comprehensive.txt");
const VR_BRIEF: &str = include_str!("../../data/core_sets/vocational_rehabilitation_brief.txt");
const LBP_COMPREHENSIVE: &str =
    include_str!("../../data/core_sets/low_back_pain_comprehensive.txt");

/// The ICF Core Sets shipped with the data set (DOMAIN.md §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoreSet {
    /// Comprehensive ICF Core Set for Vocational Rehabilitation: 90 categories
    /// (b 17, d 40, e 33). Finger et al., Disabil Rehabil 2012;34(5):429-438.
    VocationalRehabilitationComprehensive,
    /// Brief ICF Core Set for Vocational Rehabilitation: 13 categories (b 3, d 6, e 4).
    VocationalRehabilitationBrief,
    /// Comprehensive ICF Core Set for Low Back Pain: 78 categories (b 19, s 5, d 29, e 25).
    /// Cieza et al., J Rehabil Med 2004;(44 Suppl):69-74.
    LowBackPainComprehensive,
}

impl CoreSet {
    pub const ALL: [CoreSet; 3] = [
        CoreSet::VocationalRehabilitationComprehensive,
        CoreSet::VocationalRehabilitationBrief,
        CoreSet::LowBackPainComprehensive,
    ];

    /// Stable identifier, as serialized.
    pub const fn as_str(self) -> &'static str {
        match self {
            CoreSet::VocationalRehabilitationComprehensive => {
                "vocational_rehabilitation_comprehensive"
            }
            CoreSet::VocationalRehabilitationBrief => "vocational_rehabilitation_brief",
            CoreSet::LowBackPainComprehensive => "low_back_pain_comprehensive",
        }
    }

    pub const fn title(self) -> &'static str {
        match self {
            CoreSet::VocationalRehabilitationComprehensive => {
                "Comprehensive ICF Core Set for Vocational Rehabilitation"
            }
            CoreSet::VocationalRehabilitationBrief => {
                "Brief ICF Core Set for Vocational Rehabilitation"
            }
            CoreSet::LowBackPainComprehensive => "Comprehensive ICF Core Set for Low Back Pain",
        }
    }

    /// The publication the membership list comes from.
    pub const fn source(self) -> &'static str {
        match self {
            CoreSet::VocationalRehabilitationComprehensive
            | CoreSet::VocationalRehabilitationBrief => {
                "Finger ME, Escorpizo R, Glässel A, et al. ICF Core Set for vocational \
                 rehabilitation: results of an international consensus conference. \
                 Disabil Rehabil 2012;34(5):429-438"
            }
            CoreSet::LowBackPainComprehensive => {
                "Cieza A, Stucki G, Weigl M, et al. ICF Core Sets for low back pain. \
                 J Rehabil Med 2004;(44 Suppl):69-74"
            }
        }
    }

    const fn bit(self) -> u8 {
        match self {
            CoreSet::VocationalRehabilitationComprehensive => 1,
            CoreSet::VocationalRehabilitationBrief => 2,
            CoreSet::LowBackPainComprehensive => 4,
        }
    }

    const fn data(self) -> &'static str {
        match self {
            CoreSet::VocationalRehabilitationComprehensive => VR_COMPREHENSIVE,
            CoreSet::VocationalRehabilitationBrief => VR_BRIEF,
            CoreSet::LowBackPainComprehensive => LBP_COMPREHENSIVE,
        }
    }

    /// The set's categories in code order.
    pub fn members(self) -> Vec<&'static Category> {
        classification()
            .iter()
            .filter(|c| c.in_core_set(self))
            .collect()
    }

    pub fn contains(self, code: IcfCode) -> bool {
        classification()
            .get(code)
            .is_some_and(|c| c.in_core_set(self))
    }
}

/// One shipped category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub code: IcfCode,
    /// English title as in the WHO ICF (2001).
    pub title: &'static str,
    core_sets: u8,
}

impl Category {
    pub fn component(&self) -> Component {
        self.code.component()
    }

    pub fn level(&self) -> Level {
        self.code.level()
    }

    pub fn in_core_set(&self, set: CoreSet) -> bool {
        self.core_sets & set.bit() != 0
    }

    /// The core sets listing this category.
    pub fn core_sets(&self) -> impl Iterator<Item = CoreSet> + '_ {
        CoreSet::ALL.into_iter().filter(|s| self.in_core_set(*s))
    }
}

/// The shipped classification: every known code with its title and core-set membership.
#[derive(Debug, Clone, Default)]
pub struct Classification {
    categories: BTreeMap<IcfCode, Category>,
}

impl Classification {
    pub fn get(&self, code: IcfCode) -> Option<&Category> {
        self.categories.get(&code)
    }

    pub fn contains(&self, code: IcfCode) -> bool {
        self.categories.contains_key(&code)
    }

    /// All categories in code order.
    pub fn iter(&self) -> impl Iterator<Item = &Category> {
        self.categories.values()
    }

    pub fn len(&self) -> usize {
        self.categories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    /// Parses the data files; returns what parsed and a list of problems (each line at fault).
    /// The shipped files parse without problems (tested); at run time a faulty line would
    /// only make its code unknown, never panic.
    fn parse(categories: &'static str, sets: &[(CoreSet, &'static str)]) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let mut map: BTreeMap<IcfCode, Category> = BTreeMap::new();
        for (n, line) in data_lines(categories) {
            let Some((code, title)) = line.split_once('\t') else {
                problems.push(format!("icf_categories.tsv:{n}: expected code<TAB>title"));
                continue;
            };
            let title = title.trim();
            match IcfCode::parse_grammar(code) {
                Err(e) => problems.push(format!("icf_categories.tsv:{n}: {e}")),
                Ok(_) if title.is_empty() => {
                    problems.push(format!("icf_categories.tsv:{n}: empty title"));
                }
                Ok(c) if c.as_str() != code => {
                    problems.push(format!("icf_categories.tsv:{n}: {code} is not lower case"));
                }
                Ok(c) if map.contains_key(&c) => {
                    problems.push(format!("icf_categories.tsv:{n}: duplicate {c}"));
                }
                Ok(c) => {
                    map.insert(
                        c,
                        Category {
                            code: c,
                            title,
                            core_sets: 0,
                        },
                    );
                }
            }
        }
        let orphans: Vec<IcfCode> = map
            .keys()
            .filter(|c| c.parent().is_some_and(|p| !map.contains_key(&p)))
            .copied()
            .collect();
        for c in orphans {
            problems.push(format!(
                "icf_categories.tsv: {c} is listed without its parent"
            ));
            map.remove(&c);
        }
        for &(set, text) in sets {
            for (n, line) in data_lines(text) {
                let entry = IcfCode::parse_grammar(line)
                    .ok()
                    .and_then(|c| map.get_mut(&c));
                match entry {
                    None => problems.push(format!("{}:{n}: unknown code {line}", set.as_str())),
                    Some(cat) if cat.in_core_set(set) => {
                        problems.push(format!("{}:{n}: duplicate {line}", set.as_str()));
                    }
                    Some(cat) => cat.core_sets |= set.bit(),
                }
            }
        }
        (Self { categories: map }, problems)
    }
}

/// Non-empty, non-comment lines with their 1-based line numbers.
fn data_lines(text: &'static str) -> impl Iterator<Item = (usize, &'static str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
}

fn shipped() -> (Classification, Vec<String>) {
    let sets: Vec<(CoreSet, &'static str)> = CoreSet::ALL.iter().map(|s| (*s, s.data())).collect();
    Classification::parse(CATEGORIES, &sets)
}

/// The shipped classification (parsed once, on first use).
pub fn classification() -> &'static Classification {
    static DATA: OnceLock<Classification> = OnceLock::new();
    DATA.get_or_init(|| shipped().0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn code(s: &str) -> IcfCode {
        IcfCode::parse_grammar(s).unwrap()
    }

    fn counts(set: CoreSet) -> (usize, [usize; 4]) {
        let members = set.members();
        let mut by = [0; 4];
        for m in &members {
            let i = Component::ALL
                .iter()
                .position(|c| *c == m.component())
                .unwrap();
            by[i] += 1;
        }
        (members.len(), by)
    }

    #[test]
    fn shipped_data_parses_without_problems() {
        let (c, problems) = shipped();
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(c.len(), classification().len());
        assert!(c.len() >= 29 + 90 + 78 - 20, "{}", c.len());
    }

    #[test]
    fn data_set_size_as_documented_in_the_readme() {
        let at = |level| {
            classification()
                .iter()
                .filter(|c| c.level() == level)
                .count()
        };
        assert_eq!(classification().len(), 201);
        assert_eq!(
            (
                at(Level::Chapter),
                at(Level::Second),
                at(Level::Third),
                at(Level::Fourth)
            ),
            (30, 121, 34, 16)
        );
        let in_any = classification()
            .iter()
            .filter(|c| c.core_sets().next().is_some())
            .count();
        assert_eq!(in_any, 121, "every second-level category is in a core set");
    }

    #[test]
    fn vocational_rehabilitation_comprehensive_90_b17_d40_e33() {
        let (n, [b, s, d, e]) = counts(CoreSet::VocationalRehabilitationComprehensive);
        assert_eq!((n, b, s, d, e), (90, 17, 0, 40, 33));
    }

    #[test]
    fn vocational_rehabilitation_brief_13_b3_d6_e4_within_the_comprehensive() {
        let (n, [b, s, d, e]) = counts(CoreSet::VocationalRehabilitationBrief);
        assert_eq!((n, b, s, d, e), (13, 3, 0, 6, 4));
        let brief: Vec<&str> = CoreSet::VocationalRehabilitationBrief
            .members()
            .iter()
            .map(|c| c.code.as_str())
            .collect();
        assert_eq!(
            brief,
            [
                "b130", "b164", "b455", "d155", "d240", "d720", "d845", "d850", "d855", "e310",
                "e330", "e580", "e590"
            ]
        );
        for c in CoreSet::VocationalRehabilitationBrief.members() {
            assert!(
                c.in_core_set(CoreSet::VocationalRehabilitationComprehensive),
                "{c:?}"
            );
        }
    }

    #[test]
    fn low_back_pain_comprehensive_78_b19_s5_d29_e25() {
        let (n, [b, s, d, e]) = counts(CoreSet::LowBackPainComprehensive);
        assert_eq!((n, b, s, d, e), (78, 19, 5, 29, 25));
    }

    #[test]
    fn core_sets_hold_second_level_categories_only() {
        for set in CoreSet::ALL {
            for c in set.members() {
                assert_eq!(c.level(), Level::Second, "{set:?} {}", c.code);
            }
        }
    }

    #[test]
    fn every_chapter_is_shipped_with_its_title() {
        for component in Component::ALL {
            let (lo, hi) = component.chapters();
            for ch in lo..=hi {
                let c = code(&format!("{}{ch}", component.prefix()));
                assert!(classification().get(c).is_some(), "{c}");
            }
        }
        assert_eq!(code("b2").title(), Some("Sensory functions and pain"));
        assert_eq!(code("d8").title(), Some("Major life areas"));
        assert_eq!(code("e5").title(), Some("Services, systems and policies"));
    }

    #[test]
    fn titles_and_membership_of_the_domain_examples() {
        let title = |s: &str| code(s).title().unwrap();
        assert_eq!(title("b280"), "Sensation of pain");
        assert_eq!(title("b28013"), "Pain in back");
        assert_eq!(title("d430"), "Lifting and carrying objects");
        assert_eq!(title("d845"), "Acquiring, keeping and terminating a job");
        assert_eq!(
            title("e590"),
            "Labour and employment services, systems and policies"
        );
        assert_eq!(title("s12000"), "Cervical spinal cord");
        let d240 = classification().get(code("d240")).unwrap();
        assert_eq!(
            d240.core_sets().collect::<Vec<_>>(),
            CoreSet::ALL.to_vec(),
            "d240 is in all three sets"
        );
        assert!(!CoreSet::LowBackPainComprehensive.contains(code("b28013")));
        for example in [
            "b130", "b152", "b280", "b710", "b730", "d240", "d415", "d430", "d845", "d850", "e310",
            "e325", "e330", "e570", "e580", "e590",
        ] {
            assert!(classification().contains(code(example)), "{example}");
        }
    }

    #[test]
    fn unknown_codes_are_rejected_even_under_a_known_parent() {
        assert!(IcfCode::parse("d999").is_err());
        assert!(
            IcfCode::parse("b28019").is_err(),
            "b2801 is known, b28019 is not shipped"
        );
        assert!(
            IcfCode::parse("b1300").is_err(),
            "b130 is known, b1300 is not shipped"
        );
        assert!(IcfCode::parse("b28013").is_ok());
    }

    #[test]
    fn faulty_data_is_reported_not_panicked_on() {
        let (c, problems) = Classification::parse(
            "b2\tSensory\nb280\tPain\nb280\tAgain\nb9\tBad\nb28013\tOrphan\nx\nd4\t \n",
            &[(CoreSet::VocationalRehabilitationBrief, "b280\nb280\nd430\n")],
        );
        assert_eq!(c.len(), 2);
        assert_eq!(problems.len(), 7, "{problems:#?}");
    }
}
