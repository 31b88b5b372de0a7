//! Run-time grants (egress, system calls) and what Kubescape observed, on
//! Kubescape's own test data (see `tests/fixtures/kubescape/README.md`).

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use provider_kubernetes::runtime::{EGRESS, SYSCALL_PREFIX};
use scopegraph_sdk::{Document, Grant, Node, ProviderOutput};
use serde_json::{Value, json};

const DEPLOYMENT: &str = include_str!("fixtures/kubescape/operator-deployment.json");
const NEIGHBOURS: &str = include_str!("fixtures/kubescape/nn-operator.json");
const KNOWN: &str = include_str!("fixtures/kubescape/known-servers.json");
const PROFILE: &str = include_str!("fixtures/kubescape/ap-operator.json");
const KUBESCAPE_POLICY: &str = include_str!("fixtures/kubescape/np-operator.json");

const WORKLOAD: &str = "k8s:prod/kubescape/Deployment/operator";

fn document(id: &str, content: &str) -> Document {
    Document {
        id: id.into(),
        source: format!("snapshot/{id}.json"),
        kind: "kubernetes".into(),
        context: vec![("cluster".into(), "prod".into())],
        content: content.into(),
    }
}

/// `known-servers.json` is a bare array of objects, as the generator's
/// test data keeps it; as a user exports it, it is a `List`.
fn known_servers() -> String {
    let items: Value = serde_json::from_str(KNOWN).unwrap();
    json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string()
}

fn resolve(extra: &[(&str, String)]) -> ProviderOutput {
    let mut documents = vec![
        document("deployment", DEPLOYMENT),
        document("nn", NEIGHBOURS),
        document("ap", PROFILE),
        document("known", &known_servers()),
    ];
    for (id, content) in extra {
        documents.push(document(id, content));
    }
    provider_kubernetes::resolve(&documents)
}

fn workload(out: &ProviderOutput) -> &Node {
    out.nodes.iter().find(|n| n.id == WORKLOAD).unwrap()
}

fn attribute<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn grant<'a>(out: &'a ProviderOutput, suffix: &str) -> Option<&'a Grant> {
    out.grants
        .iter()
        .find(|g| g.id == format!("{WORKLOAD}#{suffix}"))
}

/// A rule's peers in a canonical order, so rules compare as sets.
fn canonical(rules: &[Value]) -> Vec<Value> {
    let mut rules: Vec<Value> = rules
        .iter()
        .map(|rule| {
            let mut to: Vec<Value> = rule["to"].as_array().unwrap().clone();
            to.sort_by_key(|p| p.to_string());
            json!({"ports": rule["ports"], "to": to})
        })
        .collect();
    rules.sort_by_key(|r| r.to_string());
    rules
}

#[test]
fn observed_egress_is_what_kubescapes_own_generator_allows() {
    let out = resolve(&[]);
    let node = workload(&out);
    assert_eq!(attribute(node, "observed:egress-profile"), Some("complete"));
    let ours: Vec<Value> = attribute(node, "observed:egress")
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let expected: Value = serde_json::from_str(KUBESCAPE_POLICY).unwrap();
    let theirs = expected["spec"]["spec"]["egress"].as_array().unwrap();
    assert_eq!(ours.len(), 7);
    assert_eq!(canonical(&ours), canonical(theirs));
}

#[test]
fn observed_syscalls_and_architectures_land_on_the_workload() {
    let out = resolve(&[]);
    let node = workload(&out);
    assert_eq!(
        attribute(node, "observed:syscall-profile"),
        Some("complete")
    );
    assert_eq!(attribute(node, "observed:architectures"), Some("amd64"));
    let syscalls = attribute(node, "observed:syscalls").unwrap();
    assert_eq!(syscalls.split(',').count(), 49);
    assert!(syscalls.starts_with("accept4,arch_prctl,bind,"));
}

