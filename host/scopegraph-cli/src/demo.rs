//! `scopegraph demo`: the audit on the bundled example organisation.

use crate::audit::{AuditArgs, FailOn, Format};
use crate::{EXIT_INCOMPLETE, Io, RuntimeArgs};
use clap::Args;
use std::{fs, path::PathBuf};

/// The example organisation, embedded so an installed binary can run it.
const DEMO_ORG: &[(&str, &str)] = &include!(concat!(env!("OUT_DIR"), "/demo_org.rs"));

/// The fixed end of the demo's observation window, so its output never changes.
const DEMO_NOW: &str = "2026-11-20T00:00:00Z";

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Write the example snapshot and its reports (JSON, Markdown) here.
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
}

pub(crate) fn demo(args: &DemoArgs, runtime: &RuntimeArgs, io: &mut Io<'_>) -> u8 {
    let (dir, _guard) = match &args.output {
        Some(dir) => (dir.clone(), None),
        None => match tempfile::tempdir() {
            Ok(tmp) => (tmp.path().to_path_buf(), Some(tmp)),
            Err(err) => {
                io.diagnostic(
                    "error",
                    "demo",
                    &format!("cannot create a temporary directory: {err}"),
                    None,
                );
                return EXIT_INCOMPLETE;
            }
        },
    };
    let snapshot = dir.join("snapshot");
    for (path, content) in DEMO_ORG {
        let target = snapshot.join(path);
        let written = target
            .parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|()| fs::write(&target, content));
        if let Err(err) = written {
            io.diagnostic(
                "error",
                &target.display().to_string(),
                &format!("cannot write: {err}"),
                None,
            );
            return EXIT_INCOMPLETE;
        }
    }
    let audit = |format, output| AuditArgs {
        snapshots: vec![snapshot.clone()],
        window: 14,
        now: Some(DEMO_NOW.into()),
        format,
        output,
        artifacts: Some(dir.join("artifacts")),
        state: None,
        fail_on: None::<FailOn>,
    };
    let _ = writeln!(
        io.out,
        "scopegraph demo: auditing the example organisation in {}\n",
        snapshot.display()
    );
    let table = audit(Format::Table, None);
    let report = match crate::audit::build_report(&table, runtime) {
        Ok(report) => report,
        Err(message) => {
            io.diagnostic("error", "demo", &message, None);
            return EXIT_INCOMPLETE;
        }
    };
    let code = crate::audit::emit(&table, &report, io);
    if args.output.is_some() {
        for (format, name) in [
            (Format::Json, "findings.json"),
            (Format::Markdown, "findings.md"),
        ] {
            let _ = crate::audit::emit(&audit(format, Some(dir.join(name))), &report, io);
        }
        let _ = writeln!(io.out, "\nreports written to {}", dir.display());
    }
    code
}
