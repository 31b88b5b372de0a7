//! `scopegraph audit` and `scopegraph trace`: the pipeline from snapshot to report.

use crate::plugins::{self, PluginSet};
use crate::{EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE, Io, RuntimeArgs};
use clap::{Args, ValueEnum};
use scopegraph_core::findings::{self, Finding};
use scopegraph_core::graph::IdentityGraph;
use scopegraph_core::scope::{self, Agent, Reach};
use scopegraph_core::{Candidate, Category, Diagnostic, Status};
use scopegraph_report::{AgentSummary, RunReport};
use scopegraph_runtime::PluginKind;
use std::{
    fs,
    path::{Path, PathBuf},
};

/// Candidates per classifier call: big enough to amortise the boundary,
/// small enough that one trapped batch loses little.
const BATCH: usize = 1_000;

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// Snapshot directories or files.
    #[arg(required = true, value_name = "SNAPSHOT")]
    pub snapshots: Vec<PathBuf>,
    /// Observation window in days, ending at --now.
    #[arg(long, default_value_t = 14, value_name = "DAYS")]
    pub window: u32,
    /// End of the window [default: now].
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write reduction artifacts (policies, roles, manifests) under this directory.
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Keep each finding's classification history in this file across runs
    /// (created if missing; findings that disappear are reported `resolved` once).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Exit 1 when an open finding of this category (or `any`) is reported.
    #[arg(long, value_enum, value_name = "CATEGORY|any")]
    pub fail_on: Option<FailOn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Table,
    Json,
    Sarif,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    UnusedExcess,
    UnjustifiedUse,
    InheritedOverreach,
    Any,
}

impl FailOn {
    fn matches(self, finding: &Finding) -> bool {
        finding.status == Status::Open
            && match self {
                FailOn::Any => true,
                FailOn::UnusedExcess => finding.category == Category::UnusedExcess,
                FailOn::UnjustifiedUse => finding.category == Category::UnjustifiedUse,
                FailOn::InheritedOverreach => finding.category == Category::InheritedOverreach,
            }
    }
}

#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    #[arg(required = true, value_name = "SNAPSHOT")]
    pub snapshots: Vec<PathBuf>,
    /// `CLUSTER/NAMESPACE/KIND/NAME`.
    #[arg(long)]
    pub agent: String,
    #[arg(long, value_enum, default_value_t = TraceFormat::Text)]
    pub format: TraceFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TraceFormat {
    Text,
    Json,
    Dot,
}

/// The identity graph of a snapshot, with everything that went wrong on the way.
pub(crate) struct Resolved {
    pub graph: IdentityGraph,
    pub agents: Vec<Agent>,
    pub set: PluginSet,
    pub diagnostics: Vec<Diagnostic>,
    /// Document id -> source, to locate evidence in reports.
    pub documents: std::collections::BTreeMap<String, String>,
    /// Activity logs, streamed into the usage model by `audit`.
    pub activity_files: Vec<PathBuf>,
}

pub(crate) fn resolve(snapshots: &[PathBuf], runtime: &RuntimeArgs) -> Result<Resolved, String> {
    let snapshot = scopegraph_ingest::read_snapshot(snapshots);
    let set = plugins::load(runtime)?;
    let mut diagnostics = snapshot.diagnostics;
    diagnostics.extend(set.diagnostics());

    let mut outputs = Vec::new();
    for plugin in set
        .plugins
        .iter()
        .filter(|p| p.kind() == PluginKind::Provider)
    {
        match plugin.resolve(&snapshot.documents) {
            Ok(output) => outputs.push((plugin.label(), output)),
            Err(err) => diagnostics.push(plugin_failure(&err)),
        }
    }
    let (graph, graph_diagnostics) = IdentityGraph::build(outputs);
    diagnostics.extend(graph_diagnostics);
    let (agents, agent_diagnostics) = scope::agents(&graph, &snapshot.declared_agents);
    diagnostics.extend(agent_diagnostics);
    let documents = snapshot
        .documents
        .iter()
        .map(|d| (d.id.clone(), d.source.clone()))
        .collect();
    let activity_files = snapshot.activity_files.clone();
    Ok(Resolved {
        graph,
        agents,
        set,
        diagnostics,
        documents,
        activity_files,
    })
}

fn plugin_failure(err: &scopegraph_runtime::PluginError) -> Diagnostic {
    let help = err
        .kind()
        .help()
        .map(|h| format!(" (help: {h})"))
        .unwrap_or_default();
    Diagnostic::error(
        format!("plugin {}", err.plugin()),
        format!("{}{help}", err.kind()),
    )
}

