//! `kia completions SHELL`: completion scripts generated from the command definitions.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    shell: Shell,
}

pub fn run<C: CommandFactory>(args: CompletionsArgs) -> anyhow::Result<()> {
    let mut command = C::command();
    clap_complete::generate(args.shell, &mut command, "kia", &mut std::io::stdout());
    Ok(())
}
