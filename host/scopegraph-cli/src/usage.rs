//! Observed activity, credited to candidates: what each agent's identity did
//! within the window, and on how many days its logs were there to say so.

use scopegraph_core::graph::{IdentityGraph, attribute};
use scopegraph_core::scope::Agent;
use scopegraph_core::spelling::{kube_allows, kube_nonresource};
use scopegraph_core::whocan::{Query, rule_allows};
use scopegraph_core::{Candidate, Cloud, Diagnostic};
use scopegraph_observe::{
    AzureIdKind, Day, IdentityKey, Ingest, ObservedUsage, Principal, ServiceAccount, Source,
    UsageModel,
};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Stream every activity file into one usage model.
pub(crate) fn observe(files: &[PathBuf]) -> (UsageModel, Vec<Diagnostic>) {
    let mut ingest = Ingest::new();
    for file in files {
        ingest.read_path(file);
    }
    ingest.finish()
}

/// One line per log source: what was read and what could not be used.
pub(crate) fn summary(model: &UsageModel) -> Vec<Diagnostic> {
    Source::ALL
        .iter()
        .filter_map(|&source| {
            let s = model.stats(source);
            (s.records > 0).then(|| {
                Diagnostic::info(
                    source.id(),
                    format!(
                        "{} record(s): {} credited as use, {} not a use (denied, read-only plumbing...), \
                         {} unattributable, {} with an action unknown to the catalogue, {} malformed",
                        s.records,
                        s.used,
                        s.not_use_total(),
                        s.unattributable,
                        s.unknown_action,
                        s.malformed
                    ),
                )
            })
        })
        .collect()
}

fn day_of(timestamp: &str) -> Option<Day> {
    Day::parse(timestamp.get(..10)?)
}

fn source_of(cloud: Cloud) -> Source {
    match cloud {
        Cloud::Aws => Source::CloudTrail,
        Cloud::Gcp => Source::GcpAudit,
        Cloud::Azure => Source::AzureActivity,
        Cloud::Kubernetes => Source::KubernetesAudit,
    }
}

/// The identity that exercises a candidate's grant, as the logs name it.
fn identity(
    candidate: &Candidate,
    service_account: Option<&ServiceAccount>,
) -> Option<IdentityKey> {
    if candidate.cloud == Cloud::Kubernetes {
        return service_account
            .map(|sa| IdentityKey::new(Principal::KubernetesServiceAccount(sa.clone())));
    }
    let holder = candidate.chain.last().map(|hop| hop.node.as_str())?;
    let key = match candidate.cloud {
        Cloud::Aws => {
            let arn = holder.strip_prefix("aws:")?;
            IdentityKey::aws_role(arn)
                .unwrap_or_else(|| IdentityKey::new(Principal::Aws(arn.to_string())))
        }
        Cloud::Gcp => IdentityKey::new(Principal::Gcp(
            holder.strip_prefix("gcp:serviceAccount:")?.to_string(),
        )),
        Cloud::Azure => IdentityKey::new(Principal::Azure {
            kind: AzureIdKind::ObjectId,
            id: holder.strip_prefix("azure:")?.to_ascii_lowercase(),
        }),
        Cloud::Kubernetes => return None,
    };
    // An identity the agent owns is its alone: everything it did is the
    // agent's. A shared one only counts what the logs tie to this agent.
    Some(match (candidate.grant.owned, service_account) {
        (false, Some(sa)) => key.with_service_account(sa.clone()),
        _ => key,
    })
}

