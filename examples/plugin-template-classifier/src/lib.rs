//! An organisation's own rule, written only against `scopegraph-sdk`.
//!
//! "Agents never hold the permissions we forbid." The list comes from the
//! plugin's configuration (`forbidden`, comma-separated; a trailing `*`
//! matches any suffix). A forbidden permission that was never used is
//! unused excess (remove it); one that was used is unjustified use (the
//! agent did something the organisation never wants it to do).

use scopegraph_sdk::{
    Candidate, Category, Classifier, EvidenceRef, PluginError, Reduction, Status, Verdict,
};

/// Used when the plugin's configuration does not say otherwise.
pub const DEFAULT_FORBIDDEN: &str = "iam:PassRole,iam:CreateAccessKey,secrets:list,secrets:watch";

#[derive(Debug)]
pub struct ForbiddenPermissions;

impl Classifier for ForbiddenPermissions {
    fn classify(batch: Vec<Candidate>) -> Result<Vec<Verdict>, PluginError> {
        let forbidden =
            scopegraph_sdk::config("forbidden").unwrap_or_else(|| DEFAULT_FORBIDDEN.into());
        let patterns: Vec<&str> = forbidden
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        scopegraph_sdk::debug!(
            "checking {} candidates against {} patterns",
            batch.len(),
            patterns.len()
        );
        Ok(batch.iter().filter_map(|c| judge(c, &patterns)).collect())
    }
}

scopegraph_sdk::export_classifier!(ForbiddenPermissions);

fn matches(pattern: &str, permission: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => permission.starts_with(prefix),
        None => pattern == permission,
    }
}

/// The rule for one candidate.
pub fn judge(candidate: &Candidate, patterns: &[&str]) -> Option<Verdict> {
    let hits: Vec<String> = candidate
        .permissions
        .iter()
        .filter(|p| patterns.iter().any(|pat| matches(pat, p)))
        .cloned()
        .collect();
    if hits.is_empty() {
        return None;
    }
    let used = hits
        .iter()
        .any(|p| candidate.usage.used_permissions.contains(p));
    let category = if used {
        Category::UnjustifiedUse
    } else {
        Category::UnusedExcess
    };
    Some(Verdict {
        candidate: candidate.id.clone(),
        category: Some(category),
        status: Status::Open,
        rationale: format!(
            "organisation policy forbids agents to hold {}",
            hits.join(", ")
        ),
        evidence: vec![EvidenceRef {
            kind: "binding".into(),
            reference: candidate.grant.source.clone(),
            summary: "grants a forbidden permission".into(),
        }],
        reduction: Some(Reduction {
            kind: if used { "guardrail" } else { "scope-down" }.into(),
            summary: format!("remove {} from {}", hits.join(", "), candidate.grant.source),
            artifacts: Vec::new(),
        }),
        permissions: hits,
        ..Verdict::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scopegraph_sdk::{Usage, mock::MockHost};

    fn candidate(permissions: &[&str], used: &[&str]) -> Candidate {
        Candidate {
            id: "c".into(),
            permissions: permissions.iter().map(|s| s.to_string()).collect(),
            usage: Usage {
                used_permissions: used.iter().map(|s| s.to_string()).collect(),
                ..Usage::default()
            },
            ..Candidate::default()
        }
    }

    #[test]
    fn unused_forbidden_permission_is_unused_excess() {
        let (verdicts, logs) = MockHost::new().run(|| {
            ForbiddenPermissions::classify(vec![candidate(&["iam:PassRole", "s3:GetObject"], &[])])
        });
        let verdicts = verdicts.unwrap();
        assert_eq!(verdicts.len(), 1);
        assert_eq!(verdicts[0].category, Some(Category::UnusedExcess));
        assert_eq!(verdicts[0].permissions, vec!["iam:PassRole"]);
        assert_eq!(logs.len(), 1, "the rule logs one debug line per batch");
    }

    #[test]
    fn configured_patterns_replace_the_default_and_used_means_unjustified() {
        let (verdicts, _) = MockHost::new()
            .with_config("forbidden", "s3:Delete*")
            .run(|| {
                ForbiddenPermissions::classify(vec![
                    candidate(&["iam:PassRole"], &[]),
                    candidate(&["s3:DeleteObject"], &["s3:DeleteObject"]),
                ])
            });
        let verdicts = verdicts.unwrap();
        assert_eq!(verdicts.len(), 1);
        assert_eq!(verdicts[0].category, Some(Category::UnjustifiedUse));
    }
}
