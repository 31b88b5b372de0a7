//! The files a user applies to give an agent its own identity: a dedicated
//! ServiceAccount and the patch that moves the workload onto it, a Role that
//! carries an inherited Kubernetes grant over to that identity (scoped to
//! the agent's namespace, so category 1 can trim it later), for an inherited
//! cloud grant a cloud identity of the agent's own federated to that
//! ServiceAccount (`cloud.rs`), and a plan for the upstream binding that has
//! to be removed or narrowed.

use crate::cloud::{self, Dedicated, Target};
use scopegraph_sdk::spelling::{AgentId, kube_type, yaml_str as q};
use scopegraph_sdk::{Artifact, Candidate, Cloud};
use std::collections::BTreeMap;

/// The artifacts for one inherited grant; empty when the agent id is not a
/// Kubernetes workload id.
pub fn artifacts(candidate: &Candidate) -> Vec<Artifact> {
    files(candidate).0
}

/// The artifacts, and what the reduction summary says of the dedicated
/// cloud identity (how to apply it, or what is missing to write it).
pub(crate) fn files(candidate: &Candidate) -> (Vec<Artifact>, Option<String>) {
    let Some(agent) = AgentId::parse(&candidate.agent) else {
        return (Vec::new(), None);
    };
    let dir = format!("inherited-overreach/{}", agent.artifact_dir());
    let mut out = Vec::new();
    let current_sa = candidate
        .chain
        .get(1)
        .filter(|hop| hop.kind == "service-account")
        .and_then(|hop| hop.node.rsplit('/').next())
        .map(str::to_string);
    // The agent's own ServiceAccount is shared (or is `default`): it needs one of its own.
    let sa_shared = candidate.grant.inherited_from_hop == Some(1)
        && candidate.grant.mechanisms.first().map(String::as_str) == Some("shared-identity");
    let needs_own_sa = sa_shared || current_sa.as_deref() == Some("default");
    let mut workload_patch_written = false;
    let service_account = if needs_own_sa {
        out.push(Artifact {
            path: format!("{dir}/serviceaccount.yaml"),
            content: format!(
                "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {}\n  namespace: {}\n  labels:\n    scopegraph.io/agent: \"true\"\n",
                q(agent.name),
                q(agent.namespace)
            ),
        });
        if let Some(patch) = workload_patch(agent.kind, agent.name) {
            workload_patch_written = true;
            out.push(Artifact {
                path: format!("{dir}/workload-patch.yaml"),
                content: patch,
            });
        }
        agent.name.to_string()
    } else {
        current_sa.unwrap_or_else(|| agent.name.to_string())
    };
    if candidate.cloud == Cloud::Kubernetes
        && let Some(role) = carried_role(candidate, &agent, &service_account)
    {
        out.push(Artifact {
            path: format!("{dir}/role-{}.yaml", short_id(&candidate.id)),
            content: role,
        });
    }
    let short = short_id(&candidate.id);
    let dedicated = cloud::dedicated(
        candidate,
        &Target {
            agent: &agent,
            dir: &dir,
            short: &short,
            service_account: &service_account,
            new_service_account: needs_own_sa,
            workload_patch: workload_patch_written,
        },
    );
    out.extend(dedicated.artifacts.iter().cloned());
    out.push(Artifact {
        path: format!("{dir}/upstream-{short}.txt"),
        content: upstream_plan(
            candidate,
            &agent,
            &service_account,
            needs_own_sa,
            &dedicated,
        ),
    });
    let note = match (&dedicated.missing, dedicated.how.is_empty()) {
        (Some(missing), _) => Some(missing.clone()),
        (None, false) => Some(dedicated.how.clone()),
        (None, true) => None,
    };
    (out, note)
}

fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

/// A strategic-merge patch (`kubectl patch KIND NAME --patch-file`) moving
/// the workload's pods onto the dedicated ServiceAccount.
fn workload_patch(kind: &str, name: &str) -> Option<String> {
    let spec = "spec:\n  template:\n    spec:\n      serviceAccountName: ";
    Some(match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            format!("{spec}{}\n", q(name))
        }
        "CronJob" => format!(
            "spec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          serviceAccountName: {}\n",
            q(name)
        ),
        _ => return None,
    })
}

/// A Role + RoleBinding giving the dedicated ServiceAccount the inherited
/// grant's rules inside the agent's namespace only.
fn carried_role(
    candidate: &Candidate,
    agent: &AgentId<'_>,
    service_account: &str,
) -> Option<String> {
    // (group, resource) -> verbs
    let mut rules: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for permission in &candidate.permissions {
        let Some((spelled, verb)) = permission.rsplit_once(':') else {
            continue;
        };
        if spelled.starts_with("nonresource:") {
            continue;
        }
        let (group, resource) = kube_type(spelled);
        let key = (group.to_string(), resource.to_string());
        let verbs = rules.entry(key).or_default();
        if !verbs.iter().any(|v| v == verb) {
            verbs.push(verb.to_string());
        }
    }
    if rules.is_empty() {
        return None;
    }
    // resourceNames, when the grant names objects.
    let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for resource in &candidate.resources {
        let Some((_, rest)) = resource.split_once('/') else {
            continue;
        };
        let Some((spelled, name)) = rest.rsplit_once('/') else {
            continue;
        };
        if name != "*" {
            let (_, res) = kube_type(spelled);
            names
                .entry(res.to_string())
                .or_default()
                .push(name.to_string());
        }
    }
    let role_name = format!("{}-carried-{}", agent.name, short_id(&candidate.id));
    let mut yaml = format!(
        "# Carries {} over to {}'s own ServiceAccount, in namespace {} only.\n\
         # Apply, move the workload (workload-patch.yaml), then remove the upstream binding.\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: {}\n  namespace: {}\nrules:\n",
        candidate.grant.source,
        agent.name,
        agent.namespace,
        q(&role_name),
        q(agent.namespace)
    );
    for ((group, resource), verbs) in &rules {
        let verbs: Vec<String> = verbs.iter().map(|v| q(v)).collect();
        yaml.push_str(&format!(
            "- apiGroups: [{}]\n  resources: [{}]\n  verbs: [{}]\n",
            q(group),
            q(resource),
            verbs.join(", ")
        ));
        if let Some(list) = names.get(resource) {
            let list: Vec<String> = list.iter().map(|n| q(n)).collect();
            yaml.push_str(&format!("  resourceNames: [{}]\n", list.join(", ")));
        }
    }
    yaml.push_str(&format!(
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: {}\n  namespace: {}\n\
         roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: {}\nsubjects:\n\
         - kind: ServiceAccount\n  name: {}\n  namespace: {}\n",
        q(&role_name),
        q(agent.namespace),
        q(&role_name),
        q(service_account),
        q(agent.namespace)
    ));
    Some(yaml)
}

