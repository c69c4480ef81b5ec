#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kia_screening::fuzzing::requests(data));
