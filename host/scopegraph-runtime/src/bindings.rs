//! Host-side bindings of the WIT worlds, and conversions to the SDK's plain
//! types. No generated type leaves this module.

use scopegraph_sdk as m;

#[allow(clippy::all, missing_debug_implementations, unsafe_code)]
pub(crate) mod classifier {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "classifier-plugin",
    });
}

#[allow(clippy::all, missing_debug_implementations, unsafe_code)]
pub(crate) mod provider {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "provider-plugin",
        with: {
            "scopegraph:plugin/types": super::classifier::scopegraph::plugin::types,
            "scopegraph:plugin/host": super::classifier::scopegraph::plugin::host,
        },
    });
}

pub(crate) use classifier::scopegraph::plugin::{host, types as w};

pub(crate) fn level(level: w::Level) -> m::Level {
    match level {
        w::Level::Trace => m::Level::Trace,
        w::Level::Debug => m::Level::Debug,
        w::Level::Info => m::Level::Info,
        w::Level::Warn => m::Level::Warn,
        w::Level::Error => m::Level::Error,
    }
}

fn cloud_in(cloud: m::Cloud) -> w::Cloud {
    match cloud {
        m::Cloud::Aws => w::Cloud::Aws,
        m::Cloud::Gcp => w::Cloud::Gcp,
        m::Cloud::Azure => w::Cloud::Azure,
        m::Cloud::Kubernetes => w::Cloud::Kubernetes,
    }
}

fn cloud_out(cloud: w::Cloud) -> m::Cloud {
    match cloud {
        w::Cloud::Aws => m::Cloud::Aws,
        w::Cloud::Gcp => m::Cloud::Gcp,
        w::Cloud::Azure => m::Cloud::Azure,
        w::Cloud::Kubernetes => m::Cloud::Kubernetes,
    }
}

fn category_out(category: w::Category) -> m::Category {
    match category {
        w::Category::UnusedExcess => m::Category::UnusedExcess,
        w::Category::UnjustifiedUse => m::Category::UnjustifiedUse,
        w::Category::InheritedOverreach => m::Category::InheritedOverreach,
    }
}

fn evidence_in(e: &m::EvidenceRef) -> w::EvidenceRef {
    w::EvidenceRef {
        kind: e.kind.clone(),
        reference: e.reference.clone(),
        summary: e.summary.clone(),
    }
}

fn evidence_out(e: w::EvidenceRef) -> m::EvidenceRef {
    m::EvidenceRef {
        kind: e.kind,
        reference: e.reference,
        summary: e.summary,
    }
}

pub(crate) fn document_in(d: &m::Document) -> w::Document {
    w::Document {
        id: d.id.clone(),
        source: d.source.clone(),
        kind: d.kind.clone(),
        context: d.context.clone(),
        content: d.content.clone(),
    }
}

pub(crate) fn candidate_in(c: &m::Candidate) -> w::Candidate {
    w::Candidate {
        id: c.id.clone(),
        agent: c.agent.clone(),
        cloud: cloud_in(c.cloud),
        principal: c.principal.clone(),
        permissions: c.permissions.clone(),
        resources: c.resources.clone(),
        grant: w::GrantContext {
            source: c.grant.source.clone(),
            owned: c.grant.owned,
            ownership_reason: c.grant.ownership_reason.clone(),
            mechanisms: c.grant.mechanisms.clone(),
            inherited_from_hop: c.grant.inherited_from_hop,
        },
        chain: c
            .chain
            .iter()
            .map(|h| w::Hop {
                node: h.node.clone(),
                kind: h.kind.clone(),
                via: h.via.clone(),
            })
            .collect(),
        usage: w::Usage {
            observed_days: c.usage.observed_days,
            window_days: c.usage.window_days,
            used_permissions: c.usage.used_permissions.clone(),
            unjustified_permissions: c.usage.unjustified_permissions.clone(),
            used_resources: c.usage.used_resources.clone(),
        },
        evidence: c.evidence.iter().map(evidence_in).collect(),
        context: c.context.clone(),
    }
}

pub(crate) fn verdict_out(v: w::Verdict) -> m::Verdict {
    m::Verdict {
        candidate: v.candidate,
        category: v.category.map(category_out),
        contributing: v.contributing.into_iter().map(category_out).collect(),
        status: match v.status {
            w::Status::Open => m::Status::Open,
            w::Status::InsufficientObservation => m::Status::InsufficientObservation,
            w::Status::Resolved => m::Status::Resolved,
        },
        permissions: v.permissions,
        rationale: v.rationale,
        evidence: v.evidence.into_iter().map(evidence_out).collect(),
        reduction: v.reduction.map(|r| m::Reduction {
            kind: r.kind,
            summary: r.summary,
            artifacts: r
                .artifacts
                .into_iter()
                .map(|a| m::Artifact {
                    path: a.path,
                    content: a.content,
                })
                .collect(),
        }),
        misroute: v.misroute,
    }
}

pub(crate) fn output_out(o: w::ProviderOutput) -> m::ProviderOutput {
    m::ProviderOutput {
        nodes: o
            .nodes
            .into_iter()
            .map(|n| m::Node {
                id: n.id,
                kind: n.kind,
                cloud: cloud_out(n.cloud),
                name: n.name,
                attributes: n.attributes,
                evidence: n.evidence.into_iter().map(evidence_out).collect(),
            })
            .collect(),
        edges: o
            .edges
            .into_iter()
            .map(|e| m::Edge {
                from: e.from,
                to: e.to,
                kind: e.kind,
                via: e.via,
                evidence: e.evidence.into_iter().map(evidence_out).collect(),
            })
            .collect(),
        grants: o
            .grants
            .into_iter()
            .map(|g| m::Grant {
                id: g.id,
                holder: g.holder,
                cloud: cloud_out(g.cloud),
                permissions: g.permissions,
                resources: g.resources,
                effect: match g.effect {
                    w::Effect::Allow => m::Effect::Allow,
                    w::Effect::Deny => m::Effect::Deny,
                },
                source: g.source,
                conditions: g.conditions,
                evidence: g.evidence.into_iter().map(evidence_out).collect(),
            })
            .collect(),
        diagnostics: o
            .diagnostics
            .into_iter()
            .map(|d| m::Diagnostic {
                level: level(d.level),
                source: d.source,
                message: d.message,
            })
            .collect(),
    }
}

pub(crate) fn error_out(e: w::PluginError) -> String {
    match e {
        w::PluginError::InvalidInput(i) => format!("invalid input {}: {}", i.source, i.message),
        w::PluginError::Unsupported(what) => format!("unsupported: {what}"),
        w::PluginError::Internal(what) => format!("internal error: {what}"),
    }
}
