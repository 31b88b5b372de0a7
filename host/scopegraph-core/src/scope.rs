//! Agents, their effective scope, and who owns each grant on the way.
//!
//! Ownership is decided on the chain, not on the grant: a grant is *owned*
//! when every hop from the workload to the grant's holder is the agent's
//! own (reached by no other workload) and no hop goes through a group, a
//! transitive assumption or impersonation, or a node-identity fallback.
//! Anything else is *inherited*, with the reason of the first hop that
//! makes it so. A broad grant on the agent's own identity is owned.

use crate::graph::{IdentityGraph, attribute};
use crate::ids::{agent_id, stable_hash};
use crate::{Candidate, Diagnostic, Grant, GrantContext, Hop, Usage};
use petgraph::graph::NodeIndex;
use std::collections::{HashMap, HashSet, VecDeque};

/// Longest chain followed from a workload (hops).
const MAX_DEPTH: usize = 12;
/// Paths kept per grant: enough to show alternatives, bounded for huge graphs.
const MAX_PATHS_PER_GRANT: usize = 8;

/// Edge kinds whose crossing makes everything beyond inherited: the
/// mechanism's name (as candidates carry it) and how to say it.
const INHERITING_EDGES: &[(&str, &str, &str)] = &[
    ("member-of", "group", "reached through group"),
    ("assumes", "assumption", "transitive role assumption into"),
    ("impersonates", "impersonation", "impersonation of"),
    (
        "node-fallback",
        "node-fallback",
        "node identity fallback to",
    ),
];

/// Why the rest of a chain is not the agent's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inheritance {
    /// One line per inheriting hop, in chain order.
    pub reasons: Vec<String>,
    /// `group`, `shared-identity`, `assumption`, `impersonation`, `node-fallback`.
    pub mechanisms: Vec<String>,
    /// Index in the chain of the first hop that is not the agent's own.
    pub first_hop: Option<u32>,
}

/// A workload that is an agent.
#[derive(Debug, Clone)]
pub struct Agent {
    /// `CLUSTER/NAMESPACE/KIND/NAME`.
    pub id: String,
    pub node: NodeIndex,
    /// `system:serviceaccount:NS:NAME`, when known.
    pub service_account: Option<String>,
    pub pods: u32,
    /// Listed in `scopegraph.yaml` (as opposed to labelled).
    pub declared: bool,
}

/// The workloads that are agents: labelled `scopegraph.io/agent: "true"`
/// (the provider sets attribute `agent`) or declared by id.
pub fn agents(graph: &IdentityGraph, declared: &[String]) -> (Vec<Agent>, Vec<Diagnostic>) {
    let declared_set: HashSet<&str> = declared.iter().map(String::as_str).collect();
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    for (ix, gn) in graph.nodes() {
        if gn.node.kind != "workload" {
            continue;
        }
        let id = agent_id(&gn.node.id);
        let labelled = attribute(&gn.node, "agent") == Some("true");
        let is_declared = declared_set.contains(id.as_str());
        if !(labelled || is_declared) {
            continue;
        }
        seen.insert(id.clone());
        let service_account = graph
            .out_edges(ix)
            .find(|(_, e)| e.kind == "runs-as")
            .and_then(|(to, _)| graph.node(to))
            .map(|sa| sa.node.name.clone());
        let pods = attribute(&gn.node, "pods")
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        found.push(Agent {
            id,
            node: ix,
            service_account,
            pods,
            declared: is_declared,
        });
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    let diagnostics = declared
        .iter()
        .filter(|id| !seen.contains(id.as_str()))
        .map(|id| {
            Diagnostic::warning(
                "scopegraph.yaml",
                format!("declared agent {id} matches no workload in the snapshot"),
            )
        })
        .collect();
    (found, diagnostics)
}

/// How many workloads reach each node: the basis of "shared".
#[derive(Debug, Default)]
pub struct Reach {
    workloads: HashMap<NodeIndex, u32>,
}

impl Reach {
    pub fn compute(graph: &IdentityGraph) -> Reach {
        let mut workloads: HashMap<NodeIndex, u32> = HashMap::new();
        for (start, gn) in graph.nodes() {
            if gn.node.kind != "workload" {
                continue;
            }
            let mut seen = HashSet::from([start]);
            let mut queue = VecDeque::from([start]);
            while let Some(ix) = queue.pop_front() {
                for (to, _) in graph.out_edges(ix) {
                    if seen.insert(to) {
                        *workloads.entry(to).or_default() += 1;
                        queue.push_back(to);
                    }
                }
            }
        }
        Reach { workloads }
    }

    fn count(&self, ix: NodeIndex) -> u32 {
        self.workloads.get(&ix).copied().unwrap_or(0)
    }
}

/// One grant an agent can exercise, with the chains that give it.
#[derive(Debug, Clone)]
pub struct ScopeEntry<'g> {
    pub grant: &'g Grant,
    /// Chains from the workload to the grant's holder, best first
    /// (owned before inherited, then shortest).
    pub paths: Vec<Vec<Hop>>,
    pub owned: bool,
    pub reason: String,
    /// Empty when owned.
    pub inheritance: Inheritance,
}

