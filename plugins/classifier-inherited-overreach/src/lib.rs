//! Category 3, inherited overreach: the agent's effective scope descends from
//! a binding outside its own provisioning (a namespace- or cluster-wide
//! binding, a group, a shared identity, the node identity, a transitive
//! assumption or impersonation).
//!
//! The host decides ownership per grant while walking the identity chain and
//! passes the reason in `grant.ownership_reason`; this rule turns every
//! inherited grant into a finding that routes to a dedicated identity. A
//! broad grant on the agent's own identity is owned and is not reported here.
//!
//! The reduction's files, under
//! `inherited-overreach/{cluster}/{namespace}/{kind}-{name}/` (`{short}` is
//! the candidate id's first 8 characters): `serviceaccount.yaml` and
//! `workload-patch.yaml` when the agent's ServiceAccount is shared or
//! `default`; `role-{short}.yaml` carrying an inherited Kubernetes grant; for
//! an inherited cloud grant, an identity of the agent's own federated to its
//! dedicated ServiceAccount (`src/cloud.rs`): `aws-role-trust-{short}.json`,
//! `aws-role-policy-{short}.json` and `aws-dedicated-{short}.sh`;
//! `gcp-dedicated-{short}.sh` (and `gcp-role-{short}.yaml` when usage
//! narrows the grant, `gcp-condition-{short}.yaml` when the inherited
//! binding has an IAM condition, which the new binding carries);
//! `azure-dedicated-{short}.sh`,
//! `azure-workload-patch.yaml` (and `azure-role-{short}.json` when narrowed
//! or the role is not built in); and `upstream-{short}.txt`, the plan for the
//! upstream binding. The cloud identity carries only the observed
//! permissions when usage shows any, else the whole grant. A cloud identity
//! needs the cluster's facts from `candidate.context` (OIDC issuer, workload
//! pool, resource group); without them no script is written and the plan
//! and summary say what is missing.

mod artifacts;
mod cloud;

pub use artifacts::artifacts;
pub use cloud::{aws_role_name, azure_identity_name, gcp_account_id};

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
    let (artifacts, dedicated) = artifacts::files(candidate);
    let mut summary = format!(
        "give {} its own identity with only the grants it owns, and remove or narrow {}",
        candidate.agent, upstream
    );
    if let Some(dedicated) = dedicated {
        summary.push_str("; ");
        summary.push_str(&dedicated);
    }
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
            summary,
            artifacts,
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
                mechanisms: vec!["group".into()],
                inherited_from_hop: Some(2),
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

    /// The demo's support-agent: runs as `default`, shared with `web`.
    fn shared_default_sa() -> Candidate {
        Candidate {
            id: "0123456789abcdef".into(),
            agent: "prod-eks/support/Deployment/support-agent".into(),
            permissions: vec![
                "configmaps:get".into(),
                "configmaps:update".into(),
                "apps/deployments:patch".into(),
            ],
            resources: vec![
                "support/configmaps/tickets".into(),
                "support/apps/deployments/*".into(),
            ],
            grant: GrantContext {
                source: "RoleBinding support/default-ticket-editor -> Role support/ticket-editor"
                    .into(),
                owned: false,
                ownership_reason:
                    "system:serviceaccount:support:default is shared with 1 other workload(s)"
                        .into(),
                mechanisms: vec!["shared-identity".into()],
                inherited_from_hop: Some(1),
            },
            chain: vec![
                Hop {
                    node: "k8s:prod-eks/support/Deployment/support-agent".into(),
                    kind: "workload".into(),
                    via: String::new(),
                },
                Hop {
                    node: "k8s:prod-eks/support/ServiceAccount/default".into(),
                    kind: "service-account".into(),
                    via: "spec.serviceAccountName".into(),
                },
            ],
            ..Default::default()
        }
    }

    fn yaml_docs(text: &str) -> Vec<serde_json::Value> {
        use serde::Deserialize;
        serde_yaml::Deserializer::from_str(text)
            .map(|d| serde_json::Value::deserialize(d).unwrap())
            .collect()
    }

    #[test]
    fn the_plan_names_the_owner_of_the_upstream_binding_when_known() {
        let plan_of = |c: &Candidate| -> String {
            let verdict = judge(c).expect("a verdict");
            let reduction = verdict.reduction.expect("a reduction");
            reduction
                .artifacts
                .iter()
                .find(|a| a.path.contains("/upstream-"))
                .map(|a| a.content.clone())
                .expect("a plan")
        };
        let mut c = candidate(false);
        assert!(plan_of(&c).contains("Owner:      not recorded in the binding's metadata\n"));
        c.evidence.push(EvidenceRef {
            kind: "owner".into(),
            reference: "doc-4".into(),
            summary: "ClusterRoleBinding read-secrets is managed by Helm release platform-rbac in namespace platform".into(),
        });
        assert!(plan_of(&c).contains(
            "Owner:      ClusterRoleBinding read-secrets is managed by Helm release platform-rbac in namespace platform\n"
        ));
    }

    #[test]
    fn shared_service_account_gets_a_dedicated_one_and_the_rules_carried_over() {
        let files = artifacts(&shared_default_sa());
        let paths: Vec<&str> = files.iter().map(|a| a.path.as_str()).collect();
        let dir = "inherited-overreach/prod-eks/support/deployment-support-agent";
        assert_eq!(
            paths,
            vec![
                format!("{dir}/serviceaccount.yaml"),
                format!("{dir}/workload-patch.yaml"),
                format!("{dir}/role-01234567.yaml"),
                format!("{dir}/upstream-01234567.txt"),
            ]
        );
        let sa = &yaml_docs(&files[0].content)[0];
        assert_eq!(sa["kind"], "ServiceAccount");
        assert_eq!(sa["metadata"]["name"], "support-agent");
        assert_eq!(sa["metadata"]["namespace"], "support");
        let patch = &yaml_docs(&files[1].content)[0];
        assert_eq!(
            patch["spec"]["template"]["spec"]["serviceAccountName"],
            "support-agent"
        );

        let docs = yaml_docs(&files[2].content);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["kind"], "Role");
        assert_eq!(
            docs[0]["rules"],
            serde_json::json!([
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "update"], "resourceNames": ["tickets"]},
                {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]},
            ])
        );
        assert_eq!(docs[1]["kind"], "RoleBinding");
        assert_eq!(docs[1]["subjects"][0]["name"], "support-agent");
        assert_eq!(docs[1]["roleRef"]["name"], docs[0]["metadata"]["name"]);
        assert!(
            files[3].content.contains("Stop sharing"),
            "{}",
            files[3].content
        );
    }

    #[test]
    fn group_inheritance_keeps_the_agents_own_account_and_narrows_the_binding() {
        let mut c = shared_default_sa();
        c.chain[1].node = "k8s:prod-eks/support/ServiceAccount/support-agent".into();
        c.grant.mechanisms = vec!["group".into()];
        c.grant.inherited_from_hop = Some(2);
        let files = artifacts(&c);
        assert_eq!(
            files.len(),
            2,
            "no new ServiceAccount: the agent has its own"
        );
        assert_eq!(
            yaml_docs(&files[0].content)[1]["subjects"][0]["name"],
            "support-agent"
        );
        assert!(
            files[1]
                .content
                .contains("kubectl -n support edit rolebinding default-ticket-editor"),
            "{}",
            files[1].content
        );
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
