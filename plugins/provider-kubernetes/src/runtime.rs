//! What a workload may do at run time beyond RBAC, and what it was seen
//! doing: network egress and system calls.
//!
//! Kubernetes lets a pod connect anywhere unless a NetworkPolicy with
//! `Egress` selects it, and lets it make any system call unless a seccomp
//! profile confines it (`Unconfined` is the default unless the kubelet runs
//! with `--seccomp-default`). Both are grants held by the workload itself,
//! so they are the agent's own: category-1 material when the workload was
//! seen using a small part of them. They are granted only to workloads
//! with a Kubescape profile of that kind: without one there is nothing to
//! compare them with, and every workload would carry the same findings.
//!
//! What it was seen doing comes from Kubescape's `NetworkNeighborhood` and
//! `ApplicationProfile` objects (`spdx.softwarecomposition.kubescape.io`),
//! matched to the workload by their `kubescape.io/workload-*` labels, and
//! lands on the workload node as attributes the host credits as usage:
//!
//! - `observed:egress`: the NetworkPolicy egress rules that allow exactly
//!   the observed neighbours, one JSON rule per line, built as Kubescape's
//!   own policy generator builds them (a peer per neighbour: its selectors,
//!   and its address as a `/32`, or the `KnownServer` range it falls in;
//!   address-only rules with the same ports merged);
//! - `observed:syscalls`: the system calls of every container, sorted,
//!   comma-separated; `observed:architectures`: Kubescape's names (`amd64`);
//! - `observed:profile`: `complete` when Kubescape finished learning
//!   (`kubescape.io/status: completed` and `kubescape.io/completion:
//!   complete`), else what it said. A partial profile misses what the
//!   containers did at start-up, so no verdict rests on it.

use crate::aggregation::matches;
use crate::objects::{Body, Kind, LabelSelector, Meta, Object, PodTemplate};
use crate::output::{Output, namespaced_id};
use scopegraph_sdk::{Cloud, Effect, EvidenceRef, Grant};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// The egress permission: connecting out of the pod.
pub const EGRESS: &str = "egress:connect";
/// System calls are spelled `syscall:NAME`.
pub const SYSCALL_PREFIX: &str = "syscall:";

/// Linux x86-64 system call names (from the kernel's `unistd_64.h`; see
/// `catalogue/generate.py`).
const SYSCALLS: &str = include_str!("../catalogue/syscalls.txt");

