//! `who-can`: which Kubernetes subjects may perform a verb on a resource,
//! answered from the Kubernetes grants in the graph with the RBAC
//! authorizer's matching rules.
//!
//! Grants spell one RBAC rule each (the findings schema's spelling):
//! permissions `[group/]resource[/subresource]:verb` and resources
//! `{namespace or *}/[group/]resource[/subresource]/{name or *}`. A
//! two-segment `a/b` is a group and a resource when `a` is an API group
//! (contains a dot, is `*`, or is one of the dot-less built-in groups), and a
//! resource and subresource otherwise.

use crate::graph::IdentityGraph;
use crate::spelling::DOTLESS_GROUPS;
use crate::{Cloud, Grant};
use std::collections::BTreeMap;

/// Built-in resource types: plural, singular, short names, API group.
const BUILTIN_TYPES: &[(&str, &str, &[&str], &str)] = &[
    ("pods", "pod", &["po"], ""),
    ("services", "service", &["svc"], ""),
    ("secrets", "secret", &[], ""),
    ("configmaps", "configmap", &["cm"], ""),
    ("serviceaccounts", "serviceaccount", &["sa"], ""),
    ("namespaces", "namespace", &["ns"], ""),
    ("nodes", "node", &["no"], ""),
    ("persistentvolumes", "persistentvolume", &["pv"], ""),
    (
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        &["pvc"],
        "",
    ),
    ("endpoints", "endpoints", &["ep"], ""),
    ("events", "event", &["ev"], ""),
    ("limitranges", "limitrange", &["limits"], ""),
    ("resourcequotas", "resourcequota", &["quota"], ""),
    (
        "replicationcontrollers",
        "replicationcontroller",
        &["rc"],
        "",
    ),
    ("podtemplates", "podtemplate", &[], ""),
    ("deployments", "deployment", &["deploy"], "apps"),
    ("replicasets", "replicaset", &["rs"], "apps"),
    ("statefulsets", "statefulset", &["sts"], "apps"),
    ("daemonsets", "daemonset", &["ds"], "apps"),
    ("controllerrevisions", "controllerrevision", &[], "apps"),
    ("jobs", "job", &[], "batch"),
    ("cronjobs", "cronjob", &["cj"], "batch"),
    (
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        &["hpa"],
        "autoscaling",
    ),
    (
        "poddisruptionbudgets",
        "poddisruptionbudget",
        &["pdb"],
        "policy",
    ),
    ("ingresses", "ingress", &["ing"], "networking.k8s.io"),
    (
        "networkpolicies",
        "networkpolicy",
        &["netpol"],
        "networking.k8s.io",
    ),
    ("roles", "role", &[], "rbac.authorization.k8s.io"),
    (
        "rolebindings",
        "rolebinding",
        &[],
        "rbac.authorization.k8s.io",
    ),
    (
        "clusterroles",
        "clusterrole",
        &[],
        "rbac.authorization.k8s.io",
    ),
    (
        "clusterrolebindings",
        "clusterrolebinding",
        &[],
        "rbac.authorization.k8s.io",
    ),
    (
        "customresourcedefinitions",
        "customresourcedefinition",
        &["crd", "crds"],
        "apiextensions.k8s.io",
    ),
    ("storageclasses", "storageclass", &["sc"], "storage.k8s.io"),
    (
        "certificatesigningrequests",
        "certificatesigningrequest",
        &["csr"],
        "certificates.k8s.io",
    ),
    ("tokenreviews", "tokenreview", &[], "authentication.k8s.io"),
    (
        "subjectaccessreviews",
        "subjectaccessreview",
        &[],
        "authorization.k8s.io",
    ),
    ("leases", "lease", &[], "coordination.k8s.io"),
    (
        "priorityclasses",
        "priorityclass",
        &["pc"],
        "scheduling.k8s.io",
    ),
    (
        "mutatingwebhookconfigurations",
        "mutatingwebhookconfiguration",
        &[],
        "admissionregistration.k8s.io",
    ),
    (
        "validatingwebhookconfigurations",
        "validatingwebhookconfiguration",
        &[],
        "admissionregistration.k8s.io",
    ),
];

/// A `who-can` question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub verb: String,
    /// Plural resource name.
    pub resource: String,
    /// `None`: any group matches.
    pub group: Option<String>,
    pub subresource: Option<String>,
    pub name: Option<String>,
    /// `None`: anywhere in the cluster.
    pub namespace: Option<String>,
    /// `None`: every cluster of the snapshot.
    pub cluster: Option<String>,
}

