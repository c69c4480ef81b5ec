use std::process::ExitCode;
#[derive(Debug, clap::Args)]
pub struct DemoArgs {}
pub fn main(_a: DemoArgs) -> ExitCode { ExitCode::SUCCESS }