/// What to do about the binding the scope comes from.
fn upstream_plan(
    candidate: &Candidate,
    agent: &AgentId<'_>,
    service_account: &str,
    new_sa: bool,
    dedicated: &Dedicated,
) -> String {
    let source = &candidate.grant.source;
    // Who to ask: the provider names the upstream binding's manager when
    // the binding's metadata says (Helm, Argo CD, createdBy...).
    let owners: Vec<&str> = candidate
        .evidence
        .iter()
        .filter(|e| e.kind == "owner")
        .map(|e| e.summary.as_str())
        .collect();
    let owner = if owners.is_empty() {
        "not recorded in the binding's metadata".to_string()
    } else {
        owners.join("; ")
    };
    let mut plan = format!(
        "Agent:      {}\nGrant:      {}\nOwner:      {owner}\nInherited:  {}\nMechanisms: {}\n\nSteps:\n",
        candidate.agent,
        source,
        candidate.grant.ownership_reason,
        candidate.grant.mechanisms.join(", ")
    );
    let mut step = 1;
    let mut push = |text: String| {
        plan.push_str(&format!("{step}. {text}\n"));
        step += 1;
    };
    if new_sa {
        push(format!(
            "kubectl apply -f serviceaccount.yaml && kubectl -n {} patch {} {} --patch-file workload-patch.yaml",
            agent.namespace,
            agent.kind.to_ascii_lowercase(),
            agent.name
        ));
    }
    if candidate.cloud == Cloud::Kubernetes {
        push(format!(
            "If {} needs these permissions, apply the role-*.yaml file: it binds them to \
             ServiceAccount {}/{} alone, in its namespace only.",
            agent.name, agent.namespace, service_account
        ));
    }
    if let Some(missing) = &dedicated.missing {
        push(format!(
            "Dedicated cloud identity: {missing}. Create one by hand, federated to \
             ServiceAccount {}/{} only, with just the grants {} needs.",
            agent.namespace, service_account, agent.name
        ));
    } else if !dedicated.how.is_empty() {
        push(format!(
            "If {} needs these permissions, {}. Check the agent works before the next step.",
            agent.name, dedicated.how
        ));
    }
    // Through the node's identity, the "group" hop is every pod's implicit
    // `system:serviceaccounts` membership, not a binding anyone can narrow:
    // the node-fallback step is the one to take.
    let node_fallback = candidate
        .grant
        .mechanisms
        .iter()
        .any(|m| m == "node-fallback");
    for mechanism in &candidate.grant.mechanisms {
        match mechanism.as_str() {
            "group" if node_fallback => {}
            "group" => push(format!(
                "Narrow the binding: `{}` is granted to a group the agent belongs to. Replace the \
                 group subject with the specific identities that need it, or remove the binding{}.",
                source,
                kubectl_hint(source)
            )),
            "node-fallback" => push(
                "Cut the node identity fallback: require IMDSv2 with a hop limit of 1 (EKS), run \
                 node pools with workload metadata GKE_METADATA (GKE), or block pod egress to \
                 169.254.169.254 (AKS and any cluster), and give the agent a federated identity \
                 of its own (IRSA / Pod Identity, GKE Workload Identity, AKS workload identity)."
                    .to_string(),
            ),
            "assumption" | "impersonation" => push(format!(
                "Remove the trust that lets the agent's identity become another one: edit the \
                 trust policy or IAM binding named in `{source}`'s chain so that only the \
                 identities that need it can {}.",
                if mechanism == "assumption" {
                    "assume it"
                } else {
                    "mint its tokens"
                }
            )),
            "shared-identity" => push(format!(
                "Stop sharing: the identity behind `{source}` is used by other workloads too. \
                 Give {} a dedicated cloud identity federated to ServiceAccount {}/{} only, with \
                 just the grants it owns.",
                agent.name, agent.namespace, service_account
            )),
            _ => {}
        }
    }
    plan
}

fn kubectl_hint(source: &str) -> String {
    let binding = source.split(" -> ").next().unwrap_or(source);
    match binding.split_once(' ') {
        Some(("RoleBinding", path)) => match path.split_once('/') {
            Some((ns, name)) => format!(" (`kubectl -n {ns} edit rolebinding {name}`)"),
            None => String::new(),
        },
        Some(("ClusterRoleBinding", name)) => {
            format!(" (`kubectl edit clusterrolebinding {name}`)")
        }
        _ => String::new(),
    }
}
