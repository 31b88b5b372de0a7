//! Category 1, unused excess: granted, never exercised by any pod of the
//! workload over the observation window.
//!
//! A candidate's `usage.used_permissions` is aggregated by the host per
//! workload, so restarts and rollouts do not reset it. Nothing is called
//! unused on thin evidence: below `min-observed-days` (default 7) of
//! observation the verdict is `insufficient-observation`. Nor on no
//! evidence: a permission whose kind of call the logs do not record by
//! default (see `split_unobservable`) is not judged unless the logs show
//! that kind recorded for the grant, and stays in the replacement.
//!
//! For a grant the agent owns (`grant.owned`), with an open verdict and at
//! least one used permission, the reduction carries files the user applies
//! unchanged, under `unused-excess/{cluster}/{namespace}/{kind}-{name}/`
//! (`{short}` is the candidate id's first 8 characters):
//!
//! - AWS (`src/policy.rs`): `aws-policy-{short}.json`, the replacement identity
//!   policy (observed actions on the observed resources, S3 keys folded to
//!   their common prefix), and `aws-session-policy-{short}.json`, a session
//!   policy for one task (`aws sts assume-role … --policy file://…`): the
//!   exact observed resources when that fits AWS's 2,048-character packed
//!   limit, the folded form otherwise.
//! - GCP (`src/gcp.rs`): `gcp-role-{short}.yaml`, a custom role of exactly the
//!   observed permissions for `gcloud iam roles create`, and
//!   `gcp-rebind-{short}.sh`, which creates it (or updates it, if it
//!   exists), binds it to the same member on the same resource and removes
//!   the old role's binding, both under the old binding's IAM condition
//!   (`gcp-condition-{short}.yaml`, `--condition-from-file`) if it has one,
//!   `--condition=None` if not. None, and the summary says why, when that
//!   condition cannot be read.
//! - Azure (`src/azure.rs`): `azure-role-{short}.json`, a custom role definition
//!   of the observed operations of every grant of the role assignment (each
//!   in `Actions` or `DataActions`, the plane the grant cites) for `az role
//!   definition create`, assignable in the assignment's resource group (or
//!   subscription, or management group), and `azure-reassign-{short}.sh`,
//!   which creates it (or updates it, if it exists), assigns it at the same
//!   scope under the same ABAC condition and deletes the old assignment: one
//!   pair per assignment, which the findings of all its grants point to
//!   (`{short}` is then that of the assignment's first candidate id). None,
//!   and the summary says why, when the replacement would grant more.
//!
//! Inherited grants get no files (the fix is the upstream binding), nor do
//! grants with no observed use (the fix is to remove them) or too little
//! observation. The reduction summary says how the files are applied.

mod azure;
mod gcp;
mod kubernetes;
mod place;
mod policy;
mod render;
mod runtime;
#[cfg(test)]
mod testing;

pub use azure::{Plane, role_name as azure_role_name};
pub use gcp::{role_id as gcp_role_id, valid_role_id as valid_gcp_role_id};
pub use place::Place;
pub use policy::{
    SESSION_POLICY_MAX_CHARS, generalise, identity_policy, packed_len, session_policy,
};

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
        Ok(batch
            .iter()
            .filter_map(|c| judge_among(c, min_days, &batch))
            .collect())
    }
}

scopegraph_sdk::export_classifier!(UnusedExcess);

/// The rule for one candidate; `None` when every granted permission was used.
pub fn judge(candidate: &Candidate, min_observed_days: u32) -> Option<Verdict> {
    judge_among(
        candidate,
        min_observed_days,
        std::slice::from_ref(candidate),
    )
}