impl Query {
    /// Parse kubectl's forms: `pods`, `pod`, `po`, `deployments.apps`,
    /// `secrets/db-password`, `deploy.apps/web`.
    pub fn parse(verb: &str, resource: &str) -> Result<Query, String> {
        if verb.is_empty() {
            return Err("the verb is empty".into());
        }
        let (type_part, name) = match resource.split_once('/') {
            Some((t, n)) if !n.is_empty() && !n.contains('/') => (t, Some(n.to_string())),
            Some(_) => return Err(format!("{resource:?} is not TYPE[.GROUP][/NAME]")),
            None => (resource, None),
        };
        let (type_name, group) = match type_part.split_once('.') {
            Some((t, g)) => (t, Some(g.to_string())),
            None => (type_part, None),
        };
        if type_name.is_empty() {
            return Err(format!("{resource:?} names no resource type"));
        }
        let lower = type_name.to_ascii_lowercase();
        let builtin = BUILTIN_TYPES.iter().find(|(plural, singular, short, g)| {
            (*plural == lower || *singular == lower || short.contains(&lower.as_str()))
                && group
                    .as_deref()
                    .is_none_or(|wanted| wanted == *g || (wanted == "core" && g.is_empty()))
        });
        let resource = builtin
            .map(|(plural, ..)| plural.to_string())
            .unwrap_or(lower);
        Ok(Query {
            verb: verb.to_string(),
            resource,
            group: group.map(|g| if g == "core" { String::new() } else { g }),
            subresource: None,
            name,
            namespace: None,
            cluster: None,
        })
    }
}

/// One subject that may do it, with the bindings that allow it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Subject {
    /// `User`, `Group` or `ServiceAccount`.
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub via: Vec<String>,
}

/// `[group/]resource[/sub]` -> (group, resource, sub).
fn split_resource(spelled: &str) -> (&str, &str, Option<&str>) {
    let parts: Vec<&str> = spelled.split('/').collect();
    match parts.as_slice() {
        [resource] => ("", resource, None),
        [a, b] if a.contains('.') || DOTLESS_GROUPS.contains(a) => (a, b, None),
        [resource, sub] => ("", resource, Some(sub)),
        [group, resource, sub, ..] => (group, resource, Some(sub)),
        [] => ("", "", None),
    }
}

fn resource_matches(query: &Query, group: &str, resource: &str, sub: Option<&str>) -> bool {
    let group_ok = group == "*" || query.group.as_deref().is_none_or(|g| g == group);
    // The RBAC authorizer: `*` matches everything, `pods/*` every
    // subresource of pods, `*/scale` the scale subresource of anything.
    let resource_ok = match (sub, query.subresource.as_deref()) {
        (None, None) => resource == "*" || resource == query.resource,
        (None, Some(_)) => resource == "*",
        (Some(s), None) => resource == "*" && s == "*",
        (Some(s), Some(qs)) => {
            (resource == "*" || resource == query.resource) && (s == "*" || s == qs)
        }
    };
    group_ok && resource_ok
}

/// Does this one-rule grant allow the query?
pub fn grant_allows(grant: &Grant, query: &Query) -> bool {
    rule_allows(&grant.permissions, &grant.resources, query)
}

impl Query {
    /// The request an observed use stands for: a permission
    /// (`[group/]resource[/sub]:verb`) on a resource
    /// (`NAMESPACE/[group/]resource[/sub]/NAME`, `*` for none), as the
    /// usage model spells them. `None` for non-resource URLs.
    pub fn observed(permission: &str, resource: Option<&str>) -> Option<Query> {
        let (spelled, verb) = permission.rsplit_once(':')?;
        if spelled.starts_with("nonresource:") || spelled.contains('*') || verb == "*" {
            return None;
        }
        let (group, resource_type, sub) = split_resource(spelled);
        let (namespace, name) = match resource.and_then(|r| {
            let (ns, rest) = r.split_once('/')?;
            Some((ns, rest.rsplit_once('/')?.1))
        }) {
            Some((ns, name)) => (
                (ns != "*").then(|| ns.to_string()),
                (name != "*").then(|| name.to_string()),
            ),
            None => (None, None),
        };
        Some(Query {
            verb: verb.to_string(),
            resource: resource_type.to_string(),
            group: Some(group.to_string()),
            subresource: sub.map(str::to_string),
            name,
            namespace,
            cluster: None,
        })
    }
}

/// Do these permissions on these resources (one RBAC rule, spelled as a
/// grant) allow the query?
pub fn rule_allows(permissions: &[String], resources: &[String], query: &Query) -> bool {
    let verb_and_resource = permissions.iter().any(|p| {
        let Some((spelled, verb)) = p.rsplit_once(':') else {
            return false;
        };
        if spelled.starts_with("nonresource:") || !(verb == "*" || verb == query.verb) {
            return false;
        }
        let (group, resource, sub) = split_resource(spelled);
        resource_matches(query, group, resource, sub)
    });
    if !verb_and_resource {
        return false;
    }
    resources.iter().any(|r| {
        let Some((scope, rest)) = r.split_once('/') else {
            return false;
        };
        let Some((spelled, name)) = rest.rsplit_once('/') else {
            return false;
        };
        let (group, resource, sub) = split_resource(spelled);
        let scope_ok = match &query.namespace {
            Some(ns) => scope == "*" || scope == ns,
            None => true,
        };
        // A rule limited to resourceNames never matches a request without a name.
        let name_ok = name == "*" || query.name.as_deref() == Some(name);
        scope_ok && name_ok && resource_matches(query, group, resource, sub)
    })
}