/// Parse `--now`, or take the wall clock.
fn window(now: Option<&str>, days: u32) -> Result<(jiff::Timestamp, jiff::Timestamp), String> {
    let end = match now {
        Some(text) => text
            .parse::<jiff::Timestamp>()
            .map_err(|e| format!("--now {text:?} is not an RFC 3339 timestamp: {e}"))?,
        None => jiff::Timestamp::now(),
    };
    let start = end
        .checked_sub(jiff::SignedDuration::from_hours(24 * i64::from(days)))
        .map_err(|e| format!("--window {days}: {e}"))?;
    Ok((start, end))
}

/// Run the whole audit and build the report (no printing).
pub(crate) fn build_report(args: &AuditArgs, runtime: &RuntimeArgs) -> Result<RunReport, String> {
    let (start, end) = window(args.now.as_deref(), args.window)?;
    let resolved = resolve(&args.snapshots, runtime)?;
    let Resolved {
        graph,
        agents,
        set,
        mut diagnostics,
        documents,
        activity_files,
    } = resolved;
    let reach = Reach::compute(&graph);
    let mut candidates: Vec<Candidate> = scope::candidates(&graph, &reach, &agents, args.window);
    let (model, usage_diagnostics) = crate::usage::observe(&activity_files);
    diagnostics.extend(usage_diagnostics);
    diagnostics.extend(crate::usage::summary(&model));
    crate::usage::credit(
        &mut candidates,
        &agents,
        &graph,
        &model,
        &start.to_string(),
        &end.to_string(),
    );

    // A binding's grants (one per RBAC rule) go to a rule in one batch, so
    // it can write one replacement covering all of them.
    candidates.sort_by(|a, b| (&a.agent, &a.grant.source).cmp(&(&b.agent, &b.grant.source)));
    let mut verdicts = Vec::new();
    for plugin in set
        .plugins
        .iter()
        .filter(|p| p.kind() == PluginKind::Classifier)
    {
        let mut list = Vec::new();
        for batch in batches(&candidates, BATCH) {
            match plugin.classify(batch) {
                Ok(v) => list.extend(v),
                Err(err) => diagnostics.push(plugin_failure(&err)),
            }
        }
        verdicts.push((plugin.label(), list));
    }
    let mut findings = findings::assemble(&candidates, verdicts);
    if let Some(dir) = &args.artifacts {
        write_artifacts(dir, &mut findings, &mut diagnostics);
    }
    if let Some(path) = &args.state {
        findings = with_history(path, findings, &end.to_string(), &mut diagnostics);
    }
    let agents = agents
        .iter()
        .map(|a| AgentSummary {
            id: a.id.clone(),
            service_account: a.service_account.clone(),
            identities: identities(&candidates, &a.id),
            pods: a.pods,
            observed_days: candidates
                .iter()
                .filter(|c| c.agent == a.id)
                .map(|c| c.usage.observed_days)
                .max()
                .unwrap_or(0),
        })
        .collect();
    Ok(RunReport {
        window_start: start.to_string(),
        window_end: end.to_string(),
        agents,
        findings,
        diagnostics,
        documents,
    })
}

