//! Category 1, unused excess: granted, never exercised by any pod of the
//! workload over the observation window.
//!
//! A candidate's `usage.used_permissions` is aggregated by the host per
//! workload, so restarts and rollouts do not reset it. Nothing is called
//! unused on thin evidence: below `min-observed-days` (default 7) of
//! observation the verdict is `insufficient-observation`.

mod kubernetes;
mod policy;
mod runtime;

pub use policy::{generalise, identity_policy};

use scopegraph_sdk::spelling::{AgentId, kube_allows};
use scopegraph_sdk::{
    Artifact, Candidate, Category, Classifier, Cloud, EvidenceRef, PluginError, Reduction, Status,
    Verdict,
};
use std::collections::HashSet;

/// Days of observation a verdict needs unless the user configures another value.
pub const DEFAULT_MIN_OBSERVED_DAYS: u32 = 7;

#[derive(Debug)]
pub struct UnusedExcess;

impl Classifier for UnusedExcess {
    fn classify(batch: Vec<Candidate>) -> Result<Vec<Verdict>, PluginError> {
        let min_days = match scopegraph_sdk::config("min-observed-days") {
            None => DEFAULT_MIN_OBSERVED_DAYS,
            Some(text) => text.trim().parse().map_err(|_| PluginError::InvalidInput {
                source: "config min-observed-days".into(),
                message: format!("expected a whole number of days, got {text:?}"),
            })?,
        };
        Ok(batch.iter().filter_map(|c| judge(c, min_days)).collect())
    }
}

scopegraph_sdk::export_classifier!(UnusedExcess);

/// The rule for one candidate; `None` when every granted permission was used.
pub fn judge(candidate: &Candidate, min_observed_days: u32) -> Option<Verdict> {
    let unused = unused_permissions(candidate);
    if unused.is_empty() {
        return None;
    }
    let usage = &candidate.usage;
    let contributing = if candidate.grant.owned {
        Vec::new()
    } else {
        vec![Category::InheritedOverreach]
    };
    let evidence = vec![EvidenceRef {
        kind: "baseline".into(),
        reference: candidate.id.clone(),
        summary: format!(
            "{} of {} granted permissions exercised over {} observed days",
            candidate.permissions.len() - unused.len(),
            candidate.permissions.len(),
            usage.observed_days
        ),
    }];
    if usage.observed_days < min_observed_days {
        return Some(Verdict {
            candidate: candidate.id.clone(),
            category: Some(Category::UnusedExcess),
            contributing,
            status: Status::InsufficientObservation,
            permissions: unused,
            rationale: format!(
                "insufficient observation: {} of {} days",
                usage.observed_days, min_observed_days
            ),
            evidence,
            reduction: None,
            misroute: String::new(),
        });
    }
    let misroute = if candidate.grant.owned {
        "If these permissions are in fact used by unlogged work, scoping down breaks it; \
         if the grant is really inherited, editing this policy leaves the upstream binding in place."
    } else {
        "The grant is inherited: scoping down the agent's own policy does not remove it; \
         remove or narrow the upstream binding (see the contributing inherited-overreach finding)."
    };
    Some(Verdict {
        candidate: candidate.id.clone(),
        category: Some(Category::UnusedExcess),
        contributing,
        status: Status::Open,
        rationale: rationale(candidate, &unused),
        reduction: Some(Reduction {
            kind: "scope-down".into(),
            summary: summary(candidate, &unused),
            artifacts: artifacts(candidate),
        }),
        permissions: unused,
        evidence,
        misroute: misroute.into(),
    })
}

fn rationale(candidate: &Candidate, unused: &[String]) -> String {
    let days = candidate.usage.observed_days;
    if runtime::is_open_egress(candidate) {
        return format!(
            "egress to every destination is allowed; Kubescape's completed profile of {} shows {} egress rule(s) cover what its pods connected to",
            candidate.agent,
            candidate.usage.used_resources.len()
        );
    }
    if runtime::is_syscalls(candidate) {
        return format!(
            "{} of {} system calls an unconfined container may make were never made by {} (Kubescape's completed profile)",
            unused.len(),
            candidate.permissions.len(),
            candidate.agent
        );
    }
    format!(
        "{} granted permission(s) never exercised by any pod of {} in {days} observed days",
        unused.len(),
        candidate.agent,
    )
}

