//! `--format sarif`: SARIF 2.1.0, for code-scanning dashboards.
//!
//! Each finding is a result of the rule named after its category, located
//! in the snapshot file that holds the binding or policy it is about (when
//! the evidence names one) and, logically, at the agent.

use crate::{RunReport, level_name};
use scopegraph_core::findings::{Finding, category_name, cloud_name, status_name};
use scopegraph_core::{Category, Status};
use serde_json::{Value, json};

const RULES: &[(Category, &str, &str)] = &[
    (
        Category::UnusedExcess,
        "Granted, never exercised over the observation window.",
        "Scope the grant down to what was observed (replacement policy or custom role in the artifacts).",
    ),
    (
        Category::UnjustifiedUse,
        "Exercised, but not by a legitimate prompt -> tool call -> API chain.",
        "Guardrail the behaviour (tool-call policy, prompt-context constraint); the IAM role stays.",
    ),
    (
        Category::InheritedOverreach,
        "The scope comes from a binding outside the agent's own provisioning.",
        "Give the agent its own identity and remove or narrow the upstream binding.",
    ),
];

/// The snapshot file behind an evidence reference (`doc-3#/items/4`).
fn evidence_file<'a>(report: &'a RunReport, finding: &Finding) -> Option<&'a str> {
    finding.evidence.iter().find_map(|e| {
        let id = e.reference.split('#').next().unwrap_or_default();
        report.documents.get(id).map(String::as_str)
    })
}

/// `path (document 2)` or `path:17` -> `path`.
fn file_part(source: &str) -> &str {
    let source = source.split(" (document ").next().unwrap_or(source);
    match source.rsplit_once(':') {
        Some((path, line)) if line.chars().all(|c| c.is_ascii_digit()) => path,
        _ => source,
    }
}

fn result(report: &RunReport, f: &Finding) -> Option<Value> {
    let level = match f.status {
        Status::Open => "warning",
        Status::InsufficientObservation => "note",
        Status::Resolved => return None,
    };
    let logical = json!([{"name": f.agent, "fullyQualifiedName": f.agent, "kind": "resource"}]);
    let location = match evidence_file(report, f) {
        Some(file) => json!({
            "physicalLocation": {"artifactLocation": {"uri": file_part(file)}},
            "logicalLocations": logical,
        }),
        None => json!({"logicalLocations": logical}),
    };
    Some(json!({
        "ruleId": category_name(f.category),
        "level": level,
        "message": {"text": format!("{}: {} ({})", f.agent, f.rationale, f.permissions.join(", "))},
        "locations": [location],
        "partialFingerprints": {"scopegraphFinding/v1": f.id},
        "properties": {
            "status": status_name(f.status),
            "cloud": cloud_name(f.cloud),
            "principal": f.principal,
            "permissions": f.permissions,
            "resources": f.resources,
            "grant": {"source": f.grant_source, "owned": f.owned},
            "contributing": f.contributing.iter().map(|c| category_name(*c)).collect::<Vec<_>>(),
        },
    }))
}

pub fn to_sarif(report: &RunReport) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|(category, description, help)| {
            json!({
                "id": category_name(*category),
                "shortDescription": {"text": description},
                "help": {"text": help},
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .filter_map(|f| result(report, f))
        .collect();
    let notifications: Vec<Value> = report
        .diagnostics
        .iter()
        .map(|d| {
            let level = match level_name(d.level) {
                "error" => "error",
                "warning" => "warning",
                _ => "note",
            };
            json!({"level": level, "message": {"text": format!("{}: {}", d.source, d.message)}})
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "scopegraph",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/scopegraph/scopegraph",
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": !report.incomplete(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
