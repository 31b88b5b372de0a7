//! The `scopegraph` command line. The only crate that prints.
//!
//! Exit codes (the contract): 0 ran to completion with no finding at or
//! above `--fail-on`; 1 findings at or above `--fail-on`; 2 the run is
//! incomplete (an input could not be read, a plugin failed) and the report
//! says what is missing; 3 usage error.

mod audit;
mod demo;
mod plugins;
mod usage;
mod whocan;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::{ffi::OsString, io::Write, path::PathBuf};

pub const EXIT_OK: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_INCOMPLETE: u8 = 2;
pub const EXIT_USAGE: u8 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "scopegraph",
    version,
    about = "Find and classify the excessive permissions of AI agents on Kubernetes, AWS, GCP and Azure"
)]
struct Cli {
    /// How errors and diagnostics are printed on stderr.
    #[arg(long, value_enum, default_value_t = ErrorFormat::Human, global = true)]
    error_format: ErrorFormat,
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(flatten)]
    runtime: RuntimeArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ErrorFormat {
    Human,
    Json,
}

/// Where plugins come from and where compiled ones are kept.
#[derive(Debug, Clone, Args)]
struct RuntimeArgs {
    /// A plugin directory (holding plugin.toml, or subdirectories that do). Repeatable.
    #[arg(long = "plugins", value_name = "DIR", global = true)]
    plugin_dirs: Vec<PathBuf>,
    /// Do not load the first-party plugins embedded in this binary.
    #[arg(long, global = true)]
    no_builtin: bool,
    /// Where compiled plugins are cached [default: $XDG_CACHE_HOME/scopegraph or ~/.cache/scopegraph].
    #[arg(long, value_name = "DIR", env = "SCOPEGRAPH_CACHE_DIR", global = true)]
    cache_dir: Option<PathBuf>,
    /// Compile plugins every run instead of caching them.
    #[arg(long, global = true)]
    no_cache: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Audit a snapshot: build the identity graph, classify every excess, report.
    Audit(audit::AuditArgs),
    /// Print the chains that give an agent its effective scope.
    Trace(audit::TraceArgs),
    /// Which Kubernetes subjects may do VERB on RESOURCE (like kubectl-who-can).
    WhoCan(whocan::WhoCanArgs),
    /// Run the audit on the bundled example organisation.
    Demo(demo::DemoArgs),
    /// List, inspect or check plugins.
    Plugins {
        #[command(subcommand)]
        command: plugins::PluginsCommand,
    },
}

/// Where a command's output and messages go.
pub(crate) struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    error_format: ErrorFormat,
}

impl Io<'_> {
    /// Print a diagnostic on stderr in the chosen format.
    pub(crate) fn diagnostic(
        &mut self,
        level: &str,
        source: &str,
        message: &str,
        help: Option<&str>,
    ) {
        let _ = match self.error_format {
            ErrorFormat::Human => {
                let help = help.map(|h| format!("\n  help: {h}")).unwrap_or_default();
                writeln!(self.err, "{level}: {source}: {message}{help}")
            }
            ErrorFormat::Json => {
                let value = serde_json::json!({"level": level, "source": source, "message": message, "help": help});
                writeln!(self.err, "{value}")
            }
        };
    }
}

/// Run the CLI with `args`, writing to `out` and `err`; returns the exit code.
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let rendered = e.render().to_string();
            let _ = if e.use_stderr() {
                write!(err, "{rendered}")
            } else {
                write!(out, "{rendered}")
            };
            return code;
        }
    };
    init_tracing(cli.verbose);
    let mut io = Io {
        out,
        err,
        error_format: cli.error_format,
    };
    match cli.command {
        Command::Audit(args) => audit::audit(&args, &cli.runtime, &mut io),
        Command::Trace(args) => audit::trace(&args, &cli.runtime, &mut io),
        Command::WhoCan(args) => whocan::who_can_command(&args, &cli.runtime, &mut io),
        Command::Demo(args) => demo::demo(&args, &cli.runtime, &mut io),
        Command::Plugins { command } => plugins::plugins(&command, &cli.runtime, &mut io),
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // A second init (tests run the CLI many times in one process) is harmless.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
