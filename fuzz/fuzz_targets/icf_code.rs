#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kia_domain::fuzzing::icf_code(data));