#[test]
fn unrestricted_egress_and_unconfined_syscalls_are_grants_of_the_workload() {
    let out = resolve(&[]);
    let egress = grant(&out, "egress").unwrap();
    assert_eq!(egress.holder, WORKLOAD);
    assert_eq!(egress.permissions, vec![EGRESS]);
    assert_eq!(egress.resources, vec!["0.0.0.0/0", "::/0"]);
    // The pods are selected by the Deployment's selector, not by its
    // template labels (which carry the chart version).
    let selector = egress
        .evidence
        .iter()
        .find(|e| e.kind == "pod-selector")
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&selector.reference).unwrap(),
        json!({"matchLabels": {
            "app.kubernetes.io/instance": "kubescape",
            "app.kubernetes.io/name": "operator",
            "tier": "ks-control-plane"
        }})
    );
    let syscalls = grant(&out, "syscalls").unwrap();
    assert_eq!(syscalls.permissions.len(), 362);
    assert!(
        syscalls
            .permissions
            .iter()
            .all(|p| p.starts_with(SYSCALL_PREFIX))
    );
    assert!(syscalls.permissions.contains(&"syscall:ptrace".to_string()));
    assert!(
        syscalls
            .source
            .contains("container operator has no seccompProfile"),
        "{}",
        syscalls.source
    );
}

fn network_policy(policy_types: Option<&[&str]>, selector: Value) -> String {
    let mut spec = json!({"podSelector": selector, "ingress": [{}]});
    if let Some(types) = policy_types {
        spec["policyTypes"] = json!(types);
    }
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": "kubescape"},
        "spec": spec
    })
    .to_string()
}

#[test]
fn a_network_policy_with_egress_selecting_the_pods_removes_the_egress_grant() {
    let operator = json!({"matchLabels": {"app.kubernetes.io/name": "operator"}});
    // Ingress only (explicitly, or by having no egress section): egress stays open.
    let out = resolve(&[("np", network_policy(Some(&["Ingress"]), operator.clone()))]);
    assert!(grant(&out, "egress").is_some());
    let out = resolve(&[("np", network_policy(None, operator.clone()))]);
    assert!(grant(&out, "egress").is_some());
    // Egress, selecting other pods: still open.
    let other = json!({"matchLabels": {"app": "gateway"}});
    let out = resolve(&[("np", network_policy(Some(&["Egress"]), other))]);
    assert!(grant(&out, "egress").is_some());
    // Egress selecting these pods (an empty selector selects all of the namespace).
    let out = resolve(&[("np", network_policy(Some(&["Egress"]), operator))]);
    assert!(grant(&out, "egress").is_none());
    let out = resolve(&[("np", network_policy(Some(&["Egress"]), json!({})))]);
    assert!(grant(&out, "egress").is_none());
}

#[test]
fn a_seccomp_profile_on_every_container_removes_the_syscall_grant() {
    let mut deployment: Value = serde_json::from_str(DEPLOYMENT).unwrap();
    let pod = &mut deployment["spec"]["template"]["spec"];
    pod["securityContext"] = json!({"seccompProfile": {"type": "RuntimeDefault"}});
    let documents = vec![
        document("deployment", &deployment.to_string()),
        document("ap", PROFILE),
    ];
    let out = provider_kubernetes::resolve(&documents);
    assert!(grant(&out, "syscalls").is_none());
    // A container's own Unconfined overrides the pod's default.
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"] =
        json!({"seccompProfile": {"type": "Unconfined"}});
    let documents = vec![
        document("deployment", &deployment.to_string()),
        document("ap", PROFILE),
    ];
    let out = provider_kubernetes::resolve(&documents);
    assert!(
        grant(&out, "syscalls")
            .unwrap()
            .source
            .ends_with("container operator runs with seccomp Unconfined")
    );
}

#[test]
fn without_a_profile_there_are_no_runtime_grants_and_partial_ones_say_so() {
    let out = provider_kubernetes::resolve(&[document("deployment", DEPLOYMENT)]);
    assert!(grant(&out, "egress").is_none());
    assert!(grant(&out, "syscalls").is_none());
    assert_eq!(attribute(workload(&out), "observed:egress"), None);

    let partial = PROFILE.replace(
        "\"kubescape.io/completion\": \"complete\"",
        "\"kubescape.io/completion\": \"partial\"",
    );
    let out = provider_kubernetes::resolve(&[
        document("deployment", DEPLOYMENT),
        document("ap", &partial),
    ]);
    assert_eq!(
        attribute(workload(&out), "observed:syscall-profile"),
        Some("status \"completed\", completion \"partial\"")
    );
}
