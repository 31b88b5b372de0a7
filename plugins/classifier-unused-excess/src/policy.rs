//! What an AWS grant is scoped down to: a replacement identity policy of
//! exactly the observed actions, on the observed resources (S3 objects
//! generalised to the narrowest common key prefix of their bucket), and a
//! session policy that narrows one session of the role further, to the
//! exact resources observed.

use crate::place::Place;
use crate::render::shell_word;
use scopegraph_sdk::{Artifact, Candidate};
use std::collections::BTreeSet;

/// The most characters a session policy may have once whitespace is
/// removed (`PackedPolicyTooLarge` beyond it, before any compression check).
pub const SESSION_POLICY_MAX_CHARS: usize = 2048;

pub use scopegraph_artifacts::aws::generalise;

/// An identity policy document allowing `actions` on `resources`, in one
/// statement `ObservedUse`.
pub fn identity_policy(actions: &[String], resources: &[String]) -> String {
    scopegraph_artifacts::aws::identity_policy("ObservedUse", actions, resources)
}

/// Characters of a policy document as AWS counts them for the session
/// policy limit: everything but whitespace.
pub fn packed_len(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

/// The session policy for one task: the observed actions on the exact
/// observed resources (the grant's own resources when the logs name none).
///
/// Rule: the exact form is used when it is at most
/// [`SESSION_POLICY_MAX_CHARS`] characters after removing whitespace,
/// which is what AWS accepts in `AssumeRole`'s `Policy` parameter; above
/// that, the folded form of the replacement policy (S3 keys folded to their
/// common prefix, see [`generalise`]). A folded form that still exceeds the
/// limit is written anyway: it is the narrowest this rule produces, and AWS
/// refuses it with `PackedPolicyTooLarge` rather than granting more.
pub fn session_policy(actions: &[String], observed: &[String], granted: &[String]) -> String {
    let exact = if observed.is_empty() {
        granted.to_vec()
    } else {
        let set: BTreeSet<&String> = observed.iter().collect();
        set.into_iter().cloned().collect()
    };
    let document = identity_policy(actions, &exact);
    if packed_len(&document) <= SESSION_POLICY_MAX_CHARS {
        return document;
    }
    identity_policy(actions, &folded_resources(observed, granted))
}

/// The replacement policy's resources: the observed ones folded, or the
/// grant's own when the logs name none.
fn folded_resources(observed: &[String], granted: &[String]) -> Vec<String> {
    if observed.is_empty() {
        granted.to_vec()
    } else {
        generalise(observed)
    }
}

/// The replacement policy and the session policy of an owned grant with
/// observed use.
pub fn artifacts(candidate: &Candidate, place: &Place) -> Vec<Artifact> {
    let used = &candidate.usage.used_permissions;
    let observed = &candidate.usage.used_resources;
    vec![
        Artifact {
            path: place.file(&format!("aws-policy-{}.json", place.short)),
            content: identity_policy(used, &folded_resources(observed, &candidate.resources)),
        },
        Artifact {
            path: place.file(&format!("aws-session-policy-{}.json", place.short)),
            content: session_policy(used, observed, &candidate.resources),
        },
    ]
}

/// How the two policies are applied, for the reduction summary.
pub fn how_to_apply(candidate: &Candidate, place: &Place) -> String {
    let role = candidate
        .chain
        .last()
        .and_then(|hop| hop.node.strip_prefix("aws:"))
        .filter(|arn| arn.contains(":role/"))
        .map_or_else(|| "ROLE_ARN".to_string(), shell_word);
    let session = format!("aws-session-policy-{}.json", place.short);
    format!(
        "replace the policy with aws-policy-{short}.json; to narrow a single task further, \
         pass {session} as the session policy when assuming the role \
         (aws sts assume-role --role-arn {role} --role-session-name TASK --policy file://{session}, \
         or the Policy parameter of AssumeRole / AssumeRoleWithWebIdentity)",
        short = place.short
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{hop, owned, paths, reduction, strings};
    use scopegraph_sdk::Cloud;
    use serde_json::json;

    /// IRSA to the agent's own role, as provider-aws emits it.
    fn candidate(used_resources: Vec<String>) -> Candidate {
        let mut c = owned(
            Cloud::Aws,
            "prod-eks/analytics/Deployment/report-agent",
            &[
                "s3:DeleteObject",
                "s3:GetObject",
                "s3:ListBucket",
                "s3:PutObject",
            ],
            &["s3:GetObject", "s3:ListBucket"],
        );
        c.resources = strings(&["arn:aws:s3:::acme-reports", "arn:aws:s3:::acme-reports/*"]);
        c.grant.source = "arn:aws:iam::111122223333:policy/report-agent-s3".into();
        c.chain = vec![
            hop(
                "k8s:prod-eks/analytics/Deployment/report-agent",
                "workload",
                "",
            ),
            hop(
                "k8s:prod-eks/analytics/ServiceAccount/report-agent",
                "service-account",
                "spec.serviceAccountName",
            ),
            hop(
                "aws:arn:aws:iam::111122223333:role/report-agent",
                "cloud-identity",
                "eks.amazonaws.com/role-arn",
            ),
        ];
        c.usage.used_resources = used_resources;
        c
    }

    fn document(actions: &[&str], resources: &[String]) -> serde_json::Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "ObservedUse",
                "Effect": "Allow",
                "Action": actions,
                "Resource": resources,
            }]
        })
    }

    #[test]
    fn owned_grant_gets_a_session_policy_of_the_exact_observed_resources() {
        let observed = strings(&[
            "arn:aws:s3:::acme-reports/q3/revenue.pdf",
            "arn:aws:s3:::acme-reports",
            "arn:aws:s3:::acme-reports/q3/costs/march.csv",
            "arn:aws:s3:::acme-reports",
        ]);
        let reduction = reduction(&candidate(observed));
        let artifacts = reduction.artifacts;
        assert_eq!(
            paths(&artifacts),
            [
                "unused-excess/prod-eks/analytics/deployment-report-agent/aws-policy-5e1f0c2a.json",
                "unused-excess/prod-eks/analytics/deployment-report-agent/aws-session-policy-5e1f0c2a.json",
            ]
        );
        let replacement: serde_json::Value = serde_json::from_str(&artifacts[0].content).unwrap();
        assert_eq!(
            replacement,
            document(
                &["s3:GetObject", "s3:ListBucket"],
                &strings(&[
                    "arn:aws:s3:::acme-reports",
                    "arn:aws:s3:::acme-reports/q3/*"
                ])
            )
        );
        let session: serde_json::Value = serde_json::from_str(&artifacts[1].content).unwrap();
        assert_eq!(
            session,
            document(
                &["s3:GetObject", "s3:ListBucket"],
                &strings(&[
                    "arn:aws:s3:::acme-reports",
                    "arn:aws:s3:::acme-reports/q3/costs/march.csv",
                    "arn:aws:s3:::acme-reports/q3/revenue.pdf",
                ])
            )
        );
        assert!(reduction.summary.ends_with(
            "; replace the policy with aws-policy-5e1f0c2a.json; to narrow a single task further, \
             pass aws-session-policy-5e1f0c2a.json as the session policy when assuming the role \
             (aws sts assume-role --role-arn arn:aws:iam::111122223333:role/report-agent \
             --role-session-name TASK --policy file://aws-session-policy-5e1f0c2a.json, \
             or the Policy parameter of AssumeRole / AssumeRoleWithWebIdentity)"
        ));
        // The logs naming no resource: the grant's own.
        let artifacts = reduction_of(candidate(Vec::new()));
        let session: serde_json::Value = serde_json::from_str(&artifacts[1].content).unwrap();
        assert_eq!(
            session,
            document(
                &["s3:GetObject", "s3:ListBucket"],
                &strings(&["arn:aws:s3:::acme-reports", "arn:aws:s3:::acme-reports/*"])
            )
        );
    }

    fn reduction_of(c: Candidate) -> Vec<Artifact> {
        reduction(&c).artifacts
    }

    #[test]
    fn session_policy_falls_back_to_the_folded_form_above_2048_packed_characters() {
        let actions = strings(&["s3:GetObject"]);
        let key = |i: usize| format!("arn:aws:s3:::acme-reports/exports/2026/part-{i:04}.parquet");
        // Enough objects to come near the limit, the last key padded to
        // reach it exactly.
        let mut observed: Vec<String> = (0..32).map(key).collect();
        let short = SESSION_POLICY_MAX_CHARS - packed_len(&identity_policy(&actions, &observed));
        assert!(short < 100, "{short}");
        let last = observed.len() - 1;
        observed[last] = format!(
            "arn:aws:s3:::acme-reports/exports/2026/part-{}.parquet",
            "9".repeat(4 + short)
        );
        let exact = session_policy(&actions, &observed, &[]);
        assert_eq!(packed_len(&exact), SESSION_POLICY_MAX_CHARS);
        let parsed: serde_json::Value = serde_json::from_str(&exact).unwrap();
        assert_eq!(parsed, document(&["s3:GetObject"], &observed));

        // One character more: the folded form.
        let at = observed[last].len() - ".parquet".len();
        observed[last].insert(at, '9');
        assert_eq!(
            packed_len(&identity_policy(&actions, &observed)),
            SESSION_POLICY_MAX_CHARS + 1
        );
        let folded = session_policy(&actions, &observed, &[]);
        let parsed: serde_json::Value = serde_json::from_str(&folded).unwrap();
        assert_eq!(
            parsed,
            document(
                &["s3:GetObject"],
                &strings(&["arn:aws:s3:::acme-reports/exports/2026/*"])
            )
        );
    }

    #[test]
    fn packed_length_ignores_whitespace() {
        assert_eq!(packed_len("{\n  \"a\": [ \"b\" ]\n}\n"), 11);
    }
}
