//! `scopegraph who-can VERB RESOURCE SNAPSHOT...`: Kubernetes RBAC questions,
//! answered like kubectl-who-can.

use crate::{EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE, Io, RuntimeArgs};
use clap::{Args, ValueEnum};
use scopegraph_core::whocan::{Query, who_can};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub(crate) struct WhoCanArgs {
    /// The verb: get, list, watch, create, update, patch, delete, escalate, bind, impersonate...
    verb: String,
    /// `TYPE[.GROUP][/NAME]`: plural, singular or short name (`pods`, `pod`, `po`).
    resource: String,
    /// Snapshot directories or files.
    #[arg(required = true, value_name = "SNAPSHOT")]
    snapshots: Vec<PathBuf>,
    /// Answer for this namespace (cluster-wide grants count in every namespace).
    #[arg(short, long)]
    namespace: Option<String>,
    /// A subresource, e.g. `exec` or `log` for pods.
    #[arg(long)]
    subresource: Option<String>,
    /// Only this cluster of the snapshot.
    #[arg(long)]
    cluster: Option<String>,
    #[arg(long, value_enum, default_value_t = WhoCanFormat::Table)]
    format: WhoCanFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum WhoCanFormat {
    Table,
    Json,
}

pub(crate) fn who_can_command(args: &WhoCanArgs, runtime: &RuntimeArgs, io: &mut Io<'_>) -> u8 {
    let mut query = match Query::parse(&args.verb, &args.resource) {
        Ok(query) => query,
        Err(message) => {
            io.diagnostic(
                "error",
                &args.resource,
                &message,
                Some("write RESOURCE as TYPE[.GROUP][/NAME]"),
            );
            return EXIT_USAGE;
        }
    };
    query.namespace = args.namespace.clone();
    query.subresource = args.subresource.clone();
    query.cluster = args.cluster.clone();

    let resolved = match crate::audit::resolve(&args.snapshots, runtime) {
        Ok(r) => r,
        Err(message) => {
            io.diagnostic("error", "who-can", &message, None);
            return EXIT_USAGE;
        }
    };
    let errors: Vec<_> = resolved
        .diagnostics
        .iter()
        .filter(|d| d.level == scopegraph_core::Level::Error)
        .collect();
    for d in &errors {
        io.diagnostic("error", &d.source, &d.message, None);
    }
    let subjects = who_can(&resolved.graph, &query);
    match args.format {
        WhoCanFormat::Json => {
            let list: Vec<serde_json::Value> = subjects
                .iter()
                .map(|s| serde_json::json!({"kind": s.kind, "name": s.name, "namespace": s.namespace, "via": s.via}))
                .collect();
            let _ = writeln!(
                io.out,
                "{}",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            );
        }
        WhoCanFormat::Table => {
            let _ = writeln!(
                io.out,
                "{:<15} {:<45} {:<20} VIA",
                "KIND", "NAME", "NAMESPACE"
            );
            for s in &subjects {
                let ns = s.namespace.as_deref().unwrap_or("");
                let _ = writeln!(
                    io.out,
                    "{:<15} {:<45} {:<20} {}",
                    s.kind,
                    s.name,
                    ns,
                    s.via.join("; ")
                );
            }
        }
    }
    if errors.is_empty() {
        EXIT_OK
    } else {
        EXIT_INCOMPLETE
    }
}
