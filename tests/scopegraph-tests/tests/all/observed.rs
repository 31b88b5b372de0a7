//! Observed behaviour end to end: Kubescape profiles and Kubernetes audit
//! events through `audit`, to the findings and the artifacts a user
//! applies, each artifact checked by the tools that would apply it.

use super::validate;
use serde_json::{Value, json};
use std::path::Path;

const KUBESCAPE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../plugins/provider-kubernetes/tests/fixtures/kubescape"
);

/// `scopegraph audit DIR --format json --artifacts DIR/artifacts-out`; the
/// exit code must be 0 (complete, nothing at `--fail-on`).
fn audit(dir: &Path, cache: &Path) -> Value {
    let artifacts = dir.join("artifacts-out");
    let args = [
        "scopegraph",
        "--cache-dir",
        cache.to_str().unwrap(),
        "audit",
        dir.to_str().unwrap(),
        "--format",
        "json",
        "--now",
        "2026-11-20T00:00:00Z",
        "--artifacts",
        artifacts.to_str().unwrap(),
    ];
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = scopegraph_cli::run(args, &mut out, &mut err);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    serde_json::from_slice(&out).unwrap()
}

fn findings<'a>(report: &'a Value, category: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["category"] == category)
        .collect()
}

fn artifact(dir: &Path, finding: &Value) -> String {
    let path = finding["reduction"]["artifact"]
        .as_str()
        .unwrap_or_else(|| panic!("no artifact: {finding:#}"));
    std::fs::read_to_string(dir.join("artifacts-out").join(path)).unwrap()
}

fn yaml_documents(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

/// Egress rules with their peers in a canonical order, compared as a set.
fn canonical_rules(rules: &Value) -> Vec<Value> {
    let mut rules: Vec<Value> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| {
            let mut to = rule["to"].as_array().unwrap().clone();
            to.sort_by_key(|p| p.to_string());
            json!({"ports": rule["ports"], "to": to})
        })
        .collect();
    rules.sort_by_key(|r| r.to_string());
    rules
}

/// Kubescape's operator Deployment with its NetworkNeighborhood,
/// ApplicationProfile and the KnownServer list, as `kubectl get -o json`
/// writes them.
fn kubescape_snapshot(dir: &Path) {
    for file in [
        "operator-deployment.json",
        "nn-operator.json",
        "ap-operator.json",
    ] {
        std::fs::copy(Path::new(KUBESCAPE).join(file), dir.join(file)).unwrap();
    }
    let known: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(KUBESCAPE).join("known-servers.json")).unwrap(),
    )
    .unwrap();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": known, "metadata": {}});
    std::fs::write(dir.join("knownservers.json"), list.to_string()).unwrap();
}

#[test]
fn kubescape_profiles_give_a_network_policy_and_a_seccomp_profile_of_observed_behaviour() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = tempfile::tempdir().unwrap();
    kubescape_snapshot(snapshot.path());
    let report = audit(snapshot.path(), cache.path());
    let unused = findings(&report, "unused-excess");
    let agent = "default/kubescape/Deployment/operator";

    // Egress: open to the world, used for seven kinds of connection.
    let egress = unused
        .iter()
        .find(|f| f["permissions"] == json!(["egress:connect"]))
        .unwrap_or_else(|| panic!("no egress finding: {report:#}"));
    assert_eq!(egress["agent"], agent);
    assert_eq!(egress["status"], "open");
    assert_eq!(egress["grant"]["owned"], true);
    assert_eq!(egress["resources"], json!(["0.0.0.0/0", "::/0"]));
    let policy_yaml = artifact(snapshot.path(), egress);
    validate::kubernetes_yaml(&policy_yaml);
    let policy = &yaml_documents(&policy_yaml)[0];
    assert_eq!(policy["kind"], "NetworkPolicy");
    assert_eq!(policy["metadata"]["namespace"], "kubescape");
    assert_eq!(policy["spec"]["policyTypes"], json!(["Egress"]));
    assert_eq!(
        policy["spec"]["podSelector"],
        json!({"matchLabels": {
            "app.kubernetes.io/instance": "kubescape",
            "app.kubernetes.io/name": "operator",
            "tier": "ks-control-plane"
        }})
    );
    // Kubescape's own generator, on the same neighbourhood, allows the same.
    let theirs: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(KUBESCAPE).join("np-operator.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        canonical_rules(&policy["spec"]["egress"]),
        canonical_rules(&theirs["spec"]["spec"]["egress"])
    );

    // System calls: 49 observed of the 362 an unconfined container may make.
    let syscalls = unused
        .iter()
        .find(|f| {
            f["permissions"][0]
                .as_str()
                .is_some_and(|p| p.starts_with("syscall:"))
        })
        .unwrap_or_else(|| panic!("no system call finding: {report:#}"));
    assert_eq!(syscalls["status"], "open");
    let never: Vec<&str> = syscalls["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(never.len(), 362 - 49);
    assert!(never.contains(&"syscall:ptrace"));
    assert!(!never.contains(&"syscall:openat"));
    let profile_json = artifact(snapshot.path(), syscalls);
    assert_eq!(
        validate::seccomp_profile(&profile_json),
        Vec::<String>::new(),
        "libseccomp knows every name"
    );
    let profile: Value = serde_json::from_str(&profile_json).unwrap();
    assert_eq!(profile["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(
        profile["architectures"],
        json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
    );
    let allowed = profile["syscalls"][0]["names"].as_array().unwrap();
    assert_eq!(allowed.len(), 49);
    assert!(allowed.contains(&json!("epoll_pwait")));
}

#[test]
fn a_profile_kubescape_has_not_finished_is_insufficient_observation() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = tempfile::tempdir().unwrap();
    kubescape_snapshot(snapshot.path());
    let path = snapshot.path().join("ap-operator.json");
    let partial = std::fs::read_to_string(&path).unwrap().replace(
        "\"kubescape.io/status\": \"completed\"",
        "\"kubescape.io/status\": \"learning\"",
    );
    std::fs::write(&path, partial).unwrap();
    let report = audit(snapshot.path(), cache.path());
    let syscalls = findings(&report, "unused-excess")
        .into_iter()
        .find(|f| {
            f["permissions"][0]
                .as_str()
                .is_some_and(|p| p.starts_with("syscall:"))
        })
        .unwrap();
    assert_eq!(syscalls["status"], "insufficient-observation");
    assert_eq!(syscalls["reduction"]["artifact"], Value::Null);
}