/// One Kubescape profile of one workload.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub kind: Option<Kind>,
    /// `kubescape.io/workload-namespace`, `-kind`, `-name`.
    pub workload: (String, String, String),
    /// `complete`, or what Kubescape said instead.
    pub status: String,
    pub neighbours: Vec<Neighbour>,
    pub syscalls: BTreeSet<String>,
    pub architectures: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Neighbour {
    #[serde(default)]
    pub ip_address: Option<String>,
    pub pod_selector: Option<LabelSelector>,
    pub namespace_selector: Option<LabelSelector>,
    #[serde(default)]
    pub ports: Option<Vec<NeighbourPort>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NeighbourPort {
    pub port: Option<u32>,
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawContainer {
    #[serde(default)]
    egress: Option<Vec<Neighbour>>,
    #[serde(default)]
    syscalls: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProfileSpec {
    #[serde(default)]
    containers: Option<Vec<RawContainer>>,
    #[serde(default)]
    init_containers: Option<Vec<RawContainer>>,
    #[serde(default)]
    ephemeral_containers: Option<Vec<RawContainer>>,
    #[serde(default)]
    architectures: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RawProfile {
    #[serde(default)]
    spec: Option<RawProfileSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMeta {
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

impl Profile {
    pub fn read(kind: Kind, object: &Value, meta: &Meta) -> Result<Profile, serde_json::Error> {
        let spec = RawProfile::deserialize(object)?.spec.unwrap_or_default();
        let annotations = object
            .get("metadata")
            .map(RawMeta::deserialize)
            .transpose()?
            .and_then(|m| m.annotations)
            .unwrap_or_default();
        let annotation = |key: &str| annotations.get(key).map(String::as_str).unwrap_or("");
        let status = match (
            annotation("kubescape.io/status"),
            annotation("kubescape.io/completion"),
        ) {
            ("completed", "complete") => "complete".to_string(),
            ("", "") => "unknown (no kubescape.io/status annotation)".to_string(),
            (status, completion) => format!("status {status:?}, completion {completion:?}"),
        };
        let label = |key: &str| meta.label(key).unwrap_or("").to_string();
        let namespace = Some(label("kubescape.io/workload-namespace"))
            .filter(|n| !n.is_empty())
            .or_else(|| meta.namespace.clone())
            .unwrap_or_default();
        let mut profile = Profile {
            kind: Some(kind),
            workload: (
                namespace,
                label("kubescape.io/workload-kind"),
                label("kubescape.io/workload-name"),
            ),
            status,
            architectures: spec.architectures.clone().unwrap_or_default(),
            ..Profile::default()
        };
        let containers = [
            spec.containers,
            spec.init_containers,
            spec.ephemeral_containers,
        ];
        for container in containers.into_iter().flatten().flatten() {
            profile
                .neighbours
                .extend(container.egress.into_iter().flatten());
            profile
                .syscalls
                .extend(container.syscalls.into_iter().flatten());
        }
        Ok(profile)
    }
}

/// A Kubescape `KnownServer` entry: an address range with a name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KnownServer {
    #[serde(default)]
    pub ip_block: String,
}

impl KnownServer {
    pub fn read(object: &Value) -> Result<Vec<KnownServer>, serde_json::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default)]
            spec: Option<Vec<KnownServer>>,
        }
        Ok(Raw::deserialize(object)?.spec.unwrap_or_default())
    }
}

/// `10.0.0.0/8` contains `ip`? Either family; a malformed range contains nothing.
fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let Some((base, bits)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(base), Ok(bits)) = (base.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    match (base, ip) {
        (IpAddr::V4(base), IpAddr::V4(ip)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(base) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(base), IpAddr::V6(ip)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(base) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
struct Port {
    port: u32,
    protocol: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Peer {
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_block: Option<IpBlock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace_selector: Option<LabelSelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pod_selector: Option<LabelSelector>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct IpBlock {
    cidr: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct EgressRule {
    ports: Vec<Port>,
    to: Vec<Peer>,
}

/// The egress rules allowing exactly the observed neighbours.
fn egress_rules(neighbours: &[Neighbour], known: &[KnownServer]) -> Vec<EgressRule> {
    let mut rules: Vec<EgressRule> = Vec::new();
    for neighbour in neighbours {
        let mut ports: Vec<Port> = neighbour
            .ports
            .iter()
            .flatten()
            .filter_map(|p| {
                Some(Port {
                    port: p.port?,
                    protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                })
            })
            .collect();
        ports.sort();
        ports.dedup();
        let mut to = Vec::new();
        if neighbour.pod_selector.is_some() || neighbour.namespace_selector.is_some() {
            to.push(Peer {
                ip_block: None,
                namespace_selector: neighbour.namespace_selector.clone(),
                pod_selector: neighbour.pod_selector.clone(),
            });
        }
        let address = neighbour
            .ip_address
            .as_deref()
            .and_then(|a| a.parse::<IpAddr>().ok());
        if let Some(ip) = address {
            let cidr = known
                .iter()
                .find(|k| cidr_contains(&k.ip_block, ip))
                .map(|k| k.ip_block.clone())
                .unwrap_or_else(|| match ip {
                    IpAddr::V4(_) => format!("{ip}/32"),
                    IpAddr::V6(_) => format!("{ip}/128"),
                });
            to.push(Peer {
                ip_block: Some(IpBlock { cidr }),
                namespace_selector: None,
                pod_selector: None,
            });
        }
        if to.is_empty() {
            continue; // a name that never resolved: nothing a policy can name
        }
        let address_only = to.iter().all(|p| p.ip_block.is_some());
        let merge_into = rules.iter_mut().find(|r| {
            address_only && r.ports == ports && r.to.iter().all(|p| p.ip_block.is_some())
        });
        match merge_into {
            Some(rule) => {
                for peer in to {
                    if !rule.to.contains(&peer) {
                        rule.to.push(peer);
                    }
                }
            }
            None => {
                if !rules.iter().any(|r| r.ports == ports && r.to == to) {
                    rules.push(EgressRule { ports, to });
                }
            }
        }
    }
    rules
}

/// Profiles, NetworkPolicies and known servers of the snapshot, by cluster.
#[derive(Debug, Default)]
pub struct Context<'a> {
    profiles: BTreeMap<(String, String, String, String), Vec<&'a Profile>>,
    policies: Vec<&'a Object>,
    known: BTreeMap<&'a str, Vec<KnownServer>>,
}

impl<'a> Context<'a> {
    pub fn new(objects: &'a [Object]) -> Self {
        let mut context = Context::default();
        for object in objects {
            match &object.body {
                Body::Profile(profile) => {
                    let (namespace, kind, name) = &profile.workload;
                    context
                        .profiles
                        .entry((
                            object.cluster.clone(),
                            namespace.clone(),
                            kind.to_ascii_lowercase(),
                            name.clone(),
                        ))
                        .or_default()
                        .push(profile);
                }
                Body::NetworkPolicy { .. } => context.policies.push(object),
                Body::KnownServers(servers) => context
                    .known
                    .entry(object.cluster.as_str())
                    .or_default()
                    .extend(servers.iter().cloned()),
                _ => {}
            }
        }
        context
    }

    fn profiles(&self, cluster: &str, namespace: &str, kind: &str, name: &str) -> Vec<&'a Profile> {
        let key = (
            cluster.to_string(),
            namespace.to_string(),
            kind.to_ascii_lowercase(),
            name.to_string(),
        );
        self.profiles.get(&key).cloned().unwrap_or_default()
    }

    /// The NetworkPolicies restricting egress of pods with these labels.
    fn egress_policies(
        &self,
        cluster: &str,
        namespace: &str,
        labels: &BTreeMap<String, String>,
    ) -> Vec<&'a Object> {
        self.policies
            .iter()
            .copied()
            .filter(|p| p.cluster == cluster && p.namespace == namespace)
            .filter(|p| match &p.body {
                Body::NetworkPolicy {
                    pod_selector,
                    restricts_egress,
                } => *restricts_egress && matches(pod_selector, labels).unwrap_or(false),
                _ => false,
            })
            .collect()
    }
}

/// The `observed:*` attributes of a workload node.
pub fn observed_attributes(
    context: &Context<'_>,
    cluster: &str,
    namespace: &str,
    kind: &str,
    name: &str,
) -> Vec<(String, String)> {
    let profiles = context.profiles(cluster, namespace, kind, name);
    let mut attributes = Vec::new();
    for wanted in [Kind::NetworkNeighborhood, Kind::ApplicationProfile] {
        let of_kind: Vec<&Profile> = profiles
            .iter()
            .copied()
            .filter(|p| p.kind == Some(wanted))
            .collect();
        if of_kind.is_empty() {
            continue;
        }
        let status = if of_kind.iter().all(|p| p.status == "complete") {
            "complete".to_string()
        } else {
            of_kind
                .iter()
                .map(|p| p.status.as_str())
                .find(|s| *s != "complete")
                .unwrap_or_default()
                .to_string()
        };
        if wanted == Kind::NetworkNeighborhood {
            let neighbours: Vec<Neighbour> = of_kind
                .iter()
                .flat_map(|p| p.neighbours.iter().cloned())
                .collect();
            let known = context.known.get(cluster).map_or(&[][..], Vec::as_slice);
            let lines: Vec<String> = egress_rules(&neighbours, known)
                .iter()
                .filter_map(|r| serde_json::to_string(r).ok())
                .collect();
            attributes.push(("observed:egress-profile".into(), status));
            attributes.push(("observed:egress".into(), lines.join("\n")));
        } else {
            let syscalls: BTreeSet<&str> = of_kind
                .iter()
                .flat_map(|p| p.syscalls.iter().map(String::as_str))
                .collect();
            let architectures: BTreeSet<&str> = of_kind
                .iter()
                .flat_map(|p| p.architectures.iter().map(String::as_str))
                .collect();
            attributes.push(("observed:syscall-profile".into(), status));
            attributes.push((
                "observed:syscalls".into(),
                syscalls.into_iter().collect::<Vec<_>>().join(","),
            ));
            attributes.push((
                "observed:architectures".into(),
                architectures.into_iter().collect::<Vec<_>>().join(","),
            ));
        }
    }
    attributes
}

/// The run-time grants of one workload: egress when no NetworkPolicy
/// restricts it, every system call when a container runs unconfined.
#[allow(clippy::too_many_arguments)]
pub fn grants(
    context: &Context<'_>,
    cluster: &str,
    namespace: &str,
    kind: &str,
    name: &str,
    template: Option<&PodTemplate>,
    evidence: &[EvidenceRef],
    out: &mut Output,
) {
    let Some(template) = template else {
        return; // nothing known of its pods
    };
    // Without a profile there is nothing to compare the grant with, and
    // every workload of every cluster would carry the same two findings.
    let profiles = context.profiles(cluster, namespace, kind, name);
    let profiled = |wanted: Kind| profiles.iter().any(|p| p.kind == Some(wanted));
    let holder = namespaced_id(cluster, namespace, kind, name);
    let selector = template.selector.clone().unwrap_or_else(|| LabelSelector {
        match_labels: template.metadata.labels.clone(),
        match_expressions: Vec::new(),
    });
    let selector_evidence = EvidenceRef {
        kind: "pod-selector".into(),
        reference: serde_json::to_string(&selector).unwrap_or_default(),
        summary: format!("the pods of {kind} {namespace}/{name}"),
    };
    if profiled(Kind::NetworkNeighborhood)
        && context
            .egress_policies(cluster, namespace, &template.metadata.labels)
            .is_empty()
    {
        let mut evidence = evidence.to_vec();
        evidence.push(selector_evidence);
        out.grant(Grant {
            id: format!("{holder}#egress"),
            holder: holder.clone(),
            cloud: Cloud::Kubernetes,
            permissions: vec![EGRESS.into()],
            resources: vec!["0.0.0.0/0".into(), "::/0".into()],
            effect: Effect::Allow,
            source: format!(
                "no NetworkPolicy restricts egress of {kind} {namespace}/{name} (Kubernetes allows all egress)"
            ),
            conditions: Vec::new(),
            evidence,
        });
    }
    if let Some(why) = unconfined(template).filter(|_| profiled(Kind::ApplicationProfile)) {
        out.grant(Grant {
            id: format!("{holder}#syscalls"),
            holder,
            cloud: Cloud::Kubernetes,
            permissions: SYSCALLS
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|s| format!("{SYSCALL_PREFIX}{s}"))
                .collect(),
            resources: vec!["*".into()],
            effect: Effect::Allow,
            source: format!("{kind} {namespace}/{name}: {why}"),
            conditions: Vec::new(),
            evidence: evidence.to_vec(),
        });
    }
}

/// Why some container of the pod runs without a seccomp profile, if one does.
fn unconfined(template: &PodTemplate) -> Option<String> {
    let pod = template
        .spec
        .security_context
        .seccomp_profile
        .as_ref()
        .map(|p| p.kind.as_str());
    for container in &template.spec.containers {
        let own = container
            .security_context
            .seccomp_profile
            .as_ref()
            .map(|p| p.kind.as_str());
        match own.or(pod) {
            Some("RuntimeDefault" | "Localhost") => {}
            Some("Unconfined") => {
                return Some(format!(
                    "container {} runs with seccomp Unconfined",
                    container.name
                ));
            }
            Some(_) | None => {
                return Some(format!(
                    "container {} has no seccompProfile (Unconfined unless the kubelet runs with --seccomp-default)",
                    container.name
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_containment_in_both_families() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("address");
        assert!(cidr_contains("16.170.0.0/15", ip("16.171.184.118")));
        assert!(!cidr_contains("16.170.0.0/15", ip("16.172.0.1")));
        // Kubescape keeps host bits in known ranges; the mask still applies.
        assert!(cidr_contains("13.50.180.111/24", ip("13.50.180.7")));
        assert!(cidr_contains("0.0.0.0/0", ip("8.8.8.8")));
        assert!(cidr_contains("2001:db8::/32", ip("2001:db8::1")));
        assert!(!cidr_contains("2001:db8::/32", ip("10.0.0.1")));
        assert!(!cidr_contains("garbage", ip("10.0.0.1")));
    }
}
