//! The provider's output under construction: node ids by convention, nodes
//! merged by id (the host rejects duplicates), edges deduplicated.

use crate::objects::Origin;
use scopegraph_sdk::{Cloud, Diagnostic, Edge, EvidenceRef, Grant, Level, Node, ProviderOutput};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// `k8s:{cluster}/{namespace}/{Kind}/{name}`.
pub fn namespaced_id(cluster: &str, namespace: &str, kind: &str, name: &str) -> String {
    format!("k8s:{cluster}/{namespace}/{kind}/{name}")
}

/// `k8s:{cluster}/{Kind}/{name}` for ClusterRoles, Users and Groups.
pub fn cluster_id(cluster: &str, kind: &str, name: &str) -> String {
    format!("k8s:{cluster}/{kind}/{name}")
}

pub fn service_account_id(cluster: &str, namespace: &str, name: &str) -> String {
    namespaced_id(cluster, namespace, "ServiceAccount", name)
}

/// Every service account authenticates with these groups as well as its own name.
fn implicit_groups(namespace: &str) -> [String; 3] {
    [
        "system:serviceaccounts".into(),
        format!("system:serviceaccounts:{namespace}"),
        "system:authenticated".into(),
    ]
}

#[derive(Debug, Default)]
pub struct Output {
    nodes: BTreeMap<String, Node>,
    edges: Vec<Edge>,
    edge_keys: HashSet<(String, String, String, String)>,
    grants: Vec<Grant>,
    diagnostics: Vec<Diagnostic>,
    /// (cluster, namespace, name) of every service account node.
    service_accounts: BTreeSet<(String, String, String)>,
}

impl Output {
    /// Add a node; if one with the same id exists, `node`'s attributes and
    /// evidence are added to it (keys it already has are kept).
    pub fn node(&mut self, node: Node) {
        match self.nodes.get_mut(&node.id) {
            Some(existing) => {
                for (key, value) in node.attributes {
                    if !existing.attributes.iter().any(|(k, _)| *k == key) {
                        existing.attributes.push((key, value));
                    }
                }
                for evidence in node.evidence {
                    if !existing.evidence.contains(&evidence) {
                        existing.evidence.push(evidence);
                    }
                }
            }
            None => {
                self.nodes.insert(node.id.clone(), node);
            }
        }
    }

    pub fn has_node(&self, id: &str) -> bool {
        self.nodes.contains_key(id)
    }

    pub fn edge(
        &mut self,
        from: String,
        to: String,
        kind: &str,
        via: String,
        evidence: Vec<EvidenceRef>,
    ) {
        let key = (from.clone(), to.clone(), kind.to_string(), via.clone());
        if self.edge_keys.insert(key) {
            self.edges.push(Edge {
                from,
                to,
                kind: kind.into(),
                via,
                evidence,
            });
        }
    }

    pub fn grant(&mut self, grant: Grant) {
        self.grants.push(grant);
    }

    pub fn warn(&mut self, source: &str, message: String) {
        self.diagnostic(Level::Warn, source, message);
    }

    pub fn diagnostic(&mut self, level: Level, source: &str, message: String) {
        self.diagnostics.push(Diagnostic {
            level,
            source: source.into(),
            message,
        });
    }

    pub fn extend_diagnostics(&mut self, diagnostics: Vec<Diagnostic>) {
        self.diagnostics.extend(diagnostics);
    }

    /// Make sure a service account node exists; one known only from a
    /// reference gets `present = false` and evidence pointing at the referrer.
    /// Returns its id.
    pub fn referenced_service_account(
        &mut self,
        cluster: &str,
        namespace: &str,
        name: &str,
        referrer: &Origin,
        summary: String,
    ) -> String {
        let id = service_account_id(cluster, namespace, name);
        if !self.has_node(&id) {
            self.service_account(
                cluster,
                namespace,
                name,
                vec![("present".into(), "false".into())],
                referrer.evidence("document", summary),
            );
        }
        id
    }

    /// Add a service account node (attributes beyond `namespace` given by the caller).
    pub fn service_account(
        &mut self,
        cluster: &str,
        namespace: &str,
        name: &str,
        attributes: Vec<(String, String)>,
        evidence: EvidenceRef,
    ) {
        let mut all = vec![("namespace".to_string(), namespace.to_string())];
        all.extend(attributes);
        self.node(Node {
            id: service_account_id(cluster, namespace, name),
            kind: "service-account".into(),
            cloud: Cloud::Kubernetes,
            name: format!("system:serviceaccount:{namespace}:{name}"),
            attributes: all,
            evidence: vec![evidence],
        });
        self.service_accounts
            .insert((cluster.into(), namespace.into(), name.into()));
    }

    /// A User or Group node (`kind` is `User` or `Group`); returns its id.
    pub fn principal(&mut self, cluster: &str, kind: &str, name: &str) -> String {
        let id = cluster_id(cluster, kind, name);
        self.node(Node {
            id: id.clone(),
            kind: kind.to_ascii_lowercase(),
            cloud: Cloud::Kubernetes,
            name: name.into(),
            ..Node::default()
        });
        id
    }

    /// Add the implicit group memberships of every service account, then
    /// hand the output over.
    pub fn finish(mut self) -> ProviderOutput {
        for (cluster, namespace, name) in std::mem::take(&mut self.service_accounts) {
            let from = service_account_id(&cluster, &namespace, &name);
            for group in implicit_groups(&namespace) {
                let to = self.principal(&cluster, "Group", &group);
                self.edge(
                    from.clone(),
                    to,
                    "member-of",
                    "implicit group".into(),
                    Vec::new(),
                );
            }
        }
        ProviderOutput {
            nodes: self.nodes.into_values().collect(),
            edges: self.edges,
            grants: self.grants,
            diagnostics: self.diagnostics,
        }
    }
}
