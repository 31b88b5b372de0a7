//! Run-time grants of a workload: network egress and system calls, as the
//! Kubernetes provider grants them to a workload Kubescape profiled.
//!
//! - Egress to any destination (`egress:connect` on `0.0.0.0/0`, `::/0`)
//!   is always excess: the fix is a NetworkPolicy allowing exactly the
//!   observed egress. The host hands the observed rules over as
//!   `usage.used_resources`, one JSON `NetworkPolicyEgressRule` each; the
//!   pod selector comes with the grant as a `pod-selector` evidence ref.
//!   No observed egress gives a policy that denies all egress.
//! - System calls (`syscall:NAME`, every one an unconfined container may
//!   make) follow the ordinary rule; the fix is a seccomp profile allowing
//!   the observed ones (`usage.used_permissions`) on the observed
//!   architectures (`usage.used_resources`, Kubescape's `amd64`/`arm64`),
//!   in the OCI runtime format the kubelet loads for `type: Localhost`.

use crate::render::json_list;
use scopegraph_sdk::spelling::{AgentId, yaml_str};
use scopegraph_sdk::{Artifact, Candidate, Cloud};

pub const EGRESS: &str = "egress:connect";
pub const SYSCALL_PREFIX: &str = "syscall:";

/// Is this the grant of egress to anywhere?
pub fn is_open_egress(candidate: &Candidate) -> bool {
    candidate.cloud == Cloud::Kubernetes
        && candidate.permissions.len() == 1
        && candidate.permissions.iter().all(|p| p == EGRESS)
        && candidate
            .resources
            .iter()
            .any(|r| r == "0.0.0.0/0" || r == "::/0")
}

/// Is this the grant of system calls?
pub fn is_syscalls(candidate: &Candidate) -> bool {
    candidate.cloud == Cloud::Kubernetes
        && candidate
            .permissions
            .first()
            .is_some_and(|p| p.starts_with(SYSCALL_PREFIX))
}

/// A NetworkPolicy allowing exactly the observed egress of the workload's pods.
pub fn network_policy(candidate: &Candidate, agent: &AgentId<'_>, short: &str) -> Option<Artifact> {
    let selector = candidate
        .evidence
        .iter()
        .find(|e| e.kind == "pod-selector")
        .map(|e| e.reference.as_str())
        .filter(|s| s.starts_with('{'))?;
    let name = format!("{}-observed-egress", agent.name);
    let rules = &candidate.usage.used_resources;
    let egress = if rules.is_empty() {
        " []\n".to_string()
    } else {
        // Each rule is one JSON object: YAML's flow style reads it as is.
        let mut lines = String::from("\n");
        for rule in rules {
            lines.push_str(&format!("  - {rule}\n"));
        }
        lines
    };
    let content = format!(
        "# The egress {}/{} {} was observed making, and nothing else.\n\
         # Kubernetes allowed it every destination: no NetworkPolicy restricted its egress.\n\
         # Pods also lose DNS unless the observed egress includes it.\n\
         apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {}\n  namespace: {}\n\
         spec:\n  podSelector: {selector}\n  policyTypes: [\"Egress\"]\n  egress:{egress}",
        agent.namespace,
        agent.kind,
        agent.name,
        yaml_str(&name),
        yaml_str(agent.namespace),
    );
    Some(Artifact {
        path: format!(
            "unused-excess/{}/networkpolicy-egress-{short}.yaml",
            agent.artifact_dir()
        ),
        content,
    })
}

/// libseccomp's names for the architectures Kubescape reports; a 64-bit
/// kernel also runs its 32-bit ABIs, which the profile must name to cover.
fn seccomp_architectures(kubescape: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let wanted: Vec<&str> = if kubescape.is_empty() {
        vec!["amd64"]
    } else {
        kubescape.iter().map(String::as_str).collect()
    };
    for arch in wanted {
        let names: &[&str] = match arch {
            "amd64" | "x86_64" => &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "arm64" | "aarch64" => &["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
            "386" | "x86" => &["SCMP_ARCH_X86"],
            "arm" => &["SCMP_ARCH_ARM"],
            "ppc64le" => &["SCMP_ARCH_PPC64LE"],
            "s390x" => &["SCMP_ARCH_S390X", "SCMP_ARCH_S390"],
            "riscv64" => &["SCMP_ARCH_RISCV64"],
            _ => &[],
        };
        for name in names {
            if !out.iter().any(|n| n == name) {
                out.push((*name).to_string());
            }
        }
    }
    out
}

/// A seccomp profile (OCI runtime format) allowing the observed system calls.
pub fn seccomp_profile(
    candidate: &Candidate,
    agent: &AgentId<'_>,
    short: &str,
) -> Option<Artifact> {
    let mut names: Vec<String> = candidate
        .usage
        .used_permissions
        .iter()
        .filter_map(|p| p.strip_prefix(SYSCALL_PREFIX))
        .map(String::from)
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return None;
    }
    let architectures = seccomp_architectures(&candidate.usage.used_resources);
    let content = format!(
        "{{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"defaultErrnoRet\": 1,\n  \"architectures\": {},\n  \"syscalls\": [\n    {{\n      \"names\": {},\n      \"action\": \"SCMP_ACT_ALLOW\"\n    }}\n  ]\n}}\n",
        json_list(&architectures, "  "),
        json_list(&names, "      "),
    );
    Some(Artifact {
        path: format!(
            "unused-excess/{}/seccomp-{short}.json",
            agent.artifact_dir()
        ),
        content,
    })
}