/// `k8s:{cluster}/...` -> (cluster, kind, name, namespace) for RBAC subjects.
fn subject_of(id: &str) -> Option<(String, String, String, Option<String>)> {
    let rest = id.strip_prefix("k8s:")?;
    let (cluster, path) = rest.split_once('/')?;
    let parts: Vec<&str> = path.splitn(3, '/').collect();
    match parts.as_slice() {
        ["User", name] => Some((cluster.into(), "User".into(), (*name).into(), None)),
        ["Group", name] => Some((cluster.into(), "Group".into(), (*name).into(), None)),
        [ns, "ServiceAccount", name] => Some((
            cluster.into(),
            "ServiceAccount".into(),
            (*name).into(),
            Some((*ns).into()),
        )),
        _ => None,
    }
}

/// Every subject allowed by some Kubernetes grant, sorted by kind and name.
pub fn who_can(graph: &IdentityGraph, query: &Query) -> Vec<Subject> {
    let mut found: BTreeMap<(String, String, Option<String>), Vec<String>> = BTreeMap::new();
    for grant in graph.grants() {
        if grant.cloud != Cloud::Kubernetes || grant.effect != scopegraph_sdk::Effect::Allow {
            continue;
        }
        let Some((cluster, kind, name, namespace)) = subject_of(&grant.holder) else {
            continue;
        };
        if query.cluster.as_ref().is_some_and(|c| *c != cluster) || !grant_allows(grant, query) {
            continue;
        }
        let via = found.entry((kind, name, namespace)).or_default();
        if !via.contains(&grant.source) {
            via.push(grant.source.clone());
        }
    }
    found
        .into_iter()
        .map(|((kind, name, namespace), via)| Subject {
            kind,
            name,
            namespace,
            via,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(permissions: &[&str], resources: &[&str]) -> Grant {
        Grant {
            cloud: Cloud::Kubernetes,
            permissions: permissions.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            ..Grant::default()
        }
    }

    fn q(verb: &str, resource: &str) -> Query {
        Query::parse(verb, resource).unwrap()
    }

    #[test]
    fn parses_kubectl_resource_forms() {
        assert_eq!(q("get", "po").resource, "pods");
        assert_eq!(q("get", "pod").resource, "pods");
        let d = q("patch", "deploy.apps/web");
        assert_eq!(
            (d.resource.as_str(), d.group.as_deref(), d.name.as_deref()),
            ("deployments", Some("apps"), Some("web"))
        );
        assert_eq!(
            q("get", "widgets.example.com").group.as_deref(),
            Some("example.com")
        );
        assert!(Query::parse("get", "a/b/c").is_err());
    }

    #[test]
    fn wildcards_resource_names_and_subresources_follow_the_authorizer() {
        let all = grant(&["*/*:*"], &["*/*/*/*"]);
        assert!(grant_allows(&all, &q("delete", "secrets")));

        let named = grant(&["secrets:get"], &["ns1/secrets/db"]);
        assert!(
            !grant_allows(&named, &q("get", "secrets")),
            "resourceNames need a name"
        );
        assert!(grant_allows(&named, &q("get", "secrets/db")));
        let mut in_ns2 = q("get", "secrets/db");
        in_ns2.namespace = Some("ns2".into());
        assert!(!grant_allows(&named, &in_ns2));

        let exec = grant(&["pods/exec:create"], &["*/pods/exec/*"]);
        let mut query = q("create", "pods");
        assert!(
            !grant_allows(&exec, &query),
            "pods/exec does not grant pods"
        );
        query.subresource = Some("exec".into());
        assert!(grant_allows(&exec, &query));

        let pods = grant(&["pods:create"], &["*/pods/*"]);
        assert!(
            !grant_allows(&pods, &query),
            "pods does not grant pods/exec"
        );
        let any_sub = grant(&["pods/*:create"], &["*/pods/*/*"]);
        assert!(grant_allows(&any_sub, &query));

        let deployments = grant(&["apps/deployments:patch"], &["*/apps/deployments/*"]);
        assert!(grant_allows(&deployments, &q("patch", "deployments")));
        assert!(grant_allows(&deployments, &q("patch", "deployments.apps")));
        assert!(!grant_allows(
            &deployments,
            &q("patch", "deployments.extensions")
        ));
        assert!(!grant_allows(&deployments, &q("get", "deployments")));
    }
}
