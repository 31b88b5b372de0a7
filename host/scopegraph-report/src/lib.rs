//! Render a run's results. The serialised shapes here are the user-facing
//! contract (`scopegraph.findings/v1`); the core's types are converted by
//! hand so that a change in the core never silently changes the schema.

use scopegraph_core::findings::{Finding, category_name, cloud_name, status_name};
use scopegraph_core::{Diagnostic, Level};
use serde::Serialize;
use std::fmt::Write;

mod sarif;
mod state;
pub use sarif::to_sarif;
pub use state::{STATE_SCHEMA, from_state, to_state};

pub const SCHEMA: &str = "scopegraph.findings/v1";

/// Everything a report shows.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    pub window_start: String,
    pub window_end: String,
    pub agents: Vec<AgentSummary>,
    pub findings: Vec<Finding>,
    pub diagnostics: Vec<Diagnostic>,
    /// Input document id -> where it was read from, to locate evidence.
    pub documents: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentSummary {
    pub id: String,
    pub service_account: Option<String>,
    pub identities: Vec<String>,
    pub pods: u32,
    pub observed_days: u32,
}

impl RunReport {
    /// True when an input could not be read or a plugin failed.
    pub fn incomplete(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    schema: &'static str,
    window: JsonWindow<'a>,
    agents: Vec<JsonAgent<'a>>,
    findings: Vec<JsonFinding<'a>>,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

#[derive(Serialize)]
struct JsonWindow<'a> {
    start: &'a str,
    end: &'a str,
}

#[derive(Serialize)]
struct JsonAgent<'a> {
    id: &'a str,
    service_account: Option<&'a str>,
    identities: &'a [String],
    pods: u32,
    observed_days: u32,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    id: &'a str,
    agent: &'a str,
    category: &'static str,
    contributing: Vec<&'static str>,
    status: &'static str,
    cloud: &'static str,
    principal: &'a str,
    permissions: &'a [String],
    resources: &'a [String],
    grant: JsonGrant<'a>,
    chain: Vec<JsonHop<'a>>,
    rationale: &'a str,
    evidence: Vec<JsonEvidence<'a>>,
    reduction: Option<JsonReduction<'a>>,
    misroute: &'a str,
    classified_by: &'a [String],
    history: Vec<JsonHistory>,
}

#[derive(Serialize)]
struct JsonHistory {
    at: String,
    category: &'static str,
    status: &'static str,
}

#[derive(Serialize)]
struct JsonGrant<'a> {
    source: &'a str,
    owned: bool,
    reason: &'a str,
}

#[derive(Serialize)]
struct JsonHop<'a> {
    node: &'a str,
    kind: &'a str,
    via: &'a str,
}

#[derive(Serialize)]
struct JsonEvidence<'a> {
    kind: &'a str,
    #[serde(rename = "ref")]
    reference: &'a str,
    summary: &'a str,
}

#[derive(Serialize)]
struct JsonReduction<'a> {
    kind: &'a str,
    summary: &'a str,
    artifact: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    level: &'static str,
    source: &'a str,
    message: &'a str,
}

pub fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warning",
        Level::Info | Level::Debug | Level::Trace => "info",
    }
}

/// `--format json`.
pub fn to_json(report: &RunReport) -> String {
    let doc = JsonReport {
        schema: SCHEMA,
        window: JsonWindow {
            start: &report.window_start,
            end: &report.window_end,
        },
        agents: report
            .agents
            .iter()
            .map(|a| JsonAgent {
                id: &a.id,
                service_account: a.service_account.as_deref(),
                identities: &a.identities,
                pods: a.pods,
                observed_days: a.observed_days,
            })
            .collect(),
        findings: report.findings.iter().map(json_finding).collect(),
        diagnostics: report
            .diagnostics
            .iter()
            .map(|d| JsonDiagnostic {
                level: level_name(d.level),
                source: &d.source,
                message: &d.message,
            })
            .collect(),
    };
    // Serialising plain structs of strings cannot fail.
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

fn json_finding(f: &Finding) -> JsonFinding<'_> {
    JsonFinding {
        id: &f.id,
        agent: &f.agent,
        category: category_name(f.category),
        contributing: f.contributing.iter().map(|c| category_name(*c)).collect(),
        status: status_name(f.status),
        cloud: cloud_name(f.cloud),
        principal: &f.principal,
        permissions: &f.permissions,
        resources: &f.resources,
        grant: JsonGrant {
            source: &f.grant_source,
            owned: f.owned,
            reason: &f.ownership_reason,
        },
        chain: f
            .chain
            .iter()
            .map(|h| JsonHop {
                node: &h.node,
                kind: &h.kind,
                via: &h.via,
            })
            .collect(),
        rationale: &f.rationale,
        evidence: f
            .evidence
            .iter()
            .map(|e| JsonEvidence {
                kind: &e.kind,
                reference: &e.reference,
                summary: &e.summary,
            })
            .collect(),
        reduction: f.reduction.as_ref().map(|r| JsonReduction {
            kind: &r.kind,
            summary: &r.summary,
            artifact: r.artifacts.first().map(|a| a.path.as_str()),
        }),
        misroute: &f.misroute,
        classified_by: &f.classified_by,
        history: f
            .history
            .iter()
            .map(|h| JsonHistory {
                at: h.at.clone(),
                category: category_name(h.category),
                status: status_name(h.status),
            })
            .collect(),
    }
}

