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
    /// Earlier classifications of this finding, oldest first, ending with this run's.
    pub history: Vec<HistoryEntry>,
}

/// One run's classification of a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The end of that run's observation window (RFC 3339).
    pub at: String,
    pub category: Category,
    pub status: Status,
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
                // The grant's own evidence (the binding, the policy) always travels with it.
                evidence: {
                    let mut evidence = verdict.evidence;
                    for e in &candidate.evidence {
                        if !evidence.contains(e) {
                            evidence.push(e.clone());
                        }
                    }
                    evidence
                },
                reduction: verdict.reduction,
                misroute: verdict.misroute,
                classified_by: vec![plugin.clone()],
                history: Vec::new(),
            });
        }
    }
    sort_findings(&mut findings);
    findings
}

/// Parse a category as the findings schema spells it.
pub fn parse_category(name: &str) -> Option<Category> {
    [
        Category::UnusedExcess,
        Category::UnjustifiedUse,
        Category::InheritedOverreach,
    ]
    .into_iter()
    .find(|c| category_name(*c) == name)
}

/// Parse a status as the findings schema spells it.
pub fn parse_status(name: &str) -> Option<Status> {
    [
        Status::Open,
        Status::InsufficientObservation,
        Status::Resolved,
    ]
    .into_iter()
    .find(|s| status_name(*s) == name)
}

/// Carry history over from the previous run's findings and record this run
/// (`at`). A finding of the previous run that is no longer found comes back
/// as `resolved`, once. The result is sorted in triage order.
pub fn apply_history(mut current: Vec<Finding>, previous: Vec<Finding>, at: &str) -> Vec<Finding> {
    let mut previous: HashMap<String, Finding> =
        previous.into_iter().map(|f| (f.id.clone(), f)).collect();
    for finding in &mut current {
        let mut history = previous
            .remove(&finding.id)
            .map(|p| p.history)
            .unwrap_or_default();
        push_entry(&mut history, at, finding.category, finding.status);
        finding.history = history;
    }
    for (_, mut gone) in previous {
        let already_resolved = gone
            .history
            .last()
            .is_some_and(|h| h.status == Status::Resolved && h.at != at);
        if already_resolved {
            continue;
        }
        gone.status = Status::Resolved;
        gone.rationale = "no longer found: the grant, the chain or the agent is gone".into();
        gone.classified_by.clear();
        push_entry(&mut gone.history, at, gone.category, Status::Resolved);
        current.push(gone);
    }
    sort_findings(&mut current);
    current
}

fn push_entry(history: &mut Vec<HistoryEntry>, at: &str, category: Category, status: Status) {
    // A re-run over the same window replaces its own entry rather than repeating it.
    if history.last().is_some_and(|h| h.at == at) {
        history.pop();
    }
    history.push(HistoryEntry {
        at: at.to_string(),
        category,
        status,
    });
}

/// Triage order, then agent, grant and id.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (triage_rank(a.category), &a.agent, &a.grant_source, &a.id).cmp(&(
            triage_rank(b.category),
            &b.agent,
            &b.grant_source,
            &b.id,
        ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Verdict;

    fn finding(id: &str, status: Status) -> Finding {
        Finding {
            id: id.into(),
            agent: "a".into(),
            category: Category::UnusedExcess,
            contributing: vec![],
            status,
            cloud: Cloud::Aws,
            principal: String::new(),
            permissions: vec!["s3:PutObject".into()],
            resources: vec![],
            grant_source: "p".into(),
            owned: true,
            ownership_reason: String::new(),
            chain: vec![],
            rationale: String::new(),
            evidence: vec![],
            reduction: None,
            misroute: String::new(),
            classified_by: vec!["unused-excess@0.1.0".into()],
            history: vec![],
        }
    }

    #[test]
    fn history_carries_over_and_vanished_findings_resolve_once() {
        let day1 = apply_history(
            vec![
                finding("x", Status::InsufficientObservation),
                finding("y", Status::Open),
            ],
            vec![],
            "d1",
        );
        let day2 = apply_history(vec![finding("x", Status::Open)], day1, "d2");
        let by_id = |list: &[Finding], id: &str| list.iter().find(|f| f.id == id).cloned().unwrap();
        let statuses = |f: &Finding| {
            f.history
                .iter()
                .map(|h| (h.at.clone(), h.status))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            statuses(&by_id(&day2, "x")),
            vec![
                ("d1".into(), Status::InsufficientObservation),
                ("d2".into(), Status::Open)
            ]
        );
        let y = by_id(&day2, "y");
        assert_eq!(y.status, Status::Resolved);
        assert_eq!(
            statuses(&y),
            vec![("d1".into(), Status::Open), ("d2".into(), Status::Resolved)]
        );

        // Re-running day 2 repeats nothing; day 3 no longer reports y.
        let again = apply_history(vec![finding("x", Status::Open)], day2.clone(), "d2");
        assert_eq!(statuses(&by_id(&again, "x")).len(), 2);
        assert_eq!(statuses(&by_id(&again, "y")).len(), 2);
        let day3 = apply_history(vec![finding("x", Status::Open)], day2, "d3");
        assert!(day3.iter().all(|f| f.id != "y"));
    }

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