fn summary(candidate: &Candidate, unused: &[String]) -> String {
    if runtime::is_open_egress(candidate) {
        return "apply the NetworkPolicy allowing only the observed egress".into();
    }
    if runtime::is_syscalls(candidate) {
        return "install the seccomp profile of the observed system calls on the nodes \
                (kubelet's seccomp directory, e.g. /var/lib/kubelet/seccomp/) and set \
                securityContext.seccompProfile {type: Localhost, localhostProfile: <file>} on the pod"
            .into();
    }
    format!(
        "remove {} unused permission(s) from {}",
        unused.len(),
        candidate.grant.source
    )
}

/// What replaces a grant the agent owns: the observed use, in the grant's
/// own language. Nothing for inherited grants (the fix is upstream) or
/// when nothing was used (the fix is to remove the grant, and an empty
/// policy is not a valid document).
fn artifacts(candidate: &Candidate) -> Vec<Artifact> {
    let Some(agent) = AgentId::parse(&candidate.agent) else {
        return Vec::new();
    };
    let short: String = candidate.id.chars().take(8).collect();
    // Observing no egress at all is a result too: deny it all.
    if runtime::is_open_egress(candidate) {
        return runtime::network_policy(candidate, &agent, &short)
            .into_iter()
            .collect();
    }
    if !candidate.grant.owned || candidate.usage.used_permissions.is_empty() {
        return Vec::new();
    }
    if runtime::is_syscalls(candidate) {
        return runtime::seccomp_profile(candidate, &agent, &short)
            .into_iter()
            .collect();
    }
    match candidate.cloud {
        Cloud::Aws => vec![aws_policy(candidate, &agent, &short)],
        Cloud::Kubernetes => kubernetes::replacement_rbac(candidate, &agent, &short)
            .into_iter()
            .collect(),
        Cloud::Gcp | Cloud::Azure => Vec::new(),
    }
}

/// The replacement identity policy for an AWS grant: the observed actions
/// on the observed resources (or on the grant's own resources when the
/// logs name none).
fn aws_policy(candidate: &Candidate, agent: &AgentId<'_>, short: &str) -> Artifact {
    let resources = if candidate.usage.used_resources.is_empty() {
        candidate.resources.clone()
    } else {
        generalise(&candidate.usage.used_resources)
    };
    Artifact {
        path: format!(
            "unused-excess/{}/aws-policy-{short}.json",
            agent.artifact_dir()
        ),
        content: identity_policy(&candidate.usage.used_permissions, &resources),
    }
}

