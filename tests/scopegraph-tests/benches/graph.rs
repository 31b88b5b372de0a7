//! Whole-organisation scale: graph build and effective scope for a
//! synthetic organisation of 5,000 agent workloads (plus as many ordinary
//! ones), 20,000 service accounts and 50,000 roles and bindings across three
//! clouds. One timed run per phase, with the process's peak memory.
//!
//! `cargo bench -p scopegraph-tests --bench graph`; results in BENCHMARKS.md.

#![allow(clippy::expect_used, clippy::indexing_slicing)]

use scopegraph_core::graph::IdentityGraph;
use scopegraph_core::scope::{self, Reach};
use scopegraph_sdk::{Cloud, Edge, Grant, Node, ProviderOutput};
use std::time::Instant;

const NAMESPACES: usize = 250;
const SAS_PER_NS: usize = 80; // 20,000 service accounts
const AGENTS_PER_NS: usize = 20; // 5,000 agents
const OTHER_WORKLOADS_PER_NS: usize = 20;
const ROLES_PER_NS: usize = 100; // 25,000 roles
const BINDINGS_PER_NS: usize = 100; // 25,000 bindings

fn node(id: String, kind: &str, cloud: Cloud, attrs: &[(&str, &str)]) -> Node {
    Node {
        name: id.clone(),
        id,
        kind: kind.into(),
        cloud,
        attributes: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        evidence: Vec::new(),
    }
}

fn edge(from: &str, to: &str, kind: &str, via: &str) -> Edge {
    Edge {
        from: from.into(),
        to: to.into(),
        kind: kind.into(),
        via: via.into(),
        evidence: Vec::new(),
    }
}

fn grant(
    id: String,
    holder: &str,
    cloud: Cloud,
    permissions: Vec<String>,
    resource: String,
) -> Grant {
    Grant {
        source: id.clone(),
        id,
        holder: holder.into(),
        cloud,
        permissions,
        resources: vec![resource],
        ..Grant::default()
    }
}

