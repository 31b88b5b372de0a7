//! Category 3, inherited overreach: the agent's effective scope descends from
//! a binding outside its own provisioning (a namespace- or cluster-wide
//! binding, a group, a shared identity, the node identity, a transitive
//! assumption or impersonation).
//!
//! The host decides ownership per grant while walking the identity chain and
//! passes the reason in `grant.ownership_reason`; this rule turns every
//! inherited grant into a finding that routes to a dedicated identity. A
//! broad grant on the agent's own identity is owned and is not reported here.

use scopegraph_sdk::{
    Candidate, Category, Classifier, EvidenceRef, PluginError, Reduction, Status, Verdict,
};

#[derive(Debug)]
pub struct InheritedOverreach;

impl Classifier for InheritedOverreach {
    fn classify(batch: Vec<Candidate>) -> Result<Vec<Verdict>, PluginError> {
        Ok(batch.iter().filter_map(judge).collect())
    }
}

scopegraph_sdk::export_classifier!(InheritedOverreach);

/// The rule for one candidate; `None` when the grant is the agent's own.
pub fn judge(candidate: &Candidate) -> Option<Verdict> {
    if candidate.grant.owned {
        return None;
    }
    // The binding that grants the scope is what has to go; the chain says
    // how the agent reaches it (group, shared identity, fallback...).
    let upstream = candidate.grant.source.clone();
    let mut evidence = vec![EvidenceRef {
        kind: "binding".into(),
        reference: candidate.grant.source.clone(),
        summary: format!("inherited: {}", candidate.grant.ownership_reason),
    }];
    evidence.extend(candidate.evidence.iter().cloned());
    Some(Verdict {
        candidate: candidate.id.clone(),
        category: Some(Category::InheritedOverreach),
        contributing: Vec::new(),
        status: Status::Open,
        permissions: candidate.permissions.clone(),
        rationale: format!(
            "{} reaches {} permission(s) through {} ({})",
            candidate.agent,
            candidate.permissions.len(),
            upstream,
            candidate.grant.ownership_reason
        ),
        evidence,
        reduction: Some(Reduction {
            kind: "dedicated-identity".into(),
            summary: format!(
                "give {} its own identity with only the grants it owns, and remove or narrow {}",
                candidate.agent, upstream
            ),
            artifacts: Vec::new(),
        }),
        misroute: format!(
            "Editing the agent's own policy does not help: the scope comes from {upstream}, \
             which stays in place, and the finding recurs on the next run."
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scopegraph_sdk::{GrantContext, Hop};

    fn candidate(owned: bool) -> Candidate {
        Candidate {
            id: "c".into(),
            agent: "prod/ml/Deployment/agent".into(),
            permissions: vec!["secrets:get".into(), "secrets:list".into()],
            grant: GrantContext {
                source: "ClusterRoleBinding/read-secrets".into(),
                owned,
                ownership_reason: "bound to group system:serviceaccounts".into(),
            },
            chain: vec![
                Hop {
                    node: "pod".into(),
                    kind: "pod".into(),
                    via: String::new(),
                },
                Hop {
                    node: "group".into(),
                    kind: "group".into(),
                    via: "ClusterRoleBinding/read-secrets".into(),
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn owned_grants_are_not_reported() {
        assert_eq!(judge(&candidate(true)), None);
    }

    #[test]
    fn inherited_grant_routes_to_a_dedicated_identity() {
        let verdict = judge(&candidate(false)).expect("a verdict");
        assert_eq!(verdict.category, Some(Category::InheritedOverreach));
        assert_eq!(verdict.permissions, vec!["secrets:get", "secrets:list"]);
        assert_eq!(
            verdict.reduction.map(|r| r.kind).as_deref(),
            Some("dedicated-identity")
        );
        assert!(verdict.misroute.contains("ClusterRoleBinding/read-secrets"));
    }
}
