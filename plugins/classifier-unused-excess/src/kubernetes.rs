//! Kubernetes: the observed requests as RBAC, audit2rbac-style. One Role and
//! RoleBinding per namespace the workload was seen working in, and a
//! ClusterRole and ClusterRoleBinding for cluster-scoped requests (objects
//! outside namespaces, lists across all of them, non-resource URLs).
//!
//! Like audit2rbac's default, rules carry no `resourceNames`: `list`,
//! `watch` and `create` cannot be limited by name, and a name seen in two
//! weeks of logs is no promise about the next object. The pairing of verbs
//! and namespaces is per resource type: a verb seen on pods in one
//! namespace is granted on pods in every namespace pods were used in.

use scopegraph_sdk::spelling::{
    AgentId, kube_nonresource, kube_permission, kube_resource, kube_type, short_hash, yaml_list,
    yaml_str,
};
use scopegraph_sdk::{Artifact, Candidate};
use std::collections::{BTreeMap, BTreeSet};

/// Namespace (`None`: cluster-scoped) -> (group, resource) -> verbs.
type Rules<'a> = BTreeMap<Option<&'a str>, BTreeMap<(&'a str, &'a str), BTreeSet<&'a str>>>;

/// How the file is applied.
pub fn how_to_apply() -> String {
    "kubectl apply -f the k8s-rbac file, then remove the agent's ServiceAccount from the binding"
        .into()
}

/// The replacement RBAC for an owned Kubernetes binding: the observed use
/// of every rule of it in `binding` (the candidates of the same agent,
/// binding and principal, `candidate` among them). One file per binding,
/// whichever of its rules' findings points to it. `None` when the
/// principal is not a ServiceAccount or nothing was used.
pub fn replacement_rbac(
    candidate: &Candidate,
    binding: &[&Candidate],
    agent: &AgentId<'_>,
) -> Option<Artifact> {
    let short = short_hash(&[&candidate.agent, &candidate.grant.source]);
    let short = short.as_str();
    let used_resources: BTreeSet<&String> = binding
        .iter()
        .flat_map(|c| &c.usage.used_resources)
        .collect();
    let used_permissions: BTreeSet<&String> = binding
        .iter()
        .flat_map(|c| &c.usage.used_permissions)
        .collect();
    let granted_resources: BTreeSet<&String> = binding.iter().flat_map(|c| &c.resources).collect();
    let (sa_namespace, sa_name) = candidate
        .principal
        .strip_prefix("system:serviceaccount:")?
        .split_once(':')?;
    // The namespaces each resource type was used in.
    let mut namespaces: BTreeMap<&str, BTreeSet<Option<&str>>> = BTreeMap::new();
    for resource in used_resources {
        if let Some((namespace, spelled, _)) = kube_resource(resource) {
            namespaces
                .entry(spelled)
                .or_default()
                .insert((namespace != "*").then_some(namespace));
        }
    }
    // Where the grant itself applies, for uses the logs name no object of.
    let granted_in: BTreeSet<Option<&str>> = granted_resources
        .into_iter()
        .filter_map(|r| kube_resource(r))
        .map(|(namespace, ..)| (namespace != "*").then_some(namespace))
        .collect();
    let mut rules: Rules<'_> = BTreeMap::new();
    let mut urls: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for permission in used_permissions {
        if let Some((url, verb)) = kube_nonresource(permission) {
            urls.entry(url).or_default().insert(verb);
            continue;
        }
        let Some((spelled, verb)) = kube_permission(permission) else {
            continue;
        };
        let (group, resource) = kube_type(spelled);
        for namespace in namespaces.get(spelled).unwrap_or(&granted_in) {
            rules
                .entry(*namespace)
                .or_default()
                .entry((group, resource))
                .or_default()
                .insert(verb);
        }
    }
    if rules.is_empty() && urls.is_empty() {
        return None;
    }
    let name = format!("{}-observed-{short}", agent.name);
    let mut yaml = format!(
        "# The requests {}/{} {} was observed making over {} days, as RBAC.\n\
         # Replaces {}: apply this file, then remove ServiceAccount {sa_namespace}/{sa_name}\n\
         # from that binding's subjects (or delete the binding if the agent is its only subject).\n",
        agent.namespace,
        agent.kind,
        agent.name,
        candidate.usage.observed_days,
        candidate.grant.source,
    );
    let subject = format!(
        "subjects:\n- kind: ServiceAccount\n  name: {}\n  namespace: {}\n",
        yaml_str(sa_name),
        yaml_str(sa_namespace)
    );
    for (namespace, by_type) in &rules {
        let (role_kind, binding_kind, metadata) = match namespace {
            Some(ns) => (
                "Role",
                "RoleBinding",
                format!(
                    "metadata:\n  name: {}\n  namespace: {}\n",
                    yaml_str(&name),
                    yaml_str(ns)
                ),
            ),
            None => (
                "ClusterRole",
                "ClusterRoleBinding",
                format!("metadata:\n  name: {}\n", yaml_str(&name)),
            ),
        };
        yaml.push_str(&format!(
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: {role_kind}\n{metadata}rules:\n"
        ));
        for ((group, resource), verbs) in by_type {
            let verbs: Vec<&str> = verbs.iter().copied().collect();
            yaml.push_str(&format!(
                "- apiGroups: [{}]\n  resources: [{}]\n  verbs: {}\n",
                yaml_str(group),
                yaml_str(resource),
                yaml_list(&verbs)
            ));
        }
        if namespace.is_none() {
            push_url_rules(&mut yaml, &urls);
        }
        yaml.push_str(&format!(
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: {binding_kind}\n{metadata}\
             roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {role_kind}\n  name: {}\n{subject}",
            yaml_str(&name)
        ));
    }
    if !urls.is_empty() && !rules.contains_key(&None) {
        let metadata = format!("metadata:\n  name: {}\n", yaml_str(&name));
        yaml.push_str(&format!(
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n{metadata}rules:\n"
        ));
        push_url_rules(&mut yaml, &urls);
        yaml.push_str(&format!(
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n{metadata}\
             roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: {}\n{subject}",
            yaml_str(&name)
        ));
    }
    Some(Artifact {
        path: format!(
            "unused-excess/{}/k8s-rbac-{short}.yaml",
            agent.artifact_dir()
        ),
        content: yaml,
    })
}

fn push_url_rules(yaml: &mut String, urls: &BTreeMap<&str, BTreeSet<&str>>) {
    for (url, verbs) in urls {
        let verbs: Vec<&str> = verbs.iter().copied().collect();
        yaml.push_str(&format!(
            "- nonResourceURLs: [{}]\n  verbs: {}\n",
            yaml_str(url),
            yaml_list(&verbs)
        ));
    }
}
