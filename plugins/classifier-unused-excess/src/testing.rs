//! Candidates shaped as the providers emit them, for the artifact tests.

use crate::judge;
use scopegraph_sdk::{
    Artifact, Candidate, Cloud, EvidenceRef, GrantContext, Hop, Reduction, Usage,
};

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

pub fn hop(node: &str, kind: &str, via: &str) -> Hop {
    Hop {
        node: node.into(),
        kind: kind.into(),
        via: via.into(),
    }
}

/// An owned, open candidate with `used` of `granted` observed over 14 days.
pub fn owned(cloud: Cloud, agent: &str, granted: &[&str], used: &[&str]) -> Candidate {
    Candidate {
        id: "5e1f0c2a9b7d3e41".into(),
        agent: agent.into(),
        cloud,
        permissions: strings(granted),
        grant: GrantContext {
            owned: true,
            ownership_reason: "bound directly to the agent's own identity".into(),
            ..GrantContext::default()
        },
        usage: Usage {
            observed_days: 14,
            window_days: 14,
            used_permissions: strings(used),
            ..Usage::default()
        },
        ..Candidate::default()
    }
}

pub fn evidence(kind: &str, reference: &str, summary: &str) -> EvidenceRef {
    EvidenceRef {
        kind: kind.into(),
        reference: reference.into(),
        summary: summary.into(),
    }
}

/// The reduction of an open verdict.
pub fn reduction(candidate: &Candidate) -> Reduction {
    judge(candidate, 7)
        .expect("a verdict")
        .reduction
        .expect("a reduction")
}

pub fn artifacts(candidate: &Candidate) -> Vec<Artifact> {
    reduction(candidate).artifacts
}

pub fn paths(artifacts: &[Artifact]) -> Vec<&str> {
    artifacts.iter().map(|a| a.path.as_str()).collect()
}