/// Every allow-grant reachable from the agent's workload.
pub fn effective_scope<'g>(
    graph: &'g IdentityGraph,
    reach: &Reach,
    agent: &Agent,
) -> Vec<ScopeEntry<'g>> {
    let mut found: HashMap<*const Grant, ScopeEntry<'g>> = HashMap::new();
    let mut order = Vec::new();
    let Some(start) = graph.node(agent.node) else {
        return Vec::new();
    };
    let first = Hop {
        node: start.node.id.clone(),
        kind: start.node.kind.clone(),
        via: String::new(),
    };
    let mut stack = vec![(
        agent.node,
        vec![first],
        vec![agent.node],
        Inheritance::default(),
    )];
    while let Some((ix, hops, visited, inherited)) = stack.pop() {
        for grant in graph.grants_of(ix) {
            if grant.effect == scopegraph_sdk::Effect::Deny {
                continue;
            }
            let owned = inherited.reasons.is_empty();
            let reason = if owned {
                owned_reason(graph, ix, &hops)
            } else {
                inherited.reasons.join("; ")
            };
            let key = grant as *const Grant;
            let entry = found.entry(key).or_insert_with(|| {
                order.push(key);
                ScopeEntry {
                    grant,
                    paths: Vec::new(),
                    owned,
                    reason: reason.clone(),
                    inheritance: inherited.clone(),
                }
            });
            if owned && !entry.owned {
                entry.owned = true;
                entry.reason = reason;
                entry.inheritance = Inheritance::default();
                entry.paths.insert(0, hops.clone());
            } else if entry.paths.len() < MAX_PATHS_PER_GRANT {
                entry.paths.push(hops.clone());
            }
        }
        if hops.len() > MAX_DEPTH {
            continue;
        }
        for (to, edge) in graph.out_edges(ix) {
            // A latent trust could be used but is not wired: `trace` shows it, scope does not count it.
            if visited.contains(&to) || is_latent(&edge.kind) {
                continue;
            }
            let Some(target) = graph.node(to) else {
                continue;
            };
            let mut inherited = inherited.clone();
            if let Some((mechanism, reason)) =
                inheritance(edge.kind.as_str(), &edge.via, target, reach.count(to))
            {
                inherited.first_hop.get_or_insert(hops.len() as u32);
                inherited.mechanisms.push(mechanism.to_string());
                inherited.reasons.push(reason);
            }
            let mut hops = hops.clone();
            hops.push(Hop {
                node: target.node.id.clone(),
                kind: target.node.kind.clone(),
                via: edge.via.clone(),
            });
            let mut visited = visited.clone();
            visited.push(to);
            stack.push((to, hops, visited, inherited));
        }
    }
    let mut entries: Vec<ScopeEntry<'g>> =
        order.into_iter().filter_map(|k| found.remove(&k)).collect();
    for entry in &mut entries {
        let owned = entry.owned;
        entry.paths.sort_by_key(|p| (!owned, p.len()));
    }
    entries
}

