//! The wasm side: generated bindings, conversions, panic forwarding.
//!
//! Only compiled for `wasm32`. Everything wit-bindgen generates stays in this
//! module; plugins see the plain types of `model`.

use crate::model as m;
use std::sync::Once;

#[allow(clippy::all, unsafe_code, missing_debug_implementations, dead_code)]
pub mod wit {
    include!(concat!(env!("OUT_DIR"), "/sdk_bindings.rs"));
}

use wit::scopegraph::plugin::{host, types as w};

pub(crate) fn log(level: m::Level, message: &str) {
    host::log(level.into(), message);
}

pub(crate) fn config(key: &str) -> Option<String> {
    host::config(key)
}

/// Forward panics to the host before the guest traps, so the user sees the
/// message and location rather than "unreachable executed".
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info
                .payload_as_str()
                .unwrap_or("panic payload is not a string")
                .to_string();
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            host::report_panic(&message, &location);
        }));
    });
}

pub fn classify<T: crate::Classifier>(
    batch: Vec<w::Candidate>,
) -> Result<Vec<w::Verdict>, w::PluginError> {
    install_panic_hook();
    let batch = batch.into_iter().map(Into::into).collect();
    T::classify(batch)
        .map(|verdicts| verdicts.into_iter().map(Into::into).collect())
        .map_err(Into::into)
}

pub fn resolve<T: crate::Provider>(
    documents: Vec<w::Document>,
) -> Result<w::ProviderOutput, w::PluginError> {
    install_panic_hook();
    let documents = documents.into_iter().map(Into::into).collect();
    T::resolve(documents).map(Into::into).map_err(Into::into)
}

fn conv<A: Into<B>, B>(items: Vec<A>) -> Vec<B> {
    items.into_iter().map(Into::into).collect()
}

impl From<m::Level> for w::Level {
    fn from(level: m::Level) -> Self {
        match level {
            m::Level::Trace => w::Level::Trace,
            m::Level::Debug => w::Level::Debug,
            m::Level::Info => w::Level::Info,
            m::Level::Warn => w::Level::Warn,
            m::Level::Error => w::Level::Error,
        }
    }
}

impl From<w::Cloud> for m::Cloud {
    fn from(cloud: w::Cloud) -> Self {
        match cloud {
            w::Cloud::Aws => m::Cloud::Aws,
            w::Cloud::Gcp => m::Cloud::Gcp,
            w::Cloud::Azure => m::Cloud::Azure,
            w::Cloud::Kubernetes => m::Cloud::Kubernetes,
        }
    }
}

impl From<m::Cloud> for w::Cloud {
    fn from(cloud: m::Cloud) -> Self {
        match cloud {
            m::Cloud::Aws => w::Cloud::Aws,
            m::Cloud::Gcp => w::Cloud::Gcp,
            m::Cloud::Azure => w::Cloud::Azure,
            m::Cloud::Kubernetes => w::Cloud::Kubernetes,
        }
    }
}

impl From<m::Category> for w::Category {
    fn from(category: m::Category) -> Self {
        match category {
            m::Category::UnusedExcess => w::Category::UnusedExcess,
            m::Category::UnjustifiedUse => w::Category::UnjustifiedUse,
            m::Category::InheritedOverreach => w::Category::InheritedOverreach,
        }
    }
}

impl From<w::EvidenceRef> for m::EvidenceRef {
    fn from(e: w::EvidenceRef) -> Self {
        m::EvidenceRef {
            kind: e.kind,
            reference: e.reference,
            summary: e.summary,
        }
    }
}

impl From<m::EvidenceRef> for w::EvidenceRef {
    fn from(e: m::EvidenceRef) -> Self {
        w::EvidenceRef {
            kind: e.kind,
            reference: e.reference,
            summary: e.summary,
        }
    }
}

impl From<w::Document> for m::Document {
    fn from(d: w::Document) -> Self {
        m::Document {
            id: d.id,
            source: d.source,
            kind: d.kind,
            context: d.context,
            content: d.content,
        }
    }
}