/// Merge the state file's history into this run's findings and write it
/// back. An unreadable state file is reported and left untouched.
fn with_history(
    path: &Path,
    findings: Vec<Finding>,
    at: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Finding> {
    let source = path.display().to_string();
    let previous = match fs::read_to_string(path) {
        Ok(text) => match scopegraph_report::from_state(&text) {
            Ok(previous) => previous,
            Err(message) => {
                diagnostics.push(Diagnostic::error(
                    &source,
                    format!("not a scopegraph state file ({message}); left unchanged, history not recorded"),
                ));
                return findings;
            }
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(err) => {
            diagnostics.push(Diagnostic::error(
                &source,
                format!("cannot read the state file: {err}"),
            ));
            return findings;
        }
    };
    let findings = findings::apply_history(findings, previous, at);
    if let Err(err) = fs::write(path, scopegraph_report::to_state(&findings)) {
        diagnostics.push(Diagnostic::error(
            &source,
            format!("cannot write the state file: {err}"),
        ));
    }
    findings
}

/// The cloud principals an agent reaches (everything but Kubernetes subjects).
fn identities(candidates: &[Candidate], agent: &str) -> Vec<String> {
    let mut out: Vec<String> = candidates
        .iter()
        .filter(|c| c.agent == agent && c.cloud != scopegraph_core::Cloud::Kubernetes)
        .map(|c| c.principal.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Slices of about `size` candidates, never splitting the grants of one
/// agent and source (candidates sorted by them).
fn batches(candidates: &[Candidate], size: usize) -> Vec<&[Candidate]> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < candidates.len() {
        let mut end = (start + size.max(1)).min(candidates.len());
        while let (Some(last), Some(next)) = (candidates.get(end - 1), candidates.get(end)) {
            if last.agent != next.agent || last.grant.source != next.grant.source {
                break;
            }
            end += 1;
        }
        out.extend(candidates.get(start..end));
        start = end;
    }
    out
}

fn write_artifacts(dir: &Path, findings: &mut [Finding], diagnostics: &mut Vec<Diagnostic>) {
    for finding in findings.iter_mut() {
        let Some(reduction) = &finding.reduction else {
            continue;
        };
        for artifact in &reduction.artifacts {
            // Paths were checked by the runtime to stay under `dir`.
            let path = dir.join(&artifact.path);
            let written = path
                .parent()
                .map_or(Ok(()), fs::create_dir_all)
                .and_then(|()| fs::write(&path, &artifact.content));
            if let Err(err) = written {
                diagnostics.push(Diagnostic::error(
                    path.display().to_string(),
                    format!("cannot write artifact: {err}"),
                ));
            }
        }
    }
}

pub(crate) fn audit(args: &AuditArgs, runtime: &RuntimeArgs, io: &mut Io<'_>) -> u8 {
    let report = match build_report(args, runtime) {
        Ok(report) => report,
        Err(message) => {
            io.diagnostic("error", "audit", &message, None);
            return EXIT_USAGE;
        }
    };
    emit(args, &report, io)
}

/// Print or write the report, print its diagnostics, and pick the exit code.
pub(crate) fn emit(args: &AuditArgs, report: &RunReport, io: &mut Io<'_>) -> u8 {
    let rendered = match args.format {
        Format::Table => scopegraph_report::to_table(report),
        Format::Json => scopegraph_report::to_json(report),
        Format::Sarif => scopegraph_report::to_sarif(report),
        Format::Markdown => scopegraph_report::to_markdown(report),
    };
    match &args.output {
        Some(path) => {
            if let Err(err) = fs::write(path, &rendered) {
                io.diagnostic(
                    "error",
                    &path.display().to_string(),
                    &format!("cannot write the report: {err}"),
                    None,
                );
                return EXIT_INCOMPLETE;
            }
        }
        None => {
            let _ = io.out.write_all(rendered.as_bytes());
        }
    }
    // Table output already lists diagnostics; the machine formats keep stdout clean.
    if args.format != Format::Table || args.output.is_some() {
        for d in &report.diagnostics {
            if d.level == scopegraph_core::Level::Error {
                io.diagnostic("error", &d.source, &d.message, None);
            }
        }
    }
    if report.incomplete() {
        return EXIT_INCOMPLETE;
    }
    match args.fail_on {
        Some(threshold) if report.findings.iter().any(|f| threshold.matches(f)) => EXIT_FINDINGS,
        _ => EXIT_OK,
    }
}

pub(crate) fn trace(args: &TraceArgs, runtime: &RuntimeArgs, io: &mut Io<'_>) -> u8 {
    let resolved = match resolve(&args.snapshots, runtime) {
        Ok(r) => r,
        Err(message) => {
            io.diagnostic("error", "trace", &message, None);
            return EXIT_USAGE;
        }
    };
    for d in resolved
        .diagnostics
        .iter()
        .filter(|d| d.level == scopegraph_core::Level::Error)
    {
        io.diagnostic("error", &d.source, &d.message, None);
    }
    let Some(agent) = resolved.agents.iter().find(|a| a.id == args.agent) else {
        let known: Vec<&str> = resolved.agents.iter().map(|a| a.id.as_str()).collect();
        io.diagnostic(
            "error",
            &args.agent,
            "no such agent in the snapshot",
            Some(&format!(
                "agents are CLUSTER/NAMESPACE/KIND/NAME; found: {}",
                known.join(", ")
            )),
        );
        return EXIT_USAGE;
    };
    let reach = Reach::compute(&resolved.graph);
    let scope = scope::effective_scope(&resolved.graph, &reach, agent);
    let latent = scope::latent_edges(&resolved.graph, agent);
    let rendered = match args.format {
        TraceFormat::Text => {
            let mut text = trace_text(agent, &scope);
            for (edge, target) in &latent {
                text.push_str(&format!(
                    "\nlatent: {} could reach {target} via {} (not wired, not counted)\n",
                    edge.from, edge.via
                ));
            }
            text
        }
        TraceFormat::Json => trace_json(agent, &scope),
        TraceFormat::Dot => trace_dot(agent, &scope),
    };
    let _ = io.out.write_all(rendered.as_bytes());
    let incomplete = resolved
        .diagnostics
        .iter()
        .any(|d| d.level == scopegraph_core::Level::Error);
    if incomplete { EXIT_INCOMPLETE } else { EXIT_OK }
}

fn trace_text(agent: &Agent, scope: &[scope::ScopeEntry<'_>]) -> String {
    use std::fmt::Write as _;
    let mut out = format!("{} ({} grant(s))\n", agent.id, scope.len());
    for entry in scope {
        let _ = writeln!(
            out,
            "\n{} [{}]\n  permissions: {}\n  resources:   {}\n  {}: {}",
            entry.grant.source,
            scopegraph_core::findings::cloud_name(entry.grant.cloud),
            entry.grant.permissions.join(", "),
            entry.grant.resources.join(", "),
            if entry.owned { "owned" } else { "inherited" },
            entry.reason
        );
        for (i, path) in entry.paths.iter().enumerate() {
            let _ = writeln!(out, "  chain {}:", i + 1);
            for (depth, hop) in path.iter().enumerate() {
                let via = if hop.via.is_empty() {
                    String::new()
                } else {
                    format!("  via {}", hop.via)
                };
                let _ = writeln!(
                    out,
                    "    {}└─ {} ({}){via}",
                    "   ".repeat(depth),
                    hop.node,
                    hop.kind
                );
            }
        }
    }
    out
}

fn trace_json(agent: &Agent, scope: &[scope::ScopeEntry<'_>]) -> String {
    let grants: Vec<serde_json::Value> = scope
        .iter()
        .map(|e| {
            serde_json::json!({
                "source": e.grant.source,
                "cloud": scopegraph_core::findings::cloud_name(e.grant.cloud),
                "holder": e.grant.holder,
                "permissions": e.grant.permissions,
                "resources": e.grant.resources,
                "owned": e.owned,
                "reason": e.reason,
                "chains": e.paths.iter().map(|p| p.iter().map(|h| serde_json::json!({"node": h.node, "kind": h.kind, "via": h.via})).collect::<Vec<_>>()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = serde_json::json!({"agent": agent.id, "service_account": agent.service_account, "grants": grants});
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

fn trace_dot(agent: &Agent, scope: &[scope::ScopeEntry<'_>]) -> String {
    use std::collections::BTreeSet;
    use std::fmt::Write as _;
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut nodes = BTreeSet::new();
    let mut edges = BTreeSet::new();
    for entry in scope {
        for path in &entry.paths {
            for pair in path.windows(2) {
                if let [a, b] = pair {
                    nodes.insert((a.node.clone(), a.kind.clone()));
                    nodes.insert((b.node.clone(), b.kind.clone()));
                    edges.insert((a.node.clone(), b.node.clone(), b.via.clone(), ""));
                }
            }
            if let Some(last) = path.last() {
                nodes.insert((last.node.clone(), last.kind.clone()));
                let style = if entry.owned { "solid" } else { "dashed" };
                edges.insert((
                    last.node.clone(),
                    format!("grant:{}", entry.grant.id),
                    String::new(),
                    style,
                ));
            }
        }
        nodes.insert((format!("grant:{}", entry.grant.id), "grant".into()));
    }
    let mut out = format!("digraph {} {{\n  rankdir=LR;\n", quote(&agent.id));
    for (id, kind) in &nodes {
        let shape = if kind == "grant" { "note" } else { "box" };
        let _ = writeln!(
            out,
            "  {} [shape={shape}, label={}];",
            quote(id),
            quote(&format!("{id}\\n({kind})"))
        );
    }
    for (from, to, via, style) in &edges {
        let style = if style.is_empty() {
            String::new()
        } else {
            format!(", style={style}")
        };
        let _ = writeln!(
            out,
            "  {} -> {} [label={}{style}];",
            quote(from),
            quote(to),
            quote(via)
        );
    }
    out.push_str("}\n");
    out
}