/// Edges of kind `latent-…` record a trust that nothing uses yet.
pub fn is_latent(kind: &str) -> bool {
    kind.starts_with("latent")
}

/// Latent trusts reachable from the agent's own chain: what it could reach
/// if someone wired them.
pub fn latent_edges<'g>(
    graph: &'g IdentityGraph,
    agent: &Agent,
) -> Vec<(&'g crate::Edge, &'g str)> {
    let mut out = Vec::new();
    let mut frontier = vec![agent.node];
    let mut seen = HashSet::from([agent.node]);
    while let Some(ix) = frontier.pop() {
        for (to, edge) in graph.out_edges(ix) {
            let name = graph
                .node(to)
                .map(|n| n.node.name.as_str())
                .unwrap_or_default();
            if is_latent(&edge.kind) {
                out.push((edge, name));
            } else if seen.insert(to) {
                frontier.push(to);
            }
        }
    }
    out
}

/// Why crossing this edge into `target` makes the rest of the chain inherited, if it does.
fn inheritance(
    kind: &str,
    via: &str,
    target: &crate::graph::GraphNode,
    workloads: u32,
) -> Option<(&'static str, String)> {
    if let Some((_, mechanism, why)) = INHERITING_EDGES.iter().find(|(k, ..)| *k == kind) {
        return Some((mechanism, format!("{why} {} ({via})", target.node.name)));
    }
    if workloads > 1 {
        let why = format!(
            "{} is shared with {} other workload(s)",
            target.node.name,
            workloads - 1
        );
        return Some(("shared-identity", why));
    }
    None
}

fn owned_reason(graph: &IdentityGraph, holder: NodeIndex, hops: &[Hop]) -> String {
    let name = graph
        .node(holder)
        .map(|n| n.node.name.clone())
        .unwrap_or_default();
    match hops
        .last()
        .map(|h| h.via.as_str())
        .filter(|v| !v.is_empty())
    {
        Some(via) => format!("bound directly to the agent's own identity {name} via {via}"),
        None => format!("held by the agent's own workload {name}"),
    }
}

/// One candidate per (agent, grant), ready for the classifiers.
pub fn candidates(
    graph: &IdentityGraph,
    reach: &Reach,
    agents: &[Agent],
    window_days: u32,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for agent in agents {
        // What the providers know of the agent's cluster.
        let cluster = agent.id.split('/').next().unwrap_or_default();
        let mut context: Vec<(String, String)> = graph
            .lookup(&format!("k8s:{cluster}"))
            .and_then(|ix| graph.node(ix))
            .filter(|n| n.node.kind == "cluster")
            .map(|n| n.node.attributes.clone())
            .unwrap_or_default();
        context.sort();
        context.dedup();
        for entry in effective_scope(graph, reach, agent) {
            let grant = entry.grant;
            let principal = graph
                .lookup(&grant.holder)
                .and_then(|ix| graph.node(ix))
                .map(|n| n.node.name.clone())
                .unwrap_or_else(|| grant.holder.clone());
            out.push(Candidate {
                id: stable_hash(&[&agent.id, &grant.source, &grant.id]),
                agent: agent.id.clone(),
                cloud: grant.cloud,
                principal,
                permissions: dedup(&grant.permissions),
                resources: grant.resources.clone(),
                grant: GrantContext {
                    source: grant.source.clone(),
                    owned: entry.owned,
                    ownership_reason: entry.reason.clone(),
                    mechanisms: entry.inheritance.mechanisms.clone(),
                    inherited_from_hop: entry.inheritance.first_hop,
                },
                chain: entry.paths.into_iter().next().unwrap_or_default(),
                usage: Usage {
                    window_days,
                    ..Usage::default()
                },
                evidence: grant.evidence.clone(),
                context: context.clone(),
            });
        }
    }
    out
}

