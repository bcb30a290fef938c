//! The `dockpolicy` command line.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::io::IsTerminal;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use dockpolicy::cli::{self, CheckOptions, FailOn, Output, RuleOptions, SizeFormat};
use dockpolicy::parse::repository::LoadOptions;
use dockpolicy::report::text::TextOptions;
use dockpolicy::report::Format;

/// mimalloc: the model is many small allocations, and glibc's allocator spent a quarter of
/// the load time in the benchmark.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Check repositories against the rule packs.
    Check {
        /// Directories to scan, or single files (default: the current directory).
        paths: Vec<PathBuf>,
        #[command(flatten)]
        rules: RuleArgs,
        #[command(flatten)]
        load: LoadArgs,
        /// The lowest severity that makes the exit code 1.
        #[arg(long, value_enum, default_value = "note")]
        fail_on: FailOnArg,
        /// An output format (default: text); repeatable, each followed by its own `--output`.
        #[arg(long, value_enum, value_name = "FORMAT")]
        format: Vec<FormatArg>,
        /// Write the `--format` given before this to FILE instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Vec<PathBuf>,
        /// Text output: the findings only, without the summary line.
        #[arg(long, short)]
        quiet: bool,
        /// Report only findings whose fingerprints are not in this SARIF file (an earlier
        /// `--format sarif` output).
        #[arg(long, value_name = "FILE.sarif")]
        baseline: Option<PathBuf>,
        /// SARIF: include suppressed findings, with `suppressions` (GitHub ignores them and
        /// opens alerts).
        #[arg(long)]
        include_suppressed: bool,
    },
    /// List the loaded rules: ID, name, severity, summary.
    Rules {
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Print a rule's documentation.
    Explain {
        /// A rule ID such as DP1001, or a rule name.
        id: String,
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Run rule packs' fixtures: each rule must report exactly the lines annotated
    /// `# ruleid: ID` (default: the bundled packs).
    Test {
        /// Pack folders, or names of bundled packs (default: every bundled pack).
        packs: Vec<PathBuf>,
        /// Do not load the bundled rule packs.
        #[arg(long)]
        no_default_rules: bool,
    },
    /// Show each service's image size (measured, or estimated from the Dockerfile), its
    /// budget (DP3005's `budget`) and what makes it large.
    Size {
        /// A directory to scan, or a single file (default: the current directory).
        path: Option<PathBuf>,
        #[command(flatten)]
        rules: RuleArgs,
        #[command(flatten)]
        load: LoadArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: SizeFormatArg,
    },
    /// Print the repository model as JSON, for rule authors (see SPEC.md).
    Dump {
        /// A directory to scan, or a single file.
        path: PathBuf,
        #[command(flatten)]
        load: LoadArgs,
        /// Write the JSON to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Args)]
struct RuleArgs {
    /// A folder of `.dpl` rule files to load as a pack; repeatable.
    #[arg(long = "rules", value_name = "PATH")]
    packs: Vec<PathBuf>,
    /// Do not load the bundled rule packs.
    #[arg(long)]
    no_default_rules: bool,
    /// The configuration file (default: `.dockpolicy.yaml` at the scanned root).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct LoadArgs {
    /// Set a compose interpolation variable (overrides the `.env` file); repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_variable)]
    variables: Vec<(String, String)>,
    /// Build every Dockerfile that declares the `ARG` with this value, as `docker build
    /// --build-arg` (over a compose service's `build.args`); repeatable.
    #[arg(long = "build-arg", value_name = "NAME=VALUE", value_parser = parse_variable)]
    build_args: Vec<(String, String)>,
    /// Measured image sizes: `docker image inspect` output, `docker images --format
    /// '{{json .}}'` output, or a YAML/JSON map of service or image to size.
    #[arg(long, value_name = "FILE")]
    image_sizes: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum SizeFormatArg {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum FormatArg {
    Text,
    Json,
    Sarif,
    Github,
}

impl From<FormatArg> for Format {
    fn from(format: FormatArg) -> Format {
        match format {
            FormatArg::Text => Format::Text,
            FormatArg::Json => Format::Json,
            FormatArg::Sarif => Format::Sarif,
            FormatArg::Github => Format::Github,
        }
    }
}

/// Pairs each `--output` with the `--format` given before it (`(index on the command line,
/// value)`); with no `--format`, text. At most one format may go to standard output.
fn pair_outputs(
    formats: &[(usize, FormatArg)],
    files: &[(usize, PathBuf)],
) -> Result<Vec<Output>, String> {
    let formats = if formats.is_empty() {
        vec![(0, FormatArg::Text)]
    } else {
        formats.to_vec()
    };
    let mut outputs: Vec<Output> = formats
        .iter()
        .map(|&(_, format)| Output {
            format: format.into(),
            file: None,
        })
        .collect();
    for (index, file) in files {
        let Some(owner) = formats.iter().rposition(|(at, _)| at < index) else {
            return Err(format!(
                "`--output {}` comes before any `--format`: give it after the format it is for",
                file.display()
            ));
        };
        if let Some(earlier) = &outputs[owner].file {
            return Err(format!(
                "two `--output` files ({} and {}) for one `--format`",
                earlier.display(),
                file.display()
            ));
        }
        outputs[owner].file = Some(file.clone());
    }
    if outputs.iter().filter(|o| o.file.is_none()).count() > 1 {
        return Err(
            "only one format can go to standard output: give the others `--output FILE`".into(),
        );
    }
    Ok(outputs)
}

#[derive(Clone, Copy, ValueEnum)]
enum FailOnArg {
    Error,
    Warning,
    Note,
    None,
}

fn parse_variable(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))
}

impl From<RuleArgs> for RuleOptions {
    fn from(args: RuleArgs) -> RuleOptions {
        RuleOptions {
            packs: args.packs,
            no_default_rules: args.no_default_rules,
            config: args.config,
        }
    }
}

impl From<LoadArgs> for LoadOptions {
    fn from(args: LoadArgs) -> LoadOptions {
        LoadOptions {
            variables: args.variables.into_iter().collect(),
            build_args: args.build_args,
            image_sizes: args.image_sizes,
            ..LoadOptions::default()
        }
    }
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let code = match cli.command {
        Command::Check {
            paths,
            rules,
            load,
            fail_on,
            format,
            output,
            quiet,
            baseline,
            include_suppressed,
        } => {
            let check_matches = matches.subcommand_matches("check");
            let indices = |id: &str| -> Vec<usize> {
                check_matches
                    .and_then(|m| m.indices_of(id))
                    .map(Iterator::collect)
                    .unwrap_or_default()
            };
            let formats: Vec<(usize, FormatArg)> =
                indices("format").into_iter().zip(format).collect();
            let files: Vec<(usize, PathBuf)> = indices("output").into_iter().zip(output).collect();
            let outputs = pair_outputs(&formats, &files).unwrap_or_else(|message| {
                let mut command = Cli::command();
                command.build();
                match command.find_subcommand_mut("check") {
                    Some(check) => check.error(clap::error::ErrorKind::ArgumentConflict, message),
                    None => command.error(clap::error::ErrorKind::ArgumentConflict, message),
                }
                .exit()
            });
            let paths = if paths.is_empty() {
                vec![PathBuf::from(".")]
            } else {
                paths
            };
            let fail_on = match fail_on {
                FailOnArg::Error => FailOn::Error,
                FailOnArg::Warning => FailOn::Warning,
                FailOnArg::Note => FailOn::Note,
                FailOnArg::None => FailOn::None,
            };
            let color = std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
            let options = CheckOptions {
                fail_on,
                outputs,
                text: TextOptions { color, quiet },
                baseline,
                include_suppressed,
            };
            cli::check(
                &paths,
                &rules.into(),
                &load.into(),
                &options,
                &mut out,
                &mut err,
            )
        }
        Command::Rules { rules } => cli::rules(&rules.into(), &mut out, &mut err),
        Command::Explain { id, rules } => cli::explain(&id, &rules.into(), &mut out, &mut err),
        Command::Test {
            packs,
            no_default_rules,
        } => cli::test(
            &packs,
            no_default_rules,
            Path::new(env!("CARGO_MANIFEST_DIR")),
            &mut out,
            &mut err,
        ),
        Command::Size {
            path,
            rules,
            load,
            format,
        } => {
            let format = match format {
                SizeFormatArg::Text => SizeFormat::Text,
                SizeFormatArg::Json => SizeFormat::Json,
            };
            let path = path.unwrap_or_else(|| PathBuf::from("."));
            cli::size(
                &path,
                &rules.into(),
                &load.into(),
                format,
                &mut out,
                &mut err,
            )
        }
        Command::Dump { path, load, output } => {
            cli::dump(&path, &load.into(), output.as_deref(), &mut err)
        }
    };
    ExitCode::from(code)
}