/// `--format table`: one line per finding, for a terminal.
pub fn to_table(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} agent(s), {} finding(s), window {} .. {}",
        report.agents.len(),
        report.findings.len(),
        report.window_start,
        report.window_end
    );
    if !report.findings.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<20} {:<25} {:<11} {:<40} PERMISSIONS",
            "CATEGORY", "STATUS", "CLOUD", "AGENT"
        );
    }
    for f in &report.findings {
        let perms = summarise(&f.permissions, 4);
        let _ = writeln!(
            out,
            "{:<20} {:<25} {:<11} {:<40} {}",
            category_name(f.category),
            status_name(f.status),
            cloud_name(f.cloud),
            f.agent,
            perms
        );
        let _ = writeln!(
            out,
            "    via {} ({})",
            f.grant_source,
            if f.owned { "owned" } else { "inherited" }
        );
        if !f.rationale.is_empty() {
            let _ = writeln!(out, "    {}", f.rationale);
        }
    }
    write_diagnostics(&mut out, report);
    out
}

/// `--format markdown`.
pub fn to_markdown(report: &RunReport) -> String {
    let mut out = String::from("# scopegraph findings\n\n");
    let _ = writeln!(
        out,
        "Window: {} .. {}\n",
        report.window_start, report.window_end
    );
    let _ = writeln!(
        out,
        "| Agent | Service account | Pods | Observed days |\n|---|---|---|---|"
    );
    for a in &report.agents {
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {} |",
            a.id,
            a.service_account.as_deref().unwrap_or("-"),
            a.pods,
            a.observed_days
        );
    }
    let _ = writeln!(out, "\n## Findings ({})\n", report.findings.len());
    for f in &report.findings {
        let _ = writeln!(out, "### {} — `{}`\n", category_name(f.category), f.agent);
        let _ = writeln!(out, "- Status: {}", status_name(f.status));
        let _ = writeln!(
            out,
            "- Grant: `{}` ({})",
            f.grant_source,
            if f.owned { "owned" } else { "inherited" }
        );
        let _ = writeln!(
            out,
            "- Permissions: {}",
            f.permissions
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let chain: Vec<String> = f.chain.iter().map(|h| format!("`{}`", h.node)).collect();
        let _ = writeln!(out, "- Chain: {}", chain.join(" → "));
        if !f.rationale.is_empty() {
            let _ = writeln!(out, "- Why: {}", f.rationale);
        }
        if let Some(r) = &f.reduction {
            let _ = writeln!(out, "- Fix ({}): {}", r.kind, r.summary);
        }
        if !f.misroute.is_empty() {
            let _ = writeln!(out, "- If misrouted: {}", f.misroute);
        }
        out.push('\n');
    }
    if !report.diagnostics.is_empty() {
        let _ = writeln!(out, "## Diagnostics\n");
        for d in &report.diagnostics {
            let _ = writeln!(
                out,
                "- **{}** `{}`: {}",
                level_name(d.level),
                d.source,
                d.message
            );
        }
    }
    out
}

fn summarise(items: &[String], max: usize) -> String {
    let shown: Vec<&str> = items.iter().take(max).map(String::as_str).collect();
    match items.len().saturating_sub(max) {
        0 => shown.join(", "),
        more => format!("{} (+{more} more)", shown.join(", ")),
    }
}

fn write_diagnostics(out: &mut String, report: &RunReport) {
    if report.diagnostics.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{} diagnostic(s):", report.diagnostics.len());
    for d in &report.diagnostics {
        let _ = writeln!(
            out,
            "  {}: {}: {}",
            level_name(d.level),
            d.source,
            d.message
        );
    }
    if report.incomplete() {
        let _ = writeln!(out, "\nthe run is INCOMPLETE: see the errors above");
    }
}
