//! RBAC: role nodes, `bound-to` edges from binding subjects, and one grant
//! per binding × subject × effective rule of the bound role.

use crate::aggregation::{EffectiveRule, RoleKey, effective_rules, role_key};
use crate::objects::{Body, Kind, Object, RoleRef, Rule, Subject};
use crate::output::{Output, cluster_id, namespaced_id};
use scopegraph_sdk::{Cloud, Effect, Grant, Node};
use std::collections::HashMap;

const SERVICE_ACCOUNT_USER: &str = "system:serviceaccount:";

/// The node id of a Role or ClusterRole.
fn role_id(cluster: &str, kind: Kind, namespace: &str, name: &str) -> String {
    match kind {
        Kind::Role => namespaced_id(cluster, namespace, "Role", name),
        _ => cluster_id(cluster, "ClusterRole", name),
    }
}

/// `ClusterRole view`, `Role analytics/reader`: how grant sources name roles.
fn role_label(kind: Kind, namespace: &str, name: &str) -> String {
    match kind {
        Kind::Role => format!("Role {namespace}/{name}"),
        _ => format!("ClusterRole {name}"),
    }
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// A rule in scopegraph's spelling: permissions `[group/]resource[/sub]:verb`
/// and resources `{namespace or *}/[group/]resource[/sub]/{name or *}`.
/// `namespace` is the RoleBinding's namespace, `None` for a ClusterRoleBinding.
///
/// Non-resource URLs are only ever authorised through ClusterRoleBindings
/// (the request has no namespace a RoleBinding could apply in), so a
/// RoleBinding contributes none of them.
pub fn spell(rule: &Rule, namespace: Option<&str>) -> (Vec<String>, Vec<String>) {
    let mut permissions = Vec::new();
    let mut resources = Vec::new();
    if rule.verbs.is_empty() {
        return (permissions, resources);
    }
    let scope = namespace.unwrap_or("*");
    for group in &rule.api_groups {
        let prefix = if group.is_empty() {
            String::new()
        } else {
            format!("{group}/")
        };
        for resource in &rule.resources {
            let resource = format!("{prefix}{resource}");
            for verb in &rule.verbs {
                push_unique(&mut permissions, format!("{resource}:{verb}"));
            }
            if rule.resource_names.is_empty() {
                push_unique(&mut resources, format!("{scope}/{resource}/*"));
            }
            for name in &rule.resource_names {
                push_unique(&mut resources, format!("{scope}/{resource}/{name}"));
            }
        }
    }
    if namespace.is_none() {
        for url in &rule.non_resource_urls {
            for verb in &rule.verbs {
                push_unique(&mut permissions, format!("nonresource:{url}:{verb}"));
            }
            push_unique(&mut resources, url.clone());
        }
    }
    (permissions, resources)
}

pub fn resolve(objects: &[Object], out: &mut Output) {
    let effective = effective_rules(objects, out);
    for object in objects {
        match &object.body {
            Body::Role { rules, aggregation } => {
                let count = effective.get(&role_key(object)).map_or(0, Vec::len);
                role_node(object, rules, aggregation.is_some(), count, out);
            }
            Body::Binding { role_ref, subjects } => {
                bind(object, role_ref.as_ref(), subjects, &effective, out);
            }
            _ => {}
        }
    }
}

fn role_node(role: &Object, rules: &[Rule], aggregated: bool, effective: usize, out: &mut Output) {
    let display = role.display();
    for (index, rule) in rules.iter().enumerate() {
        // The API server rejects both; a hand-written file may still hold them.
        if rule.verbs.is_empty() {
            out.warn(
                &role.origin.document,
                format!("{display}: rule {index} has no verbs; it grants nothing"),
            );
        } else if !rule.resources.is_empty() && rule.api_groups.is_empty() {
            let message = format!(
                "{display}: rule {index} names resources but no apiGroups; it grants nothing"
            );
            out.warn(&role.origin.document, message);
        }
    }
    let mut attributes = vec![("role-kind".to_string(), role.kind.as_str().to_string())];
    if role.kind == Kind::Role {
        attributes.push(("namespace".into(), role.namespace.clone()));
    }
    attributes.push(("rules".into(), effective.to_string()));
    if aggregated {
        attributes.push(("aggregated".into(), "true".into()));
    }
    attributes.extend(
        role.meta
            .labels
            .iter()
            .map(|(k, v)| (format!("label:{k}"), v.clone())),
    );
    out.node(Node {
        id: role_id(&role.cluster, role.kind, &role.namespace, &role.name),
        kind: "role".into(),
        cloud: Cloud::Kubernetes,
        name: role.name.clone(),
        attributes,
        evidence: vec![role.origin.evidence("document", display)],
    });
}

fn bind(
    binding: &Object,
    role_ref: Option<&RoleRef>,
    subjects: &[Subject],
    effective: &HashMap<RoleKey<'_>, Vec<EffectiveRule<'_>>>,
    out: &mut Output,
) {
    let cluster = binding.cluster.as_str();
    let document = binding.origin.document.as_str();
    let (via, scope) = match binding.kind {
        Kind::RoleBinding => (
            format!("RoleBinding {}/{}", binding.namespace, binding.name),
            Some(binding.namespace.as_str()),
        ),
        _ => (format!("ClusterRoleBinding {}", binding.name), None),
    };
    let Some(role_ref) = role_ref.filter(|r| !r.name.is_empty()) else {
        out.warn(document, format!("{via} has no roleRef; it grants nothing"));
        return;
    };
    // A RoleBinding's Role is in the binding's namespace; a ClusterRoleBinding
    // can only bind ClusterRoles.
    let role_kind = match (binding.kind, role_ref.kind.as_str()) {
        (_, "ClusterRole") => Kind::ClusterRole,
        (Kind::RoleBinding, "Role") => Kind::Role,
        (_, other) => {
            out.warn(
                document,
                format!("{via}: roleRef kind {other:?} cannot be bound here; it grants nothing"),
            );
            return;
        }
    };
    let role_namespace = if role_kind == Kind::Role {
        binding.namespace.as_str()
    } else {
        ""
    };
    let role = role_label(role_kind, role_namespace, &role_ref.name);
    let to = role_id(cluster, role_kind, role_namespace, &role_ref.name);
    let rules = effective.get(&(cluster, role_kind, role_namespace, role_ref.name.as_str()));
    if rules.is_none() {
        out.warn(
            document,
            format!("{via}: {role} is not in the snapshot; no grants derived from it"),
        );
    }
    let source = format!("{via} -> {role}");
    let binding_evidence = binding.origin.evidence("binding", via.clone());
    // Who to ask to narrow the binding.
    let owner_evidence = binding.meta.owner().map(|owner| {
        binding
            .origin
            .evidence("owner", format!("{via} is managed by {owner}"))
    });
    for (subject_index, subject) in subjects.iter().enumerate() {
        let Some(holder) = subject_node(binding, &via, subject, out) else {
            continue;
        };
        out.edge(
            holder.clone(),
            to.clone(),
            "bound-to",
            via.clone(),
            vec![binding_evidence.clone()],
        );
        for (rule_index, rule) in rules.into_iter().flatten().enumerate() {
            let (permissions, resources) = spell(rule.rule, scope);
            if permissions.is_empty() {
                continue;
            }
            let mut evidence = vec![binding_evidence.clone()];
            evidence.extend(owner_evidence.clone());
            let from = rule.from;
            let summary = if role_label(from.kind, &from.namespace, &from.name) == role {
                format!("rule {} of {role}", rule.index)
            } else {
                format!(
                    "rule {} of ClusterRole {}, aggregated into {role}",
                    rule.index, from.name
                )
            };
            evidence.push(from.origin.evidence_at(
                "document",
                &format!("/rules/{}", rule.index),
                summary,
            ));
            out.grant(Grant {
                // Binding names are unique per cluster, not across clusters.
                id: format!("k8s:{cluster}/{via}#{subject_index}#{rule_index}"),
                holder: holder.clone(),
                cloud: Cloud::Kubernetes,
                permissions,
                resources,
                effect: Effect::Allow,
                source: source.clone(),
                conditions: Vec::new(),
                evidence,
            });
        }
    }
}

/// The node a binding subject stands for; `None` (with a warning) when the
/// subject cannot be used.
fn subject_node(
    binding: &Object,
    via: &str,
    subject: &Subject,
    out: &mut Output,
) -> Option<String> {
    let cluster = binding.cluster.as_str();
    let document = binding.origin.document.as_str();
    if subject.name.is_empty() {
        out.warn(
            document,
            format!("{via}: a {} subject has no name; skipped", subject.kind),
        );
        return None;
    }
    let summary = format!("subject of {via}");
    match subject.kind.as_str() {
        "ServiceAccount" => {
            let namespace = subject.namespace.as_deref().filter(|ns| !ns.is_empty());
            // Only a RoleBinding lends its namespace to a subject that omits one.
            let namespace = namespace
                .or((binding.kind == Kind::RoleBinding).then_some(binding.namespace.as_str()));
            let Some(namespace) = namespace else {
                out.warn(
                    document,
                    format!(
                        "{via}: ServiceAccount subject {} has no namespace; skipped",
                        subject.name
                    ),
                );
                return None;
            };
            Some(out.referenced_service_account(
                cluster,
                namespace,
                &subject.name,
                &binding.origin,
                summary,
            ))
        }
        "User" => {
            // A service account authenticates as this user name, so the
            // binding is the service account's.
            let account = subject
                .name
                .strip_prefix(SERVICE_ACCOUNT_USER)
                .and_then(|rest| rest.split_once(':'));
            match account {
                Some((namespace, name))
                    if !namespace.is_empty() && !name.is_empty() && !name.contains(':') =>
                {
                    Some(out.referenced_service_account(
                        cluster,
                        namespace,
                        name,
                        &binding.origin,
                        summary,
                    ))
                }
                _ => Some(out.principal(cluster, "User", &subject.name)),
            }
        }
        "Group" => Some(out.principal(cluster, "Group", &subject.name)),
        other => {
            out.warn(
                document,
                format!("{via}: subject kind {other:?} is not an RBAC subject kind; skipped"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::document;
    use scopegraph_sdk::Level;

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Rule {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Rule {
            api_groups: strings(groups),
            resources: strings(resources),
            verbs: strings(verbs),
            ..Rule::default()
        }
    }

    #[test]
    fn core_group_has_no_prefix_and_others_do() {
        let (permissions, resources) = spell(
            &rule(
                &["", "apps"],
                &["deployments", "pods/exec"],
                &["get", "create"],
            ),
            None,
        );
        assert_eq!(
            permissions,
            [
                "deployments:get",
                "deployments:create",
                "pods/exec:get",
                "pods/exec:create",
                "apps/deployments:get",
                "apps/deployments:create",
                "apps/pods/exec:get",
                "apps/pods/exec:create",
            ]
        );
        assert_eq!(
            resources,
            [
                "*/deployments/*",
                "*/pods/exec/*",
                "*/apps/deployments/*",
                "*/apps/pods/exec/*"
            ]
        );
    }

    #[test]
    fn wildcards_stay_as_written() {
        let (permissions, resources) = spell(&rule(&["*"], &["*"], &["*"]), None);
        assert_eq!(permissions, ["*/*:*"]);
        assert_eq!(resources, ["*/*/*/*"]);
        let (permissions, _) = spell(&rule(&[""], &["secrets"], &["*"]), None);
        assert_eq!(permissions, ["secrets:*"]);
    }

    #[test]
    fn resource_names_and_namespace_scope_the_resources() {
        let mut named = rule(&[""], &["configmaps"], &["update"]);
        named.resource_names = vec!["cluster-info".into(), "kube-proxy".into()];
        let (permissions, resources) = spell(&named, Some("kube-public"));
        assert_eq!(permissions, ["configmaps:update"]);
        assert_eq!(
            resources,
            [
                "kube-public/configmaps/cluster-info",
                "kube-public/configmaps/kube-proxy"
            ]
        );
    }

    #[test]
    fn non_resource_urls_only_through_cluster_role_bindings() {
        let mut urls = rule(&[], &[], &["get"]);
        urls.non_resource_urls = vec!["/healthz".into(), "/version/*".into()];
        let (permissions, resources) = spell(&urls, None);
        assert_eq!(
            permissions,
            ["nonresource:/healthz:get", "nonresource:/version/*:get"]
        );
        assert_eq!(resources, ["/healthz", "/version/*"]);
        assert_eq!(spell(&urls, Some("default")), (vec![], vec![]));
    }

    #[test]
    fn a_rule_without_verbs_or_groups_grants_nothing() {
        assert_eq!(spell(&rule(&[""], &["pods"], &[]), None), (vec![], vec![]));
        assert_eq!(
            spell(&rule(&[], &["pods"], &["get"]), None),
            (vec![], vec![])
        );
    }

    #[test]
    fn unusable_rules_subjects_and_role_refs_are_reported() {
        let content = r#"{"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "ns"},
             "rules": [{"apiGroups": [""], "resources": ["pods"]}, {"resources": ["pods"], "verbs": ["get"]}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "crb"},
             "roleRef": {"kind": "Role", "name": "r"}, "subjects": []},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb", "namespace": "ns"},
             "roleRef": {"kind": "Role", "name": "r"},
             "subjects": [{"kind": "Robot", "name": "x"}, {"kind": "Group", "name": ""}, {"kind": "ServiceAccount", "name": "sa"}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "sa-nowhere"},
             "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "ServiceAccount", "name": "sa"}]}]}"#;
        let out = crate::resolve(&[document("d", content)]);
        let messages: Vec<&str> = out.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "Role ns/r: rule 0 has no verbs; it grants nothing",
                "Role ns/r: rule 1 names resources but no apiGroups; it grants nothing",
                "ClusterRoleBinding crb: roleRef kind \"Role\" cannot be bound here; it grants nothing",
                "RoleBinding ns/rb: subject kind \"Robot\" is not an RBAC subject kind; skipped",
                "RoleBinding ns/rb: a Group subject has no name; skipped",
                "ClusterRoleBinding sa-nowhere: ClusterRole view is not in the snapshot; no grants derived from it",
                "ClusterRoleBinding sa-nowhere: ServiceAccount subject sa has no namespace; skipped",
            ]
        );
        assert!(
            out.diagnostics
                .iter()
                .all(|d| d.level == Level::Warn && d.source == "d")
        );
        // The usable subject is still bound, defaulting to the binding's namespace.
        assert!(
            out.edges
                .iter()
                .any(|e| e.from == "k8s:c/ns/ServiceAccount/sa" && e.to == "k8s:c/ns/Role/r")
        );
        assert!(out.grants.is_empty(), "neither rule grants anything");
    }
}
