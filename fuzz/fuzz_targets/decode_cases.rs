#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kia_cases::fuzzing::requests(data));
