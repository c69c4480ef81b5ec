#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kia_alerts::fuzzing::requests(data));