/// Fill each candidate's `usage` from the model, for the window `[start, end)`.
pub(crate) fn credit(
    candidates: &mut [Candidate],
    agents: &[Agent],
    graph: &IdentityGraph,
    model: &UsageModel,
    start: &str,
    end: &str,
) {
    let (Some(start), Some(end)) = (day_of(start), day_of(end)) else {
        return;
    };
    for candidate in candidates.iter_mut() {
        let Some(agent) = agents.iter().find(|a| a.id == candidate.agent) else {
            continue;
        };
        let service_account = agent
            .service_account
            .as_deref()
            .and_then(ServiceAccount::from_username);
        let workload = graph.node(agent.node).map(|n| &n.node);
        if let Some(kind) = RuntimeGrant::of(candidate) {
            if let Some(workload) = workload {
                credit_runtime(candidate, kind, workload);
            }
            continue;
        }
        // Days the workload existed and its logs were present.
        let created = graph
            .node(agent.node)
            .and_then(|n| attribute(&n.node, "created"))
            .and_then(day_of)
            .unwrap_or(start);
        let from = created.max(start);
        let days: BTreeSet<Day> = model
            .log_days(source_of(candidate.cloud))
            .into_iter()
            .filter(|d| *d >= from && *d < end)
            .collect();
        candidate.usage.observed_days = u32::try_from(days.len()).unwrap_or(u32::MAX);

        let Some(key) = identity(candidate, service_account.as_ref()) else {
            continue;
        };
        let observed = model.usage(&key, start, end);
        if candidate.cloud == Cloud::Kubernetes {
            credit_kubernetes(candidate, &observed);
            continue;
        }
        // AWS action names and Azure operations are case-insensitive.
        let fold = |p: &str| match candidate.cloud {
            Cloud::Aws | Cloud::Azure => p.to_ascii_lowercase(),
            _ => p.to_string(),
        };
        let used: BTreeSet<String> = observed.permissions.keys().map(|p| fold(p)).collect();
        candidate.usage.used_permissions = candidate
            .permissions
            .iter()
            .filter(|p| used.contains(&fold(p)))
            .cloned()
            .collect();
        let credited: BTreeSet<String> = candidate
            .usage
            .used_permissions
            .iter()
            .map(|p| fold(p))
            .collect();
        let resources: BTreeSet<&String> = observed
            .permissions
            .iter()
            .filter(|(p, _)| credited.contains(&fold(p)))
            .flat_map(|(_, u)| &u.resources)
            .collect();
        candidate.usage.used_resources = resources.into_iter().cloned().collect();
    }
}

/// Kubernetes grants are RBAC rules with wildcards: an observed request
/// (`pods:get` on `ns/pods/web-0`) is credited to the rule when the RBAC
/// authorizer would let the rule allow it, and `used_permissions` lists
/// the concrete requests, so a rule of `*` shows what it was used for.
fn credit_kubernetes(candidate: &mut Candidate, observed: &ObservedUsage) {
    let cluster_wide = candidate.resources.iter().any(|r| r.starts_with("*/"));
    let mut used = BTreeSet::new();
    let mut resources = BTreeSet::new();
    for (permission, usage) in &observed.permissions {
        if kube_nonresource(permission).is_some() {
            if candidate
                .permissions
                .iter()
                .any(|granted| kube_allows(granted, permission))
            {
                used.insert(permission.clone());
            }
            continue;
        }
        let targets: Vec<Option<&str>> = if usage.resources.is_empty() {
            vec![None]
        } else {
            usage.resources.iter().map(|r| Some(r.as_str())).collect()
        };
        for target in targets {
            let Some(query) = Query::observed(permission, target) else {
                continue;
            };
            // A request outside any namespace needs a cluster-wide rule.
            if target.is_some() && query.namespace.is_none() && !cluster_wide {
                continue;
            }
            if rule_allows(&candidate.permissions, &candidate.resources, &query) {
                used.insert(permission.clone());
                if let Some(target) = target {
                    resources.insert(target.to_string());
                }
            }
        }
    }
    candidate.usage.used_permissions = used.into_iter().collect();
    candidate.usage.used_resources = resources.into_iter().collect();
}

/// The run-time grants the Kubernetes provider gives a profiled workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuntimeGrant {
    Egress,
    Syscalls,
}

impl RuntimeGrant {
    fn of(candidate: &Candidate) -> Option<RuntimeGrant> {
        if candidate.cloud != Cloud::Kubernetes {
            return None;
        }
        match candidate.permissions.first().map(String::as_str) {
            Some("egress:connect") if candidate.permissions.len() == 1 => {
                Some(RuntimeGrant::Egress)
            }
            Some(p) if p.starts_with("syscall:") => Some(RuntimeGrant::Syscalls),
            _ => None,
        }
    }
}

/// Run-time behaviour is observed by Kubescape, not logged per day: a
/// profile Kubescape finished learning counts as the whole window, an
/// unfinished one (it missed the containers' start-up) as none.
fn credit_runtime(candidate: &mut Candidate, kind: RuntimeGrant, workload: &scopegraph_core::Node) {
    let (status, observed) = match kind {
        RuntimeGrant::Egress => ("observed:egress-profile", "observed:egress"),
        RuntimeGrant::Syscalls => ("observed:syscall-profile", "observed:syscalls"),
    };
    let complete = attribute(workload, status) == Some("complete");
    candidate.usage.observed_days = if complete {
        candidate.usage.window_days
    } else {
        0
    };
    let observed = attribute(workload, observed).unwrap_or_default();
    match kind {
        RuntimeGrant::Egress => {
            candidate.usage.used_resources = observed
                .lines()
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            if !candidate.usage.used_resources.is_empty() {
                candidate.usage.used_permissions = vec!["egress:connect".into()];
            }
        }
        RuntimeGrant::Syscalls => {
            candidate.usage.used_permissions = observed
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| format!("syscall:{s}"))
                .collect();
            candidate.usage.used_resources = attribute(workload, "observed:architectures")
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
        }
    }
}
