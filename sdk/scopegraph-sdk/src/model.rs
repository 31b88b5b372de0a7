//! The records that cross the plugin boundary, as plain Rust types.
//!
//! They mirror `wit/plugin.wit` field by field; the SDK converts them to and
//! from the generated bindings, so plugin code never sees wit-bindgen types.

/// The system a node, grant or finding belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Cloud {
    Aws,
    Gcp,
    Azure,
    #[default]
    Kubernetes,
}

/// The three kinds of excess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    UnusedExcess,
    UnjustifiedUse,
    InheritedOverreach,
}

/// Where a fact came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EvidenceRef {
    pub kind: String,
    pub reference: String,
    pub summary: String,
}

/// One input document; `content` is JSON text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    pub id: String,
    pub source: String,
    pub kind: String,
    /// Facts about the document's place in the snapshot, e.g. `("cluster", "prod-gke")`.
    pub context: Vec<(String, String)>,
    pub content: String,
}

impl Document {
    /// A context value the host attached, e.g. `context("cluster")`.
    pub fn context(&self, key: &str) -> Option<&str> {
        self.context
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    pub id: String,
    pub kind: String,
    pub cloud: Cloud,
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub evidence: Vec<EvidenceRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: String,
    pub via: String,
    pub evidence: Vec<EvidenceRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Effect {
    #[default]
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Grant {
    pub id: String,
    pub holder: String,
    pub cloud: Cloud,
    pub permissions: Vec<String>,
    pub resources: Vec<String>,
    pub effect: Effect,
    pub source: String,
    pub conditions: Vec<String>,
    pub evidence: Vec<EvidenceRef>,
}

/// Log and diagnostic severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Level {
    Trace,
    Debug,
    #[default]
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostic {
    pub level: Level,
    pub source: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProviderOutput {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub grants: Vec<Grant>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hop {
    pub node: String,
    pub kind: String,
    pub via: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GrantContext {
    pub source: String,
    pub owned: bool,
    pub ownership_reason: String,
    /// How an inherited grant is inherited, in chain order: `group`,
    /// `shared-identity`, `assumption`, `impersonation`, `node-fallback`.
    pub mechanisms: Vec<String>,
    /// Index into `Candidate::chain` of the first hop that is not the agent's own.
    pub inherited_from_hop: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Usage {
    pub observed_days: u32,
    pub window_days: u32,
    pub used_permissions: Vec<String>,
    pub unjustified_permissions: Vec<String>,
    /// Resources the used permissions were exercised on, as far as the logs name them.
    pub used_resources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Candidate {
    pub id: String,
    pub agent: String,
    pub cloud: Cloud,
    pub principal: String,
    pub permissions: Vec<String>,
    pub resources: Vec<String>,
    pub grant: GrantContext,
    pub chain: Vec<Hop>,
    pub usage: Usage,
    pub evidence: Vec<EvidenceRef>,
    /// Facts about the agent's cluster (its `cluster` node's attributes).
    pub context: Vec<(String, String)>,
}

impl Candidate {
    /// A fact about the agent's cluster: `aws:oidc-issuer`, `gcp:workload-pool`...
    pub fn context(&self, key: &str) -> Option<&str> {
        self.context
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Open,
    InsufficientObservation,
    Resolved,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Artifact {
    pub path: String,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reduction {
    pub kind: String,
    pub summary: String,
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    pub candidate: String,
    pub category: Option<Category>,
    pub contributing: Vec<Category>,
    pub status: Status,
    pub permissions: Vec<String>,
    pub rationale: String,
    pub evidence: Vec<EvidenceRef>,
    pub reduction: Option<Reduction>,
    pub misroute: String,
}

/// A failure the plugin reports itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginError {
    /// An input the plugin cannot use: `source` names the document or candidate.
    InvalidInput {
        source: String,
        message: String,
    },
    Unsupported(String),
    Internal(String),
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginError::InvalidInput { source, message } => {
                write!(f, "invalid input {source}: {message}")
            }
            PluginError::Unsupported(what) => write!(f, "unsupported: {what}"),
            PluginError::Internal(what) => write!(f, "internal error: {what}"),
        }
    }
}

impl std::error::Error for PluginError {}