fn dedup(items: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    items
        .iter()
        .filter(|p| seen.insert(p.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Edge, Node, ProviderOutput};

    fn node(id: &str, kind: &str, attrs: &[(&str, &str)]) -> Node {
        Node {
            id: id.into(),
            kind: kind.into(),
            name: id.into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Node::default()
        }
    }

    fn edge(from: &str, to: &str, kind: &str, via: &str) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            kind: kind.into(),
            via: via.into(),
            ..Edge::default()
        }
    }

    fn grant(id: &str, holder: &str, permissions: &[&str]) -> Grant {
        Grant {
            id: id.into(),
            holder: holder.into(),
            source: id.into(),
            permissions: permissions.iter().map(|s| s.to_string()).collect(),
            ..Grant::default()
        }
    }

    /// Two agents; `a` has its own SA, `b` shares the `shared` SA with a
    /// non-agent workload; every SA is in the `all-sas` group.
    fn graph() -> IdentityGraph {
        let out = ProviderOutput {
            nodes: vec![
                node("k8s:c/ns/Deployment/a", "workload", &[("agent", "true")]),
                node("k8s:c/ns/Deployment/b", "workload", &[("agent", "true")]),
                node("k8s:c/ns/Deployment/web", "workload", &[]),
                node("sa-a", "service-account", &[]),
                node("shared", "service-account", &[]),
                node("all-sas", "group", &[]),
            ],
            edges: vec![
                edge(
                    "k8s:c/ns/Deployment/a",
                    "sa-a",
                    "runs-as",
                    "spec.serviceAccountName",
                ),
                edge(
                    "k8s:c/ns/Deployment/b",
                    "shared",
                    "runs-as",
                    "spec.serviceAccountName",
                ),
                edge(
                    "k8s:c/ns/Deployment/web",
                    "shared",
                    "runs-as",
                    "spec.serviceAccountName",
                ),
                edge("sa-a", "all-sas", "member-of", "implicit group"),
                edge("shared", "all-sas", "member-of", "implicit group"),
            ],
            grants: vec![
                grant("own", "sa-a", &["secrets:get", "secrets:get"]),
                grant("group", "all-sas", &["pods:list"]),
                grant("via-shared", "shared", &["configmaps:get"]),
            ],
            diagnostics: vec![],
        };
        IdentityGraph::build(vec![("test".into(), out)]).0
    }

    #[test]
    fn candidates_carry_what_the_providers_know_of_the_agents_cluster() {
        let k8s = ProviderOutput {
            nodes: vec![
                node("k8s:c/ns/Deployment/a", "workload", &[("agent", "true")]),
                node("sa-a", "service-account", &[]),
                node(
                    "k8s:c",
                    "cluster",
                    &[("eks:oidc-issuer", "https://oidc.example/id/1")],
                ),
            ],
            edges: vec![edge(
                "k8s:c/ns/Deployment/a",
                "sa-a",
                "runs-as",
                "spec.serviceAccountName",
            )],
            grants: vec![grant("own", "sa-a", &["secrets:get"])],
            diagnostics: vec![],
        };
        // Another provider knows other facts of the same cluster.
        let gcp = ProviderOutput {
            nodes: vec![node(
                "k8s:c",
                "cluster",
                &[("gke:workload-pool", "p.svc.id.goog")],
            )],
            ..ProviderOutput::default()
        };
        let g = IdentityGraph::build(vec![("k8s".into(), k8s), ("gcp".into(), gcp)]).0;
        let reach = Reach::compute(&g);
        let (agents, _) = agents(&g, &[]);
        let cands = candidates(&g, &reach, &agents, 14);
        assert_eq!(cands.len(), 1);
        assert_eq!(
            cands[0].context,
            vec![
                (
                    "eks:oidc-issuer".to_string(),
                    "https://oidc.example/id/1".to_string()
                ),
                ("gke:workload-pool".to_string(), "p.svc.id.goog".to_string()),
            ]
        );
        assert_eq!(cands[0].context("gke:workload-pool"), Some("p.svc.id.goog"));
    }

    #[test]
    fn ownership_follows_the_chain() {
        let g = graph();
        let reach = Reach::compute(&g);
        let (agents, diags) = agents(&g, &["c/ns/Deployment/missing".into()]);
        assert_eq!(
            agents.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            ["c/ns/Deployment/a", "c/ns/Deployment/b"]
        );
        assert_eq!(
            diags.len(),
            1,
            "the declared agent that does not exist is reported"
        );

        let cands = candidates(&g, &reach, &agents, 14);
        let summary: Vec<(&str, &str, bool)> = cands
            .iter()
            .map(|c| (c.agent.as_str(), c.grant.source.as_str(), c.grant.owned))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("c/ns/Deployment/a", "own", true),
                ("c/ns/Deployment/a", "group", false),
                ("c/ns/Deployment/b", "via-shared", false),
                ("c/ns/Deployment/b", "group", false),
            ]
        );
        assert_eq!(
            cands[0].permissions,
            vec!["secrets:get"],
            "duplicates folded"
        );
        assert!(
            cands[1]
                .grant
                .ownership_reason
                .starts_with("reached through group all-sas")
        );
        assert!(
            cands[2]
                .grant
                .ownership_reason
                .contains("shared with 1 other workload")
        );
        assert_eq!(cands[1].grant.mechanisms, vec!["group"]);
        assert_eq!(
            cands[1].grant.inherited_from_hop,
            Some(2),
            "the group is hop 2"
        );
        assert_eq!(cands[2].grant.mechanisms, vec!["shared-identity"]);
        assert_eq!(
            cands[2].grant.inherited_from_hop,
            Some(1),
            "the shared SA is hop 1"
        );
        assert!(
            cands[0].grant.mechanisms.is_empty() && cands[0].grant.inherited_from_hop.is_none()
        );
        assert_eq!(cands[0].chain.len(), 2);
        assert_eq!(cands[0].chain[1].via, "spec.serviceAccountName");
    }

    #[test]
    fn latent_trusts_are_shown_not_counted_and_reasons_accumulate() {
        let out = ProviderOutput {
            nodes: vec![
                node("k8s:c/ns/Deployment/a", "workload", &[("agent", "true")]),
                node("sa-a", "service-account", &[]),
                node("all-sas", "group", &[]),
                node("latent-role", "cloud-identity", &[]),
                node("node-role", "cloud-identity", &[]),
            ],
            edges: vec![
                edge(
                    "k8s:c/ns/Deployment/a",
                    "sa-a",
                    "runs-as",
                    "spec.serviceAccountName",
                ),
                edge("sa-a", "all-sas", "member-of", "implicit group"),
                edge(
                    "sa-a",
                    "latent-role",
                    "latent-federates-to",
                    "trust policy without annotation",
                ),
                edge("all-sas", "node-role", "node-fallback", "IMDS"),
            ],
            grants: vec![
                grant("latent", "latent-role", &["s3:*"]),
                grant("node", "node-role", &["ec2:*"]),
            ],
            diagnostics: vec![],
        };
        let g = IdentityGraph::build(vec![("test".into(), out)]).0;
        let reach = Reach::compute(&g);
        let (agents, _) = agents(&g, &[]);
        let cands = candidates(&g, &reach, &agents, 14);
        assert_eq!(cands.len(), 1, "the latent role's grant is not in scope");
        assert_eq!(
            cands[0].grant.ownership_reason,
            "reached through group all-sas (implicit group); node identity fallback to node-role (IMDS)"
        );
        assert_eq!(cands[0].grant.mechanisms, vec!["group", "node-fallback"]);
        let latent = latent_edges(&g, &agents[0]);
        assert_eq!(latent.len(), 1);
        assert_eq!(latent[0].1, "latent-role");
    }

    #[test]
    fn candidate_ids_are_stable_across_runs() {
        let g = graph();
        let reach = Reach::compute(&g);
        let (a, _) = agents(&g, &[]);
        let first: Vec<String> = candidates(&g, &reach, &a, 14)
            .into_iter()
            .map(|c| c.id)
            .collect();
        let second: Vec<String> = candidates(&g, &reach, &a, 14)
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(first, second);
        assert_eq!(first.iter().collect::<HashSet<_>>().len(), first.len());
    }
}
