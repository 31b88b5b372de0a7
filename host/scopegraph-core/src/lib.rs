//! The pure core of scopegraph: the identity graph reconciled from every
//! provider's output, each agent's effective scope with the chain that grants
//! it and whether the agent owns it, the candidates handed to classifiers,
//! and the findings made of their verdicts.
//!
//! Invariants: no I/O, no wasm, no printing, no serialisation; input never
//! panics it. The records that cross the plugin boundary are the SDK's plain
//! types, re-exported here.

pub mod findings;
pub mod graph;
pub mod ids;
pub mod scope;
pub mod whocan;

/// The permission spellings the plugins read and write, and their RBAC
/// wildcard matching: one definition for host and plugins.
pub use scopegraph_sdk::spelling;
pub use scopegraph_sdk::{
    Candidate, Category, Cloud, Diagnostic as PluginDiagnostic, Document, Edge, EvidenceRef, Grant,
    GrantContext, Hop, Level, Node, ProviderOutput, Reduction, Status, Usage, Verdict,
};

/// Something the user should know about the run: an unreadable file, an
/// unknown document, a plugin that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub level: Level,
    /// The file (with position) or plugin the message is about.
    pub source: String,
    pub message: String,
}

impl Diagnostic {
    pub fn error(source: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            level: Level::Error,
            source: source.into(),
            message: message.into(),
        }
    }

    pub fn warning(source: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            level: Level::Warn,
            source: source.into(),
            message: message.into(),
        }
    }

    pub fn info(source: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            level: Level::Info,
            source: source.into(),
            message: message.into(),
        }
    }
}
