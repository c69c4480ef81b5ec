#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kia_audit::fuzzing::requests(data));