/// The rule for one candidate of a batch. A Kubernetes binding is one
/// grant per rule; the RBAC that replaces it covers the observed use of
/// all its rules in the batch (the host keeps a binding's rules in one
/// batch), so that removing the agent from the binding loses nothing used.
pub fn judge_among(
    candidate: &Candidate,
    min_observed_days: u32,
    batch: &[Candidate],
) -> Option<Verdict> {
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
    // The Azure Activity Log records control-plane writes and actions only:
    // reads and data-plane operations never appear in it, so their absence
    // says nothing.
    let (unused, unobservable) = split_unobservable(candidate, unused);
    let unlogged = match candidate.cloud {
        Cloud::Azure => "the Azure Activity Log does not record read or data-plane operations",
        Cloud::Aws => {
            "CloudTrail records these data events only when a trail selects them, and none of \
             the service's were seen for this grant"
        }
        Cloud::Gcp => {
            "GCP records these reads and object writes only in Data Access logs (off by \
             default), and none of the service's were seen for this grant"
        }
        Cloud::Kubernetes => "",
    };
    if unused.is_empty() {
        return Some(Verdict {
            candidate: candidate.id.clone(),
            category: Some(Category::UnusedExcess),
            contributing,
            status: Status::InsufficientObservation,
            rationale: format!(
                "insufficient observation: {unlogged}, so none of these {} can be judged from the logs",
                unobservable.len()
            ),
            permissions: unobservable,
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
        rationale: if unobservable.is_empty() {
            rationale(candidate, &unused)
        } else {
            format!(
                "{}; {} more cannot be judged ({unlogged}) and are kept",
                rationale(candidate, &unused),
                unobservable.len()
            )
        },
        reduction: Some(if unobservable.is_empty() {
            reduction(candidate, &unused, batch, min_observed_days)
        } else {
            // What cannot be judged stays in the replacement, on the
            // grant's own resources: dropping it could break work the
            // logs do not show.
            let mut kept = candidate.clone();
            kept.usage
                .used_permissions
                .extend(unobservable.iter().cloned());
            kept.usage.used_resources.clear();
            reduction(&kept, &unused, batch, min_observed_days)
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

fn reduction(
    candidate: &Candidate,
    unused: &[String],
    batch: &[Candidate],
    min_observed_days: u32,
) -> Reduction {
    let (artifacts, none_because) = match artifacts(candidate, batch, min_observed_days) {
        Ok(artifacts) => (artifacts, None),
        Err(why) => (Vec::new(), Some(why)),
    };
    let summary = if runtime::is_open_egress(candidate) {
        "apply the NetworkPolicy allowing only the observed egress".to_string()
    } else if runtime::is_syscalls(candidate) {
        "install the seccomp profile of the observed system calls on the nodes \
         (kubelet's seccomp directory, e.g. /var/lib/kubelet/seccomp/) and set \
         securityContext.seccompProfile {type: Localhost, localhostProfile: <file>} on the pod"
            .to_string()
    } else {
        let mut summary = format!(
            "remove {} unused permission(s) from {}",
            unused.len(),
            candidate.grant.source
        );
        if let (false, Some(place)) = (artifacts.is_empty(), Place::of(candidate)) {
            let how = match candidate.cloud {
                Cloud::Aws => policy::how_to_apply(candidate, &place),
                Cloud::Gcp => gcp::how_to_apply(candidate, &place),
                Cloud::Azure => {
                    let grants = assignment_grants(candidate, batch, min_observed_days);
                    azure::how_to_apply(&azure::place(&place, &grants), &grants)
                }
                Cloud::Kubernetes => kubernetes::how_to_apply(),
            };
            if !how.is_empty() {
                summary.push_str("; ");
                summary.push_str(&how);
            }
        }
        if let Some(why) = none_because {
            summary.push_str("; ");
            summary.push_str(&why);
        }
        summary
    };
    Reduction {
        kind: "scope-down".into(),
        summary,
        artifacts,
    }
}

/// What an owned grant with observed use is scoped down to, under
/// `unused-excess/{cluster}/{namespace}/{kind}-{name}/`: for AWS the
/// replacement identity policy and a session policy; for GCP a custom role
/// and the script that rebinds it; for Azure a custom role definition and
/// the script that reassigns it; for Kubernetes RBAC of the observed
/// requests; for run-time grants a NetworkPolicy or seccomp profile.
/// Nothing when the grant is inherited (the fix is upstream) or nothing was
/// used: the fix is to remove the grant, and an empty policy or role is not
/// a valid document. (Observing no egress at all is a result, though: the
/// NetworkPolicy then denies all egress.) `Err` says why there are none
/// where a replacement could not be made without granting more.
fn artifacts(
    candidate: &Candidate,
    batch: &[Candidate],
    min_observed_days: u32,
) -> Result<Vec<Artifact>, String> {
    let Some(agent) = AgentId::parse(&candidate.agent) else {
        return Ok(Vec::new());
    };
    let short: String = candidate.id.chars().take(8).collect();
    if runtime::is_open_egress(candidate) {
        return Ok(runtime::network_policy(candidate, &agent, &short)
            .into_iter()
            .collect());
    }
    if !candidate.grant.owned {
        return Ok(Vec::new());
    }
    // A rule of a binding never used still points to the binding's
    // replacement, if any of its rules were used; so does a grant of an
    // Azure role assignment, if anything of the assignment is kept.
    let kubernetes_rbac = candidate.cloud == Cloud::Kubernetes && !runtime::is_syscalls(candidate);
    if candidate.usage.used_permissions.is_empty()
        && !kubernetes_rbac
        && candidate.cloud != Cloud::Azure
    {
        return Ok(Vec::new());
    }
    if runtime::is_syscalls(candidate) {
        return Ok(runtime::seccomp_profile(candidate, &agent, &short)
            .into_iter()
            .collect());
    }
    let Some(place) = Place::of(candidate) else {
        return Ok(Vec::new());
    };
    match candidate.cloud {
        Cloud::Aws => Ok(policy::artifacts(candidate, &place)),
        Cloud::Gcp => gcp::artifacts(candidate, &place),
        Cloud::Azure => {
            let grants = assignment_grants(candidate, batch, min_observed_days);
            azure::artifacts(&grants, &azure::place(&place, &grants))
        }
        Cloud::Kubernetes => {
            let binding: Vec<&Candidate> = batch
                .iter()
                .filter(|c| {
                    c.cloud == Cloud::Kubernetes
                        && c.agent == candidate.agent
                        && c.grant.source == candidate.grant.source
                        && c.principal == candidate.principal
                })
                .collect();
            Ok(kubernetes::replacement_rbac(candidate, &binding, &agent)
                .into_iter()
                .collect())
        }
    }
}

/// The grants of `candidate`'s Azure role assignment (same agent, assignment
/// and holder) in the batch, `candidate` among them, by candidate id, each
/// with what its replacement keeps. The host keeps an assignment's grants
/// (one per permission block and plane) in one batch; deleting the
/// assignment removes them all, so its one replacement must keep what each
/// of them needs.
fn assignment_grants<'a>(
    candidate: &'a Candidate,
    batch: &'a [Candidate],
    min_observed_days: u32,
) -> Vec<azure::Grant<'a>> {
    let mut grants: Vec<&Candidate> = batch
        .iter()
        .filter(|c| azure::same_assignment(c, candidate))
        .collect();
    if !grants.iter().any(|c| c.id == candidate.id) {
        grants.push(candidate);
    }
    grants.sort_by(|a, b| a.id.cmp(&b.id));
    grants
        .into_iter()
        .map(|c| {
            let (open, kept) = kept(c, min_observed_days);
            azure::Grant {
                candidate: c,
                open,
                kept,
            }
        })
        .collect()
}

/// Whether the grant's verdict is open, and what a replacement of it keeps:
/// for an open verdict, the observed use and what the logs cannot judge
/// (what [`judge_among`] reduces it to); otherwise (nothing unused, too
/// little observation, nothing the logs can judge) every permission granted
/// or used, none of them being called unused.
fn kept(candidate: &Candidate, min_observed_days: u32) -> (bool, Vec<String>) {
    let mut kept = candidate.usage.used_permissions.clone();
    let unused = unused_permissions(candidate);
    if !unused.is_empty() && candidate.usage.observed_days >= min_observed_days {
        let (judged, unobservable) = split_unobservable(candidate, unused);
        if !judged.is_empty() {
            kept.extend(unobservable);
            return (true, kept);
        }
    }
    kept.extend(candidate.permissions.iter().cloned());
    (false, kept)
}

/// Of the unused permissions, the ones the logs could have shown in use,
/// and the ones they could not, because the default log does not record
/// their class of operation:
///
/// - Azure: reads (`…/read`) and data actions; the Activity Log records
///   neither.
/// - AWS: CloudTrail data events (S3 object-level and listing calls,
///   DynamoDB item calls, Lambda invocations), logged only when a trail
///   selects them.
/// - GCP: reads (`get*`/`list*`, `ADMIN_READ`/`DATA_READ`) and Cloud
///   Storage object writes, in Data Access logs that are off by default
///   (BigQuery's are always on, so `bigquery.*` is always judged).
///
/// A class counts as recorded when the logs show this grant used for an
/// operation of it (of the same service, for AWS and GCP).
fn split_unobservable(candidate: &Candidate, unused: Vec<String>) -> (Vec<String>, Vec<String>) {
    let used = &candidate.usage.used_permissions;
    let service = |p: &str| {
        p.split([':', '.'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    // Whether the class of `p` (same service) was seen recorded.
    let recorded = |in_class: &dyn Fn(&str) -> bool, p: &str| {
        used.iter().any(|u| in_class(u) && service(u) == service(p))
    };
    let split = |in_class: &dyn Fn(&str) -> bool| -> (Vec<String>, Vec<String>) {
        unused
            .iter()
            .cloned()
            .partition(|p| !in_class(p) || recorded(in_class, p))
    };
    match candidate.cloud {
        Cloud::Azure => {
            if azure::Plane::of(candidate) == Some(azure::Plane::DataActions) {
                return if used.is_empty() {
                    (Vec::new(), unused)
                } else {
                    (unused, Vec::new())
                };
            }
            // The Activity Log is one log for every resource provider: one
            // read seen means reads are recorded (not per service).
            let is_read = |p: &str| p.to_ascii_lowercase().ends_with("/read");
            if used.iter().any(|p| is_read(p)) {
                return (unused, Vec::new());
            }
            unused.into_iter().partition(|p| !is_read(p))
        }
        Cloud::Aws => split(&is_aws_data_event),
        Cloud::Gcp => split(&is_gcp_data_access),
        Cloud::Kubernetes => (unused, Vec::new()),
    }
}

/// CloudTrail data events: not in a trail unless selected.
fn is_aws_data_event(permission: &str) -> bool {
    let Some((service, action)) = permission.split_once(':') else {
        return false;
    };
    // IAM action names are case-insensitive.
    let action = action.to_ascii_lowercase();
    let action = action.as_str();
    match service.to_ascii_lowercase().as_str() {
        "s3" => {
            action.contains("object")
                || matches!(
                    action,
                    "listbucket"
                        | "listbucketversions"
                        | "listbucketmultipartuploads"
                        | "listmultipartuploadparts"
                        | "abortmultipartupload"
                )
        }
        "s3-object-lambda" => true,
        "dynamodb" => matches!(
            action,
            "getitem"
                | "putitem"
                | "updateitem"
                | "deleteitem"
                | "batchgetitem"
                | "batchwriteitem"
                | "query"
                | "scan"
                | "conditioncheckitem"
                | "partiqlselect"
                | "partiqlinsert"
                | "partiqlupdate"
                | "partiqldelete"
                | "getrecords"
                | "getsharditerator"
        ),
        "lambda" => matches!(action, "invokefunction" | "invokefunctionurl"),
        _ => false,
    }
}

/// Operations in GCP's Data Access audit logs, off by default: reads, and
/// Cloud Storage object writes. BigQuery's are always on.
fn is_gcp_data_access(permission: &str) -> bool {
    if permission.starts_with("bigquery.") {
        return false;
    }
    let method = permission.rsplit('.').next().unwrap_or_default();
    method.starts_with("get")
        || method.starts_with("list")
        || permission.starts_with("storage.objects.")
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
        assert_eq!(artifacts.len(), 2);
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
            "unused-excess/prod/agents/deployment-planner/k8s-rbac-83332fa4.yaml"
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
                    "metadata": {"name": "planner-observed-83332fa4", "namespace": "agents"},
                    "rules": [
                        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
                        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]},
                    ]
                }),
                serde_json::json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "RoleBinding",
                    "metadata": {"name": "planner-observed-83332fa4", "namespace": "agents"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Role",
                        "name": "planner-observed-83332fa4"
                    },
                    "subjects": [{"kind": "ServiceAccount", "name": "planner", "namespace": "agents"}]
                }),
            ]
        );
    }

    #[test]
    fn the_rbac_of_a_binding_covers_the_use_of_all_its_rules_in_the_batch() {
        // Rule 0 was partly used, rule 1 wholly: only rule 0 has a finding,
        // but its file must keep rule 1's use, or removing the agent from
        // the binding would take it away.
        let partly = kubernetes_candidate(&["pods:get"], &["agents/pods/web-0"]);
        let mut wholly = kubernetes_candidate(&["configmaps:get"], &["agents/configmaps/tools"]);
        wholly.id = "fedcba9876543210".into();
        wholly.permissions = vec!["configmaps:get".into()];
        wholly.resources = vec!["agents/configmaps/*".into()];
        let batch = vec![partly.clone(), wholly];
        let verdicts: Vec<Verdict> = batch
            .iter()
            .filter_map(|c| judge_among(c, 7, &batch))
            .collect();
        assert_eq!(verdicts.len(), 1);
        let content = &verdicts[0]
            .reduction
            .as_ref()
            .expect("a reduction")
            .artifacts[0]
            .content;
        let docs: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(content)
            .map(|d| serde::Deserialize::deserialize(d).expect("YAML document"))
            .collect();
        assert_eq!(
            docs[0]["rules"],
            serde_json::json!([
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
            ])
        );
        // Alone, the rule's file holds only its own use.
        let alone = judge(&partly, 7).expect("a verdict");
        assert!(
            !alone.reduction.expect("a reduction").artifacts[0]
                .content
                .contains("configmaps")
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
    fn azure_reads_and_data_actions_are_not_judged_from_the_activity_log() {
        let evidence = |plane: &str| EvidenceRef {
            kind: "document".into(),
            reference: format!("doc-3#/0/permissions/0/{plane}"),
            summary: String::new(),
        };
        let mut c = candidate(
            &[
                "Microsoft.Storage/storageAccounts/read",
                "Microsoft.Storage/storageAccounts/write",
                "Microsoft.Storage/storageAccounts/listKeys/action",
            ],
            &["Microsoft.Storage/storageAccounts/listKeys/action"],
            14,
        );
        c.cloud = Cloud::Azure;
        c.evidence = vec![evidence("actions")];
        let verdict = judge(&c, 7).expect("a verdict");
        assert_eq!(verdict.status, Status::Open);
        assert_eq!(
            verdict.permissions,
            vec!["Microsoft.Storage/storageAccounts/write"]
        );

        // Nothing but reads unused: nothing can be judged.
        c.permissions.remove(1);
        let verdict = judge(&c, 7).expect("a verdict");
        assert_eq!(verdict.status, Status::InsufficientObservation);
        assert_eq!(
            verdict.permissions,
            vec!["Microsoft.Storage/storageAccounts/read"]
        );
        assert!(
            verdict
                .rationale
                .contains("does not record read or data-plane")
        );

        // A data-plane grant with no observed use at all: not judged either.
        let mut data = candidate(
            &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
            &[],
            14,
        );
        data.cloud = Cloud::Azure;
        data.evidence = vec![evidence("dataActions")];
        assert_eq!(
            judge(&data, 7).expect("a verdict").status,
            Status::InsufficientObservation
        );
    }

    #[test]
    fn aws_data_events_are_judged_only_when_the_trail_shows_them() {
        let granted = [
            "s3:GetObject",
            "s3:PutObject",
            "s3:CreateBucket",
            "s3:ListAllMyBuckets",
        ];
        // Only management events seen: object calls may simply not be logged.
        let mut c = candidate(&granted, &["s3:ListAllMyBuckets"], 14);
        c.resources = vec![
            "arn:aws:s3:::acme-reports".into(),
            "arn:aws:s3:::acme-reports/*".into(),
        ];
        c.usage.used_resources = vec!["arn:aws:s3:::acme-reports".into()];
        let verdict = judge(&c, 7).expect("a verdict");
        assert_eq!(verdict.status, Status::Open);
        assert_eq!(verdict.permissions, vec!["s3:CreateBucket"]);
        assert!(
            verdict
                .rationale
                .contains("2 more cannot be judged (CloudTrail records these data events"),
            "{}",
            verdict.rationale
        );
        // The replacement keeps what cannot be judged, on the grant's own resources.
        let artifacts = verdict.reduction.expect("a reduction").artifacts;
        let policy: serde_json::Value =
            serde_json::from_str(&artifacts[0].content).expect("valid JSON");
        assert_eq!(
            policy["Statement"][0]["Action"],
            serde_json::json!(["s3:GetObject", "s3:ListAllMyBuckets", "s3:PutObject"])
        );
        assert_eq!(
            policy["Statement"][0]["Resource"],
            serde_json::json!(["arn:aws:s3:::acme-reports", "arn:aws:s3:::acme-reports/*"])
        );

        // A data event of S3 was seen: the trail records them, so all are judged.
        let c = candidate(&granted, &["s3:GetObject", "s3:ListAllMyBuckets"], 14);
        let verdict = judge(&c, 7).expect("a verdict");
        assert_eq!(verdict.permissions, vec!["s3:PutObject", "s3:CreateBucket"]);
        assert!(!verdict.rationale.contains("cannot be judged"));

        // Nothing observable unused: insufficient observation.
        let c = candidate(
            &["s3:GetObject", "s3:ListAllMyBuckets"],
            &["s3:ListAllMyBuckets"],
            14,
        );
        let verdict = judge(&c, 7).expect("a verdict");
        assert_eq!(verdict.status, Status::InsufficientObservation);
        assert_eq!(verdict.permissions, vec!["s3:GetObject"]);
    }

    #[test]
    fn gcp_reads_are_judged_only_when_data_access_logs_show_them_except_bigquery() {
        let mut c = candidate(
            &[
                "storage.objects.get",
                "storage.buckets.create",
                "storage.buckets.delete",
                "resourcemanager.projects.get",
                "bigquery.tables.list",
            ],
            &["storage.buckets.create"],
            14,
        );
        c.cloud = Cloud::Gcp;
        let verdict = judge(&c, 7).expect("a verdict");
        assert_eq!(
            verdict.permissions,
            vec!["storage.buckets.delete", "bigquery.tables.list"]
        );
        assert!(
            verdict
                .rationale
                .contains("2 more cannot be judged (GCP records these reads")
        );
        // Storage's Data Access logs are on (an object read was seen), Resource
        // Manager's are not known to be: only the latter stays unjudged.
        c.permissions.push("storage.objects.list".into());
        c.usage.used_permissions.push("storage.objects.get".into());
        let verdict = judge(&c, 7).expect("a verdict");
        assert_eq!(
            verdict.permissions,
            vec![
                "storage.buckets.delete",
                "bigquery.tables.list",
                "storage.objects.list"
            ]
        );
        assert!(verdict.rationale.contains("1 more cannot be judged"));
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

    #[test]
    fn inherited_or_unused_only_grants_get_no_artifacts_in_any_cloud() {
        use crate::testing::{evidence, hop, owned};
        let shapes = [
            (
                Cloud::Aws,
                "arn:aws:iam::111122223333:policy/report-agent-s3",
                "arn:aws:s3:::acme-reports",
                "aws:arn:aws:iam::111122223333:role/report-agent",
                "s3:GetObject",
            ),
            (
                Cloud::Gcp,
                "//cloudresourcemanager.googleapis.com/projects/acme-data IAM binding roles/bigquery.jobUser",
                "//cloudresourcemanager.googleapis.com/projects/acme-data",
                "gcp:serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com",
                "bigquery.jobs.create",
            ),
            (
                Cloud::Azure,
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/0a1b",
                "/subscriptions/s/resourceGroups/rg",
                "azure:b2d3f4a5-2222-4b3c-9d4e-6f7a8b9c0d12",
                "Microsoft.Storage/storageAccounts/read",
            ),
        ];
        for (cloud, source, resource, holder, used) in shapes {
            let mut c = owned(
                cloud,
                "prod/analytics/Deployment/report-agent",
                &[used, "x.unused.permission"],
                &[used],
            );
            c.grant.source = source.into();
            c.resources = vec![resource.into()];
            c.chain = vec![
                hop("k8s:prod/analytics/Deployment/report-agent", "workload", ""),
                hop(holder, "cloud-identity", "via"),
            ];
            c.evidence = vec![evidence(
                "document",
                "azure-built-in-roles:acdd72a7-3385-48ef-bd42-f606fba81ae7#/permissions/0/actions",
                "built-in role Reader: actions [*/read]",
            )];
            let artifacts = |c: &Candidate| judge(c, 7).unwrap().reduction.unwrap().artifacts;
            assert_eq!(artifacts(&c).len(), 2, "{cloud:?}: owned with use");

            let mut inherited = c.clone();
            inherited.grant.owned = false;
            inherited.grant.mechanisms = vec!["node-fallback".into()];
            inherited.grant.inherited_from_hop = Some(1);
            assert!(artifacts(&inherited).is_empty(), "{cloud:?}: inherited");
            let summary = judge(&inherited, 7).unwrap().reduction.unwrap().summary;
            assert_eq!(
                summary,
                format!("remove 1 unused permission(s) from {source}")
            );

            let mut unused_only = c.clone();
            unused_only.usage.used_permissions.clear();
            // Nothing used: nothing to replace the grant with, unless a
            // permission the logs cannot show (an S3 object read without
            // data events, an Azure read) is kept.
            let kept = artifacts(&unused_only);
            match cloud {
                Cloud::Gcp => assert!(kept.is_empty(), "{cloud:?}: unused only"),
                _ => assert!(
                    kept.iter().any(|a| a.content.contains(used)),
                    "{cloud:?}: the unjudged permission is kept"
                ),
            }

            let mut thin = c.clone();
            thin.usage.observed_days = 3;
            assert_eq!(judge(&thin, 7).unwrap().reduction, None, "{cloud:?}: thin");
        }
    }
}
