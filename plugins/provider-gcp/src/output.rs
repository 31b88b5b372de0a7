//! The provider's output under construction: node ids by convention, nodes
//! merged by id (the host rejects duplicates), edges deduplicated.

use crate::input::KubeServiceAccount;
use scopegraph_sdk::{Cloud, Diagnostic, Edge, EvidenceRef, Grant, Level, Node, ProviderOutput};
use std::collections::{BTreeMap, HashMap, HashSet};

/// `k8s:{cluster}/{namespace}/ServiceAccount/{name}`.
pub fn ksa_id(cluster: &str, namespace: &str, name: &str) -> String {
    format!("k8s:{cluster}/{namespace}/ServiceAccount/{name}")
}

/// `k8s:{cluster}/Group/{name}`.
pub fn group_id(cluster: &str, name: &str) -> String {
    format!("k8s:{cluster}/Group/{name}")
}

#[derive(Debug, Default)]
pub struct Output {
    nodes: BTreeMap<String, Node>,
    edges: Vec<Edge>,
    /// (from, to, kind) → index in `edges`.
    edge_keys: HashMap<(String, String, String), usize>,
    grants: Vec<Grant>,
    grant_ids: HashSet<String>,
    diagnostics: Vec<Diagnostic>,
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

    /// A GCP identity node (`cloud-identity`); returns its id.
    pub fn identity(
        &mut self,
        id: String,
        name: &str,
        attributes: Vec<(String, String)>,
        evidence: Vec<EvidenceRef>,
    ) -> String {
        self.node(Node {
            id: id.clone(),
            kind: "cloud-identity".into(),
            cloud: Cloud::Gcp,
            name: name.into(),
            attributes,
            evidence,
        });
        id
    }

    /// The node of a Kubernetes ServiceAccount read from the snapshot.
    pub fn ksa(&mut self, account: &KubeServiceAccount) -> String {
        let id = ksa_id(&account.cluster, &account.namespace, &account.name);
        let mut attributes = vec![("namespace".to_string(), account.namespace.clone())];
        let mut evidence = vec![account.origin.evidence(
            "document",
            format!("ServiceAccount {}/{}", account.namespace, account.name),
        )];
        if let Some(gsa) = &account.gsa {
            attributes.push(("gcp-service-account".into(), gsa.clone()));
            evidence.push(account.annotation_origin().evidence(
                "document",
                format!("annotation iam.gke.io/gcp-service-account: {gsa}"),
            ));
        }
        self.node(Node {
            id: id.clone(),
            kind: "service-account".into(),
            cloud: Cloud::Kubernetes,
            name: format!(
                "system:serviceaccount:{}:{}",
                account.namespace, account.name
            ),
            attributes,
            evidence,
        });
        id
    }

    /// A Kubernetes group every service account of the cluster (or of a
    /// namespace) is a member of; returns its id.
    pub fn group(&mut self, cluster: &str, name: &str) -> String {
        let id = group_id(cluster, name);
        self.node(Node {
            id: id.clone(),
            kind: "group".into(),
            cloud: Cloud::Kubernetes,
            name: name.into(),
            ..Node::default()
        });
        id
    }

    /// Add an edge unless one with the same ends and kind exists (the first
    /// `via` is kept; later evidence is added to it).
    pub fn edge(
        &mut self,
        from: String,
        to: String,
        kind: &str,
        via: String,
        evidence: Vec<EvidenceRef>,
    ) {
        let key = (from.clone(), to.clone(), kind.to_string());
        if let Some(existing) = self
            .edge_keys
            .get(&key)
            .and_then(|&i| self.edges.get_mut(i))
        {
            for item in evidence {
                if !existing.evidence.contains(&item) {
                    existing.evidence.push(item);
                }
            }
            return;
        }
        self.edge_keys.insert(key, self.edges.len());
        self.edges.push(Edge {
            from,
            to,
            kind: kind.into(),
            via,
            evidence,
        });
    }

    pub fn has_edge(&self, from: &str, to: &str, kind: &str) -> bool {
        self.edge_keys
            .contains_key(&(from.to_string(), to.to_string(), kind.to_string()))
    }

    /// Add a grant; a second grant with the same id is dropped (the caller
    /// deduplicates policies, so this only guards the host's check).
    pub fn grant(&mut self, grant: Grant) {
        if self.grant_ids.insert(grant.id.clone()) {
            self.grants.push(grant);
        }
    }

    pub fn warn(&mut self, source: &str, message: String) {
        self.diagnostic(Level::Warn, source, message);
    }

    pub fn info(&mut self, source: &str, message: String) {
        self.diagnostic(Level::Info, source, message);
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

    pub fn finish(self) -> ProviderOutput {
        ProviderOutput {
            nodes: self.nodes.into_values().collect(),
            edges: self.edges,
            grants: self.grants,
            diagnostics: self.diagnostics,
        }
    }
}
