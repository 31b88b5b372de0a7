//! The provider's output under construction: node ids by convention
//! (`plugins/README.md`), nodes merged by id, edges deduplicated.

use scopegraph_sdk::{Diagnostic, Edge, EvidenceRef, Grant, Level, Node, ProviderOutput};
use std::collections::{BTreeMap, HashMap, HashSet};

/// `aws:{arn}`.
pub fn aws_id(arn: &str) -> String {
    format!("aws:{arn}")
}

/// `k8s:{cluster}/{namespace}/ServiceAccount/{name}`.
pub fn service_account_id(cluster: &str, namespace: &str, name: &str) -> String {
    format!("k8s:{cluster}/{namespace}/ServiceAccount/{name}")
}

/// `k8s:{cluster}/Group/{name}`.
pub fn group_id(cluster: &str, name: &str) -> String {
    format!("k8s:{cluster}/Group/{name}")
}

/// The group every ServiceAccount of a cluster is a member of.
pub const ALL_SERVICE_ACCOUNTS: &str = "system:serviceaccounts";

#[derive(Debug, Default)]
pub struct Output {
    nodes: BTreeMap<String, Node>,
    edges: Vec<Edge>,
    /// (from, to, kind): one edge per relation; later derivations of the
    /// same relation add their evidence to the first.
    edge_index: HashMap<(String, String, String), usize>,
    grants: Vec<Grant>,
    grant_ids: HashSet<String>,
    diagnostics: Vec<Diagnostic>,
}

impl Output {
    /// Add a node, or merge attributes and evidence into the existing one.
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
            .edge_index
            .get(&key)
            .and_then(|&i| self.edges.get_mut(i))
        {
            for e in evidence {
                if !existing.evidence.contains(&e) {
                    existing.evidence.push(e);
                }
            }
            return;
        }
        self.edge_index.insert(key, self.edges.len());
        self.edges.push(Edge {
            from,
            to,
            kind: kind.into(),
            via,
            evidence,
        });
    }

    /// Add a grant; ids are unique by construction, a repeat is dropped.
    pub fn grant(&mut self, grant: Grant) {
        if self.grant_ids.insert(grant.id.clone()) {
            self.grants.push(grant);
        }
    }

    pub fn diagnostic(&mut self, level: Level, source: &str, message: String) {
        let diagnostic = Diagnostic {
            level,
            source: source.into(),
            message,
        };
        if !self.diagnostics.contains(&diagnostic) {
            self.diagnostics.push(diagnostic);
        }
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
