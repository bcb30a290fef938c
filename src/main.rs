//! The `dockpolicy` command line.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use dockpolicy::diag::Severity;
use dockpolicy::parse::repository::{load, LoadOptions};
use dockpolicy::report::{diagnostics, dump};

/// mimalloc: the model is many small allocations, and glibc's allocator spent a quarter of
/// the load time in the benchmark.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code when an input could not be read or modelled without errors.
const EXIT_INPUT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "dockpolicy",
    version,
    about = "Policy checks for container build inputs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the repository model as JSON, for rule authors (see SPEC.md).
    Dump {
        /// A directory to scan, or a single file.
        path: PathBuf,
        /// Set a compose interpolation variable (overrides the `.env` file); repeatable.
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_variable)]
        variables: Vec<(String, String)>,
        /// Write the JSON to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

fn parse_variable(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Dump {
            path,
            variables,
            output,
        } => run_dump(&path, variables, output),
    }
}

fn run_dump(
    path: &std::path::Path,
    variables: Vec<(String, String)>,
    output: Option<PathBuf>,
) -> ExitCode {
    let options = LoadOptions {
        variables: variables.into_iter().collect(),
    };
    let loaded = load(path, &options);
    eprint!(
        "{}",
        diagnostics::render(&loaded.diagnostics, &loaded.sources)
    );
    let document = match dump::dump(&loaded.repository, &loaded.diagnostics, &loaded.sources) {
        Ok(document) => document,
        Err(e) => {
            eprintln!("error: cannot serialise the model: {e}");
            return ExitCode::from(EXIT_INPUT_ERROR);
        }
    };
    let text = match serde_json::to_string_pretty(&document) {
        Ok(text) => text + "\n",
        Err(e) => {
            eprintln!("error: cannot serialise the model: {e}");
            return ExitCode::from(EXIT_INPUT_ERROR);
        }
    };
    let written = match &output {
        Some(file) => std::fs::write(file, text),
        None => std::io::stdout().lock().write_all(text.as_bytes()),
    };
    if let Err(e) = written {
        eprintln!("error: cannot write the dump: {e}");
        return ExitCode::from(EXIT_INPUT_ERROR);
    }
    let has_errors = loaded
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error);
    if has_errors {
        ExitCode::from(EXIT_INPUT_ERROR)
    } else {
        ExitCode::SUCCESS
    }
}
