//! One graph reconciling every provider's nodes, edges and grants.

use crate::{Diagnostic, Edge, Grant, Node};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::HashMap;

/// A node of the reconciled graph: the provider's node plus where it came from.
#[derive(Debug, Clone)]
pub struct GraphNode {
    pub node: Node,
    /// `id@version` of the plugins that described it.
    pub providers: Vec<String>,
    /// True when an edge referred to it but no provider described it.
    pub placeholder: bool,
}

/// The identity graph: petgraph for structure, grants indexed by holder.
#[derive(Debug, Default)]
pub struct IdentityGraph {
    graph: DiGraph<GraphNode, Edge>,
    index: HashMap<String, NodeIndex>,
    grants: Vec<Grant>,
    grants_by_holder: HashMap<NodeIndex, Vec<usize>>,
}

impl IdentityGraph {
    /// Reconcile provider outputs, each tagged with the provider's label.
    /// Nodes with the same id are merged (attributes and evidence appended);
    /// an edge or grant naming an unknown node gets a placeholder node and
    /// an info diagnostic, so a chain that crosses providers is never lost.
    pub fn build(
        outputs: Vec<(String, crate::ProviderOutput)>,
    ) -> (IdentityGraph, Vec<Diagnostic>) {
        let mut g = IdentityGraph::default();
        let mut diagnostics = Vec::new();
        let mut pending_edges = Vec::new();
        for (provider, output) in outputs {
            for node in output.nodes {
                g.merge_node(node, &provider);
            }
            for d in output.diagnostics {
                diagnostics.push(Diagnostic {
                    level: d.level,
                    source: format!("{provider}: {}", d.source),
                    message: d.message,
                });
            }
            pending_edges.extend(output.edges.into_iter().map(|e| (provider.clone(), e)));
            for grant in output.grants {
                g.grants.push(grant);
            }
        }
        for (provider, edge) in pending_edges {
            let from = g.node_or_placeholder(&edge.from, &provider, &mut diagnostics);
            let to = g.node_or_placeholder(&edge.to, &provider, &mut diagnostics);
            g.graph.add_edge(from, to, edge);
        }
        for i in 0..g.grants.len() {
            let holder = g
                .grants
                .get(i)
                .map(|gr| gr.holder.clone())
                .unwrap_or_default();
            let index = g.node_or_placeholder(&holder, "grant", &mut diagnostics);
            g.grants_by_holder.entry(index).or_default().push(i);
        }
        (g, diagnostics)
    }

    fn merge_node(&mut self, node: Node, provider: &str) {
        match self.index.get(&node.id) {
            Some(&ix) => {
                if let Some(existing) = self.graph.node_weight_mut(ix) {
                    if existing.placeholder {
                        existing.node.kind = node.kind.clone();
                        existing.node.name = node.name.clone();
                        existing.node.cloud = node.cloud;
                        existing.placeholder = false;
                    }
                    existing.node.attributes.extend(node.attributes);
                    existing.node.evidence.extend(node.evidence);
                    existing.providers.push(provider.to_string());
                }
            }
            None => {
                let id = node.id.clone();
                let ix = self.graph.add_node(GraphNode {
                    node,
                    providers: vec![provider.to_string()],
                    placeholder: false,
                });
                self.index.insert(id, ix);
            }
        }
    }

    fn node_or_placeholder(
        &mut self,
        id: &str,
        referrer: &str,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> NodeIndex {
        if let Some(&ix) = self.index.get(id) {
            return ix;
        }
        diagnostics.push(Diagnostic::info(
            referrer,
            format!("{id} is referenced but described by no document; kept as a placeholder"),
        ));
        let ix = self.graph.add_node(GraphNode {
            node: Node {
                id: id.to_string(),
                kind: "unknown".into(),
                name: id.to_string(),
                ..Node::default()
            },
            providers: Vec::new(),
            placeholder: true,
        });
        self.index.insert(id.to_string(), ix);
        ix
    }

    pub fn node(&self, ix: NodeIndex) -> Option<&GraphNode> {
        self.graph.node_weight(ix)
    }

    pub fn lookup(&self, id: &str) -> Option<NodeIndex> {
        self.index.get(id).copied()
    }

    pub fn nodes(&self) -> impl Iterator<Item = (NodeIndex, &GraphNode)> {
        self.graph
            .node_indices()
            .filter_map(|ix| self.graph.node_weight(ix).map(|n| (ix, n)))
    }

    /// Outgoing edges of a node, with their targets.
    pub fn out_edges(&self, ix: NodeIndex) -> impl Iterator<Item = (NodeIndex, &Edge)> {
        use petgraph::visit::EdgeRef;
        self.graph.edges(ix).map(|e| (e.target(), e.weight()))
    }

    /// Grants held by a node.
    pub fn grants_of(&self, ix: NodeIndex) -> impl Iterator<Item = &Grant> {
        self.grants_by_holder
            .get(&ix)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.grants.get(i))
    }

    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }
}

/// An attribute of a node, if set.
pub fn attribute<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.attributes
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}