/// Granted permissions with no observed use. AWS action names are
/// case-insensitive; the other systems' are not. A Kubernetes rule is used
/// when it allows an observed request; one with a wildcard always grants
/// more than was observed (every type, verb or subresource, including ones
/// added later), so it is always excess.
pub fn unused_permissions(candidate: &Candidate) -> Vec<String> {
    // Egress to every address is more than any workload uses.
    if runtime::is_open_egress(candidate) {
        return candidate.permissions.clone();
    }
    if candidate.cloud == Cloud::Kubernetes && !runtime::is_syscalls(candidate) {
        return candidate
            .permissions
            .iter()
            .filter(|granted| {
                granted.contains('*')
                    || !candidate
                        .usage
                        .used_permissions
                        .iter()
                        .any(|used| kube_allows(granted, used))
            })
            .cloned()
            .collect();
    }
    let fold = |p: &str| {
        if candidate.cloud == Cloud::Aws {
            p.to_ascii_lowercase()
        } else {
            p.to_string()
        }
    };
    let used: HashSet<String> = candidate
        .usage
        .used_permissions
        .iter()
        .map(|p| fold(p))
        .collect();
    candidate
        .permissions
        .iter()
        .filter(|p| !used.contains(&fold(p)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use scopegraph_sdk::{GrantContext, Usage, mock::MockHost};

    fn candidate(granted: &[&str], used: &[&str], days: u32) -> Candidate {
        Candidate {
            id: "c1".into(),
            agent: "prod/analytics/Deployment/report-agent".into(),
            cloud: Cloud::Aws,
            permissions: granted.iter().map(|s| s.to_string()).collect(),
            grant: GrantContext {
                source: "arn:aws:iam::1:policy/p".into(),
                owned: true,
                ..Default::default()
            },
            usage: Usage {
                observed_days: days,
                window_days: 14,
                used_permissions: used.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn reports_only_unused_permissions_case_insensitively_for_aws() {
        let c = candidate(
            &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            &["s3:getobject"],
            14,
        );
        let verdict = judge(&c, 7).expect("a verdict");
        assert_eq!(verdict.permissions, vec!["s3:PutObject", "s3:DeleteObject"]);
        assert_eq!(verdict.status, Status::Open);
        assert!(verdict.contributing.is_empty());
    }

    #[test]
    fn owned_aws_grant_gets_a_replacement_policy_of_observed_use() {
        let mut c = candidate(
            &[
                "s3:GetObject",
                "s3:PutObject",
                "s3:ListBucket",
                "s3:DeleteObject",
            ],
            &["s3:GetObject", "s3:ListBucket"],
            14,
        );
        c.id = "abcdef0123456789".into();
        c.usage.used_resources = vec![
            "arn:aws:s3:::acme-reports".into(),
            "arn:aws:s3:::acme-reports/q3/revenue.pdf".into(),
            "arn:aws:s3:::acme-reports/q3/costs/march.csv".into(),
        ];
        let verdict = judge(&c, 7).expect("a verdict");
        let artifacts = verdict.reduction.expect("a reduction").artifacts;
        assert_eq!(artifacts.len(), 1);
        assert_eq!(
            artifacts[0].path,
            "unused-excess/prod/analytics/deployment-report-agent/aws-policy-abcdef01.json"
        );
        let policy: serde_json::Value =
            serde_json::from_str(&artifacts[0].content).expect("valid JSON");
        assert_eq!(
            policy,
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "ObservedUse",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:ListBucket"],
                    "Resource": ["arn:aws:s3:::acme-reports", "arn:aws:s3:::acme-reports/q3/*"],
                }]
            })
        );
        // Inherited grants are not scoped down here (the fix is upstream), nor unused ones.
        c.grant.owned = false;
        assert!(
            judge(&c, 7)
                .unwrap()
                .reduction
                .unwrap()
                .artifacts
                .is_empty()
        );
    }

    /// A Kubernetes grant as the provider spells it: a RoleBinding of the
    /// `edit`-like ClusterRole to the agent's own ServiceAccount.
    fn kubernetes_candidate(used: &[&str], used_resources: &[&str]) -> Candidate {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Candidate {
            id: "0123456789abcdef".into(),
            agent: "prod/agents/Deployment/planner".into(),
            cloud: Cloud::Kubernetes,
            principal: "system:serviceaccount:agents:planner".into(),
            permissions: strings(&[
                "pods:get",
                "pods:list",
                "pods:delete",
                "pods/log:get",
                "apps/deployments:get",
                "apps/deployments:patch",
                "*/*:watch",
            ]),
            resources: strings(&["agents/pods/*", "agents/apps/deployments/*", "agents/*/*/*"]),
            grant: GrantContext {
                source: "RoleBinding agents/planner -> ClusterRole planner".into(),
                owned: true,
                ..Default::default()
            },
            usage: Usage {
                observed_days: 14,
                window_days: 14,
                used_permissions: strings(used),
                used_resources: strings(used_resources),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn kubernetes_wildcard_rules_are_always_excess_and_concrete_ones_when_unused() {
        let c = kubernetes_candidate(
            &["pods:get", "pods/log:get", "apps/deployments:watch"],
            &["agents/pods/web-0", "agents/apps/deployments/web"],
        );
        let verdict = judge(&c, 7).expect("a verdict");
        assert_eq!(
            verdict.permissions,
            vec![
                "pods:list",
                "pods:delete",
                "apps/deployments:get",
                "apps/deployments:patch",
                "*/*:watch"
            ]
        );
    }

    #[test]
    fn owned_kubernetes_grant_gets_rbac_of_the_observed_requests() {
        let c = kubernetes_candidate(
            &[
                "pods:get",
                "pods:list",
                "pods/log:get",
                "apps/deployments:patch",
            ],
            &[
                "agents/pods/web-0",
                "agents/pods/*",
                "agents/pods/log/web-0",
                "agents/apps/deployments/web",
            ],
        );
        let verdict = judge(&c, 7).expect("a verdict");
        let artifacts = verdict.reduction.expect("a reduction").artifacts;
        assert_eq!(artifacts.len(), 1);
        assert_eq!(
            artifacts[0].path,
            "unused-excess/prod/agents/deployment-planner/k8s-rbac-01234567.yaml"
        );
        let docs: Vec<serde_json::Value> =
            serde_yaml::Deserializer::from_str(&artifacts[0].content)
                .map(|d| serde::Deserialize::deserialize(d).expect("YAML document"))
                .collect();
        assert_eq!(
            docs,
            vec![
                serde_json::json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "Role",
                    "metadata": {"name": "planner-observed-01234567", "namespace": "agents"},
                    "rules": [
                        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
                        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]},
                    ]
                }),
                serde_json::json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "RoleBinding",
                    "metadata": {"name": "planner-observed-01234567", "namespace": "agents"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Role",
                        "name": "planner-observed-01234567"
                    },
                    "subjects": [{"kind": "ServiceAccount", "name": "planner", "namespace": "agents"}]
                }),
            ]
        );
    }

    #[test]
    fn cluster_scoped_requests_and_urls_become_a_cluster_role() {
        let mut c =
            kubernetes_candidate(&["nodes:list", "nonresource:/metrics:get"], &["*/nodes/*"]);
        c.permissions = vec!["*:*".into(), "nonresource:*:get".into()];
        c.resources = vec!["*/*/*".into(), "*".into()];
        let verdict = judge(&c, 7).expect("a verdict");
        let content = &verdict.reduction.expect("a reduction").artifacts[0].content;
        let docs: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(content)
            .map(|d| serde::Deserialize::deserialize(d).expect("YAML document"))
            .collect();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["kind"], "ClusterRole");
        assert_eq!(
            docs[0]["rules"],
            serde_json::json!([
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]},
                {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
            ])
        );
        assert_eq!(docs[1]["kind"], "ClusterRoleBinding");
        assert_eq!(docs[1]["subjects"][0]["name"], "planner");
    }

    #[test]
    fn generalise_keeps_buckets_and_folds_keys_to_their_common_directory() {
        let arns = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            generalise(&arns(&["arn:aws:s3:::b/a/x", "arn:aws:s3:::b/a/y/z"])),
            arns(&["arn:aws:s3:::b/a/*"])
        );
        assert_eq!(
            generalise(&arns(&["arn:aws:s3:::b/x", "arn:aws:s3:::b/a/y"])),
            arns(&["arn:aws:s3:::b/*"])
        );
        assert_eq!(
            generalise(&arns(&["arn:aws:dynamodb:eu-west-1:1:table/t"])),
            arns(&["arn:aws:dynamodb:eu-west-1:1:table/t"])
        );
    }

    #[test]
    fn fully_used_grant_has_no_verdict() {
        let c = candidate(&["s3:GetObject"], &["s3:GetObject"], 14);
        assert_eq!(judge(&c, 7), None);
    }

    #[test]
    fn thin_evidence_is_insufficient_observation() {
        let c = candidate(&["s3:GetObject", "s3:PutObject"], &[], 3);
        let verdict = judge(&c, 7).expect("a verdict");
        assert_eq!(verdict.status, Status::InsufficientObservation);
        assert_eq!(verdict.rationale, "insufficient observation: 3 of 7 days");
    }

    #[test]
    fn inherited_grant_contributes_category_three() {
        let mut c = candidate(&["s3:PutObject"], &[], 14);
        c.grant.owned = false;
        let verdict = judge(&c, 7).expect("a verdict");
        assert_eq!(verdict.contributing, vec![Category::InheritedOverreach]);
    }

    #[test]
    fn min_observed_days_comes_from_config() {
        let batch = vec![candidate(&["s3:PutObject"], &[], 10)];
        let (result, _) = MockHost::new()
            .with_config("min-observed-days", "14")
            .run(|| UnusedExcess::classify(batch.clone()));
        let verdicts = result.expect("classify");
        assert_eq!(
            verdicts.first().map(|v| v.status),
            Some(Status::InsufficientObservation)
        );

        let (result, _) = MockHost::new()
            .with_config("min-observed-days", "two weeks")
            .run(|| UnusedExcess::classify(batch));
        assert!(matches!(result, Err(PluginError::InvalidInput { .. })));
    }
}