impl From<m::Node> for w::Node {
    fn from(n: m::Node) -> Self {
        w::Node {
            id: n.id,
            kind: n.kind,
            cloud: n.cloud.into(),
            name: n.name,
            attributes: n.attributes,
            evidence: conv(n.evidence),
        }
    }
}

impl From<m::Edge> for w::Edge {
    fn from(e: m::Edge) -> Self {
        w::Edge {
            from: e.from,
            to: e.to,
            kind: e.kind,
            via: e.via,
            evidence: conv(e.evidence),
        }
    }
}

impl From<m::Grant> for w::Grant {
    fn from(g: m::Grant) -> Self {
        w::Grant {
            id: g.id,
            holder: g.holder,
            cloud: g.cloud.into(),
            permissions: g.permissions,
            resources: g.resources,
            effect: match g.effect {
                m::Effect::Allow => w::Effect::Allow,
                m::Effect::Deny => w::Effect::Deny,
            },
            source: g.source,
            conditions: g.conditions,
            evidence: conv(g.evidence),
        }
    }
}

impl From<m::Diagnostic> for w::Diagnostic {
    fn from(d: m::Diagnostic) -> Self {
        w::Diagnostic {
            level: d.level.into(),
            source: d.source,
            message: d.message,
        }
    }
}

impl From<m::ProviderOutput> for w::ProviderOutput {
    fn from(o: m::ProviderOutput) -> Self {
        w::ProviderOutput {
            nodes: conv(o.nodes),
            edges: conv(o.edges),
            grants: conv(o.grants),
            diagnostics: conv(o.diagnostics),
        }
    }
}

impl From<w::Candidate> for m::Candidate {
    fn from(c: w::Candidate) -> Self {
        m::Candidate {
            id: c.id,
            agent: c.agent,
            cloud: c.cloud.into(),
            principal: c.principal,
            permissions: c.permissions,
            resources: c.resources,
            grant: m::GrantContext {
                source: c.grant.source,
                owned: c.grant.owned,
                ownership_reason: c.grant.ownership_reason,
                mechanisms: c.grant.mechanisms,
                inherited_from_hop: c.grant.inherited_from_hop,
            },
            chain: c
                .chain
                .into_iter()
                .map(|h| m::Hop {
                    node: h.node,
                    kind: h.kind,
                    via: h.via,
                })
                .collect(),
            usage: m::Usage {
                observed_days: c.usage.observed_days,
                window_days: c.usage.window_days,
                used_permissions: c.usage.used_permissions,
                unjustified_permissions: c.usage.unjustified_permissions,
                used_resources: c.usage.used_resources,
            },
            evidence: conv(c.evidence),
            context: c.context,
        }
    }
}

impl From<m::Verdict> for w::Verdict {
    fn from(v: m::Verdict) -> Self {
        w::Verdict {
            candidate: v.candidate,
            category: v.category.map(Into::into),
            contributing: conv(v.contributing),
            status: match v.status {
                m::Status::Open => w::Status::Open,
                m::Status::InsufficientObservation => w::Status::InsufficientObservation,
                m::Status::Resolved => w::Status::Resolved,
            },
            permissions: v.permissions,
            rationale: v.rationale,
            evidence: conv(v.evidence),
            reduction: v.reduction.map(|r| w::Reduction {
                kind: r.kind,
                summary: r.summary,
                artifacts: r
                    .artifacts
                    .into_iter()
                    .map(|a| w::Artifact {
                        path: a.path,
                        content: a.content,
                    })
                    .collect(),
            }),
            misroute: v.misroute,
        }
    }
}

impl From<m::PluginError> for w::PluginError {
    fn from(e: m::PluginError) -> Self {
        match e {
            m::PluginError::InvalidInput { source, message } => {
                w::PluginError::InvalidInput(w::InputError { source, message })
            }
            m::PluginError::Unsupported(what) => w::PluginError::Unsupported(what),
            m::PluginError::Internal(what) => w::PluginError::Internal(what),
        }
    }
}
