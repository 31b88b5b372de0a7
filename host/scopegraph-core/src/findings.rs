//! Findings: classifier verdicts joined with the candidates they judge.

use crate::ids::stable_hash;
use crate::{Candidate, Category, Cloud, EvidenceRef, Hop, Reduction, Status};
use std::collections::HashMap;

/// One finding, as every report format renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable across runs for the same agent, grant and category.
    pub id: String,
    pub agent: String,
    pub category: Category,
    pub contributing: Vec<Category>,
    pub status: Status,
    pub cloud: Cloud,
    pub principal: String,
    pub permissions: Vec<String>,
    pub resources: Vec<String>,
    pub grant_source: String,
    pub owned: bool,
    pub ownership_reason: String,
    pub chain: Vec<Hop>,
    pub rationale: String,
    pub evidence: Vec<EvidenceRef>,
    pub reduction: Option<Reduction>,
    pub misroute: String,
    /// `id@version` of each plugin that reached this verdict.
    pub classified_by: Vec<String>,
}

/// Triage order: unused excess first, inherited overreach second,
/// unjustified use last.
pub fn triage_rank(category: Category) -> u8 {
    match category {
        Category::UnusedExcess => 0,
        Category::InheritedOverreach => 1,
        Category::UnjustifiedUse => 2,
    }
}

/// `unused-excess`, as the findings schema spells it.
pub fn category_name(category: Category) -> &'static str {
    match category {
        Category::UnusedExcess => "unused-excess",
        Category::UnjustifiedUse => "unjustified-use",
        Category::InheritedOverreach => "inherited-overreach",
    }
}

pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Open => "open",
        Status::InsufficientObservation => "insufficient-observation",
        Status::Resolved => "resolved",
    }
}

pub fn cloud_name(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Aws => "aws",
        Cloud::Gcp => "gcp",
        Cloud::Azure => "azure",
        Cloud::Kubernetes => "kubernetes",
    }
}

/// Join verdicts (tagged with the plugin that gave them) with their
/// candidates. Two plugins with the same category for the same candidate
/// make one finding classified by both. Sorted in triage order.
pub fn assemble(
    candidates: &[Candidate],
    verdicts: Vec<(String, Vec<crate::Verdict>)>,
) -> Vec<Finding> {
    let by_id: HashMap<&str, &Candidate> = candidates.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut findings: Vec<Finding> = Vec::new();
    let mut index: HashMap<(String, Category), usize> = HashMap::new();
    for (plugin, list) in verdicts {
        for verdict in list {
            let (Some(category), Some(candidate)) =
                (verdict.category, by_id.get(verdict.candidate.as_str()))
            else {
                continue;
            };
            let key = (candidate.id.clone(), category);
            if let Some(existing) = index.get(&key).and_then(|&i| findings.get_mut(i)) {
                existing.classified_by.push(plugin.clone());
                for c in verdict.contributing {
                    if !existing.contributing.contains(&c) {
                        existing.contributing.push(c);
                    }
                }
                continue;
            }
            index.insert(key, findings.len());
            let permissions = if verdict.permissions.is_empty() {
                candidate.permissions.clone()
            } else {
                verdict.permissions
            };
            findings.push(Finding {
                id: stable_hash(&[
                    &candidate.agent,
                    &candidate.grant.source,
                    &candidate.id,
                    category_name(category),
                ]),
                agent: candidate.agent.clone(),
                category,
                contributing: verdict.contributing,
                status: verdict.status,
                cloud: candidate.cloud,
                principal: candidate.principal.clone(),
                permissions,
                resources: candidate.resources.clone(),
                grant_source: candidate.grant.source.clone(),
                owned: candidate.grant.owned,
                ownership_reason: candidate.grant.ownership_reason.clone(),
                chain: candidate.chain.clone(),
                rationale: verdict.rationale,
                evidence: verdict.evidence,
                reduction: verdict.reduction,
                misroute: verdict.misroute,
                classified_by: vec![plugin.clone()],
            });
        }
    }
    findings.sort_by(|a, b| {
        (triage_rank(a.category), &a.agent, &a.grant_source, &a.id).cmp(&(
            triage_rank(b.category),
            &b.agent,
            &b.grant_source,
            &b.id,
        ))
    });
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Verdict;

    #[test]
    fn same_category_from_two_plugins_is_one_finding_in_triage_order() {
        let candidate = Candidate {
            id: "c".into(),
            agent: "a".into(),
            permissions: vec!["p".into(), "q".into()],
            ..Candidate::default()
        };
        let v = |category| Verdict {
            candidate: "c".into(),
            category: Some(category),
            ..Verdict::default()
        };
        let findings = assemble(
            std::slice::from_ref(&candidate),
            vec![
                ("x@1".into(), vec![v(Category::UnjustifiedUse)]),
                (
                    "y@1".into(),
                    vec![
                        v(Category::InheritedOverreach),
                        Verdict {
                            candidate: "gone".into(),
                            ..v(Category::UnusedExcess)
                        },
                    ],
                ),
                ("z@1".into(), vec![v(Category::InheritedOverreach)]),
            ],
        );
        let summary: Vec<(Category, Vec<String>)> = findings
            .iter()
            .map(|f| (f.category, f.classified_by.clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    Category::InheritedOverreach,
                    vec!["y@1".to_string(), "z@1".to_string()]
                ),
                (Category::UnjustifiedUse, vec!["x@1".to_string()]),
            ]
        );
        assert_eq!(
            findings[0].permissions,
            vec!["p", "q"],
            "empty verdict permissions mean all"
        );
    }
}
