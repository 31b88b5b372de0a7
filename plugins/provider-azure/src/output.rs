//! The provider's output under construction: node ids by convention, nodes
//! merged by id (the host rejects duplicates), edges deduplicated, and where
//! each fact was read (`Origin`) for evidence.

use scopegraph_sdk::{Diagnostic, Edge, EvidenceRef, Grant, Level, Node, ProviderOutput};
use std::collections::{BTreeMap, HashSet};

/// `azure:{principalId}`: the object id role assignments name. GUIDs are
/// compared case-insensitively by Azure, so ids use the lowercase spelling.
pub fn principal_id(object_id: &str) -> String {
    format!("azure:{}", object_id.to_ascii_lowercase())
}

/// `k8s:{cluster}/{namespace}/ServiceAccount/{name}`, as provider-kubernetes spells it.
pub fn service_account_id(cluster: &str, namespace: &str, name: &str) -> String {
    format!("k8s:{cluster}/{namespace}/ServiceAccount/{name}")
}

/// `k8s:{cluster}/Group/{name}`.
pub fn group_id(cluster: &str, name: &str) -> String {
    format!("k8s:{cluster}/Group/{name}")
}

/// One reference token of a JSON pointer (RFC 6901): `~` and `/` escaped.
pub fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Where a fact was read from, for evidence and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    pub document: String,
    /// JSON pointer to the object inside the document, empty for the whole document.
    pub pointer: String,
}

impl Origin {
    pub fn new(document: &str, pointer: String) -> Origin {
        Origin {
            document: document.into(),
            pointer,
        }
    }

    /// `doc-id` or `doc-id#/3`, as `evidence-ref.reference` expects.
    pub fn reference(&self) -> String {
        if self.pointer.is_empty() {
            self.document.clone()
        } else {
            format!("{}#{}", self.document, self.pointer)
        }
    }

    pub fn evidence(&self, kind: &str, summary: String) -> EvidenceRef {
        EvidenceRef {
            kind: kind.into(),
            reference: self.reference(),
            summary,
        }
    }

    /// Evidence pointing inside the object, `pointer` relative to it (`/subject`).
    pub fn evidence_at(&self, kind: &str, pointer: &str, summary: String) -> EvidenceRef {
        EvidenceRef {
            kind: kind.into(),
            reference: format!("{}#{}{pointer}", self.document, self.pointer),
            summary,
        }
    }
}

#[derive(Debug, Default)]
pub struct Output {
    nodes: BTreeMap<String, Node>,
    edges: Vec<Edge>,
    edge_keys: HashSet<(String, String, String)>,
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

    pub fn has_node(&self, id: &str) -> bool {
        self.nodes.contains_key(id)
    }

    /// Add an edge unless one with the same ends and kind exists.
    pub fn edge(&mut self, edge: Edge) {
        let key = (edge.from.clone(), edge.to.clone(), edge.kind.clone());
        if self.edge_keys.insert(key) {
            self.edges.push(edge);
        }
    }

    pub fn has_edge(&self, from: &str, to: &str, kind: &str) -> bool {
        self.edge_keys
            .contains(&(from.to_string(), to.to_string(), kind.to_string()))
    }

    /// Add a grant; returns false (and adds nothing) if its id is taken.
    pub fn grant(&mut self, grant: Grant) -> bool {
        if !self.grant_ids.insert(grant.id.clone()) {
            return false;
        }
        self.grants.push(grant);
        true
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

    pub fn finish(self) -> ProviderOutput {
        ProviderOutput {
            nodes: self.nodes.into_values().collect(),
            edges: self.edges,
            grants: self.grants,
            diagnostics: self.diagnostics,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_tokens_escape_slashes_and_tildes() {
        assert_eq!(
            pointer_token("azure.workload.identity/client-id"),
            "azure.workload.identity~1client-id"
        );
        assert_eq!(pointer_token("a~b"), "a~0b");
    }

    #[test]
    fn principal_ids_are_lowercase() {
        assert_eq!(
            principal_id("6F1D3E5A-0000-4000-8000-000000000001"),
            "azure:6f1d3e5a-0000-4000-8000-000000000001"
        );
    }
}
