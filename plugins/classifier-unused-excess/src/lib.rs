//! Category 1, unused excess: granted, never exercised by any pod of the
//! workload over the observation window.
//!
//! A candidate's `usage.used_permissions` is aggregated by the host per
//! workload, so restarts and rollouts do not reset it. Nothing is called
//! unused on thin evidence: below `min-observed-days` (default 7) of
//! observation the verdict is `insufficient-observation`.

use scopegraph_sdk::{
    Candidate, Category, Classifier, Cloud, EvidenceRef, PluginError, Reduction, Status, Verdict,
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
        rationale: format!(
            "{} granted permission(s) never exercised by any pod of {} in {} observed days",
            unused.len(),
            candidate.agent,
            usage.observed_days
        ),
        reduction: Some(Reduction {
            kind: "scope-down".into(),
            summary: format!(
                "remove {} unused permission(s) from {}",
                unused.len(),
                candidate.grant.source
            ),
            artifacts: Vec::new(),
        }),
        permissions: unused,
        evidence,
        misroute: misroute.into(),
    })
}

/// Granted permissions with no observed use. AWS action names are
/// case-insensitive; the other systems' are not.
pub fn unused_permissions(candidate: &Candidate) -> Vec<String> {
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