/// The Kubernetes side of three clusters, and each cloud's identities.
fn organisation() -> Vec<(String, ProviderOutput)> {
    let clusters = [
        ("eks", Cloud::Aws),
        ("gke", Cloud::Gcp),
        ("aks", Cloud::Azure),
    ];
    let mut k8s = ProviderOutput::default();
    let mut cloud = ProviderOutput::default();
    for (c, (cluster, provider_cloud)) in clusters.iter().enumerate() {
        let all = format!("k8s:{cluster}/Group/system:serviceaccounts");
        k8s.nodes
            .push(node(all.clone(), "group", Cloud::Kubernetes, &[]));
        let node_identity = format!("{cluster}:node-identity");
        cloud.nodes.push(node(
            node_identity.clone(),
            "cloud-identity",
            *provider_cloud,
            &[],
        ));
        cloud.edges.push(edge(
            &all,
            &node_identity,
            "node-fallback",
            "instance metadata",
        ));
        cloud.grants.push(grant(
            format!("{cluster}:node-policy"),
            &node_identity,
            *provider_cloud,
            (0..20).map(|i| format!("ec2:Describe{i}")).collect(),
            "*".into(),
        ));
        for n in (c..NAMESPACES).step_by(clusters.len()) {
            let ns = format!("team-{n}");
            let group = format!("k8s:{cluster}/Group/system:serviceaccounts:{ns}");
            k8s.nodes
                .push(node(group.clone(), "group", Cloud::Kubernetes, &[]));
            let sa_id = |i: usize| format!("k8s:{cluster}/{ns}/ServiceAccount/sa-{i}");
            for i in 0..SAS_PER_NS {
                let sa = sa_id(i);
                k8s.nodes
                    .push(node(sa.clone(), "service-account", Cloud::Kubernetes, &[]));
                k8s.edges
                    .push(edge(&sa, &group, "member-of", "implicit group"));
                k8s.edges
                    .push(edge(&sa, &all, "member-of", "implicit group"));
            }
            for w in 0..AGENTS_PER_NS + OTHER_WORKLOADS_PER_NS {
                let agent = if w < AGENTS_PER_NS { "true" } else { "false" };
                let id = format!("k8s:{cluster}/{ns}/Deployment/w-{w}");
                k8s.nodes.push(node(
                    id.clone(),
                    "workload",
                    Cloud::Kubernetes,
                    &[("agent", agent), ("pods", "3")],
                ));
                // One agent in five shares its account with an ordinary workload.
                let sa = if w % 5 == 4 {
                    sa_id(w - AGENTS_PER_NS.min(w))
                } else {
                    sa_id(w)
                };
                k8s.edges
                    .push(edge(&id, &sa, "runs-as", "spec.serviceAccountName"));
            }
            for r in 0..ROLES_PER_NS {
                let role = format!("k8s:{cluster}/{ns}/Role/role-{r}");
                k8s.nodes.push(node(role, "role", Cloud::Kubernetes, &[]));
            }
            for b in 0..BINDINGS_PER_NS {
                // Most bindings name one account; one in ten binds the namespace's group.
                let subject = if b % 10 == 0 {
                    group.clone()
                } else {
                    sa_id(b % SAS_PER_NS)
                };
                let role = format!("k8s:{cluster}/{ns}/Role/role-{b}");
                let via = format!("RoleBinding {ns}/binding-{b}");
                k8s.edges.push(edge(&subject, &role, "bound-to", &via));
                k8s.grants.push(grant(
                    format!("k8s:{cluster}/{via}"),
                    &subject,
                    Cloud::Kubernetes,
                    (0..4).map(|v| format!("configmaps:verb{v}")).collect(),
                    format!("{ns}/configmaps/*"),
                ));
            }
            // Every agent's account federates to a cloud identity of its own.
            for a in 0..AGENTS_PER_NS {
                let identity = format!("{cluster}:identity/{ns}/{a}");
                cloud.nodes.push(node(
                    identity.clone(),
                    "cloud-identity",
                    *provider_cloud,
                    &[],
                ));
                cloud
                    .edges
                    .push(edge(&sa_id(a), &identity, "federates-to", "federation"));
                for g in 0..2 {
                    cloud.grants.push(grant(
                        format!("{identity}#policy-{g}"),
                        &identity,
                        *provider_cloud,
                        (0..12)
                            .map(|p| format!("storage.objects.action{p}"))
                            .collect(),
                        format!("//storage.googleapis.com/projects/_/buckets/{ns}-{g}"),
                    ));
                }
            }
        }
    }
    vec![
        ("kubernetes@bench".into(), k8s),
        ("clouds@bench".into(), cloud),
    ]
}

/// Peak resident memory of this process so far, from /proc (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run once either way.
    let started = Instant::now();
    let outputs = organisation();
    let generated = started.elapsed();
    let counts: (usize, usize, usize) = outputs.iter().fold((0, 0, 0), |acc, (_, o)| {
        (
            acc.0 + o.nodes.len(),
            acc.1 + o.edges.len(),
            acc.2 + o.grants.len(),
        )
    });

    let t = Instant::now();
    let (graph, diagnostics) = IdentityGraph::build(outputs);
    let build = t.elapsed();

    let t = Instant::now();
    let (agents, _) = scope::agents(&graph, &[]);
    let reach = Reach::compute(&graph);
    let candidates = scope::candidates(&graph, &reach, &agents, 14);
    let scope_time = t.elapsed();

    let inherited = candidates.iter().filter(|c| !c.grant.owned).count();
    println!(
        "synthetic organisation: {} nodes, {} edges, {} grants (generated in {generated:.2?})",
        counts.0, counts.1, counts.2
    );
    println!(
        "graph build:      {build:.2?} ({} diagnostics)",
        diagnostics.len()
    );
    println!(
        "effective scope:  {scope_time:.2?} for {} agents -> {} candidates ({inherited} inherited)",
        agents.len(),
        candidates.len()
    );
    println!("total:            {:.2?}", build + scope_time);
    if let Some(mib) = peak_rss_mib() {
        println!("peak memory:      {mib:.0} MiB");
    }
    assert_eq!(agents.len(), 5_000, "the organisation has 5,000 agents");
}
