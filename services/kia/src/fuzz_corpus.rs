//! The fuzz targets' regression corpus, replayed by the normal test suite: every file in
//! `fuzz/corpus/<target>/` (seeds, and every input that once crashed a target) goes through the
//! same library function the libFuzzer target calls, which must not panic.

use std::path::{Path, PathBuf};

/// The library function a fuzz target calls with the fuzzer's bytes.
type Target = fn(&[u8]);

/// Each fuzz target (a directory under fuzz/corpus) and the function it fuzzes.
const TARGETS: &[(&str, Target)] = &[
    ("decode_cases", kia_cases::fuzzing::requests),
    ("decode_screening", kia_screening::fuzzing::requests),
    ("decode_plans", kia_plans::fuzzing::requests),
    ("decode_contracting", kia_contracting::fuzzing::requests),
    ("decode_alerts", kia_alerts::fuzzing::requests),
    ("decode_audit", kia_audit::fuzzing::requests),
    ("icf_code", kia_domain::fuzzing::icf_code),
    ("rule_engine", kia_domain::fuzzing::rule_engine),
];

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_corpus_input_runs_through_its_target() {
        for (target, run) in TARGETS {
            let mut inputs = 0;
            for entry in std::fs::read_dir(corpus(target)).unwrap() {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                let outcome = std::panic::catch_unwind(|| run(&data));
                assert!(outcome.is_ok(), "{target} panicked on {}", path.display());
                inputs += 1;
            }
            assert!(inputs > 0, "fuzz/corpus/{target} has inputs");
        }
    }
}
