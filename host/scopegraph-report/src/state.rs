//! The `--state` file: each finding's history across runs
//! (`scopegraph.state/v1`). Enough of every finding is kept to report it
//! as `resolved` once it disappears.

use scopegraph_core::findings::{
    Finding, HistoryEntry, category_name, cloud_name, parse_category, parse_status, status_name,
};
use scopegraph_core::{Category, Cloud};
use serde::{Deserialize, Serialize};

pub const STATE_SCHEMA: &str = "scopegraph.state/v1";

#[derive(Serialize, Deserialize)]
struct StateFile {
    schema: String,
    findings: Vec<StoredFinding>,
}

#[derive(Serialize, Deserialize)]
struct StoredFinding {
    id: String,
    agent: String,
    category: String,
    #[serde(default)]
    contributing: Vec<String>,
    status: String,
    cloud: String,
    principal: String,
    permissions: Vec<String>,
    resources: Vec<String>,
    grant_source: String,
    owned: bool,
    #[serde(default)]
    ownership_reason: String,
    #[serde(default)]
    rationale: String,
    history: Vec<StoredEntry>,
}

#[derive(Serialize, Deserialize)]
struct StoredEntry {
    at: String,
    category: String,
    status: String,
}

/// Serialise the findings (with their history) as a state file.
pub fn to_state(findings: &[Finding]) -> String {
    let file = StateFile {
        schema: STATE_SCHEMA.into(),
        findings: findings
            .iter()
            .map(|f| StoredFinding {
                id: f.id.clone(),
                agent: f.agent.clone(),
                category: category_name(f.category).into(),
                contributing: f
                    .contributing
                    .iter()
                    .map(|c| category_name(*c).to_string())
                    .collect(),
                status: status_name(f.status).into(),
                cloud: cloud_name(f.cloud).into(),
                principal: f.principal.clone(),
                permissions: f.permissions.clone(),
                resources: f.resources.clone(),
                grant_source: f.grant_source.clone(),
                owned: f.owned,
                ownership_reason: f.ownership_reason.clone(),
                rationale: f.rationale.clone(),
                history: f
                    .history
                    .iter()
                    .map(|h| StoredEntry {
                        at: h.at.clone(),
                        category: category_name(h.category).into(),
                        status: status_name(h.status).into(),
                    })
                    .collect(),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&file).unwrap_or_default() + "\n"
}

fn parse_cloud(name: &str) -> Option<Cloud> {
    [Cloud::Aws, Cloud::Gcp, Cloud::Azure, Cloud::Kubernetes]
        .into_iter()
        .find(|c| cloud_name(*c) == name)
}

/// Read a state file back into findings (without chains or evidence).
pub fn from_state(text: &str) -> Result<Vec<Finding>, String> {
    let file: StateFile =
        serde_json::from_str(text).map_err(|e| format!("line {}: {e}", e.line()))?;
    if file.schema != STATE_SCHEMA {
        return Err(format!("schema {:?} is not {STATE_SCHEMA}", file.schema));
    }
    let category =
        |name: &str| parse_category(name).ok_or_else(|| format!("unknown category {name:?}"));
    let status = |name: &str| parse_status(name).ok_or_else(|| format!("unknown status {name:?}"));
    file.findings
        .into_iter()
        .map(|s| {
            Ok(Finding {
                category: category(&s.category)?,
                contributing: s
                    .contributing
                    .iter()
                    .map(|c| category(c))
                    .collect::<Result<Vec<Category>, _>>()?,
                status: status(&s.status)?,
                cloud: parse_cloud(&s.cloud)
                    .ok_or_else(|| format!("unknown cloud {:?}", s.cloud))?,
                history: s
                    .history
                    .iter()
                    .map(|h| {
                        Ok(HistoryEntry {
                            at: h.at.clone(),
                            category: category(&h.category)?,
                            status: status(&h.status)?,
                        })
                    })
                    .collect::<Result<_, String>>()?,
                id: s.id,
                agent: s.agent,
                principal: s.principal,
                permissions: s.permissions,
                resources: s.resources,
                grant_source: s.grant_source,
                owned: s.owned,
                ownership_reason: s.ownership_reason,
                chain: Vec::new(),
                rationale: s.rationale,
                evidence: Vec::new(),
                reduction: None,
                misroute: String::new(),
                classified_by: Vec::new(),
            })
        })
        .collect()
}
