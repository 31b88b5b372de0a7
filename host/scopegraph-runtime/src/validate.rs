//! What a plugin returns is untrusted input too: check it before the host
//! builds anything on it.

use scopegraph_sdk::{Candidate, ProviderOutput, Verdict};
use std::collections::{HashMap, HashSet};

/// Verdicts must name candidates of the batch, at most once each, and speak
/// only of permissions the candidate holds.
pub(crate) fn verdicts(batch: &[Candidate], verdicts: &[Verdict]) -> Result<(), String> {
    let by_id: HashMap<&str, &Candidate> = batch.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut seen = HashSet::new();
    for (index, verdict) in verdicts.iter().enumerate() {
        let Some(candidate) = by_id.get(verdict.candidate.as_str()) else {
            return Err(format!(
                "verdict {index} names candidate {:?}, which is not in the batch",
                verdict.candidate
            ));
        };
        if !seen.insert(verdict.candidate.as_str()) {
            return Err(format!(
                "candidate {:?} has more than one verdict",
                verdict.candidate
            ));
        }
        let granted: HashSet<&str> = candidate.permissions.iter().map(String::as_str).collect();
        if let Some(extra) = verdict
            .permissions
            .iter()
            .find(|p| !granted.contains(p.as_str()))
        {
            return Err(format!(
                "verdict for {:?} names permission {extra:?}, which the candidate does not hold",
                verdict.candidate
            ));
        }
        for artifact in verdict.reduction.iter().flat_map(|r| &r.artifacts) {
            artifact_path(&artifact.path)?;
        }
    }
    Ok(())
}

/// Artifact paths are written under the user's `--artifacts` directory and
/// must stay there.
fn artifact_path(path: &str) -> Result<(), String> {
    let escapes = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains(':')
        || path.split('/').any(|part| part == ".." || part.is_empty());
    if escapes {
        return Err(format!(
            "artifact path {path:?} must be a relative path without '..'"
        ));
    }
    Ok(())
}

/// Ids must be present and unique; edges and grants must name their ends.
pub(crate) fn provider_output(output: &ProviderOutput) -> Result<(), String> {
    let mut nodes = HashSet::new();
    for node in &output.nodes {
        if node.id.is_empty() {
            return Err(format!("a node of kind {:?} has an empty id", node.kind));
        }
        if !nodes.insert(node.id.as_str()) {
            return Err(format!("node id {:?} appears more than once", node.id));
        }
    }
    for edge in &output.edges {
        if edge.from.is_empty() || edge.to.is_empty() {
            return Err(format!("an edge of kind {:?} has an empty end", edge.kind));
        }
    }
    let mut grants = HashSet::new();
    for grant in &output.grants {
        if grant.id.is_empty() || grant.holder.is_empty() {
            return Err(format!("grant {:?} has an empty id or holder", grant.id));
        }
        if !grants.insert(grant.id.as_str()) {
            return Err(format!("grant id {:?} appears more than once", grant.id));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: &str) -> Candidate {
        Candidate {
            id: id.into(),
            permissions: vec!["pods:get".into()],
            ..Default::default()
        }
    }

    #[test]
    fn verdicts_must_stay_within_the_batch() {
        let batch = [candidate("a"), candidate("b")];
        let ok = Verdict {
            candidate: "a".into(),
            permissions: vec!["pods:get".into()],
            ..Default::default()
        };
        assert!(verdicts(&batch, std::slice::from_ref(&ok)).is_ok());

        let unknown = Verdict {
            candidate: "zz".into(),
            ..Default::default()
        };
        assert!(
            verdicts(&batch, &[unknown])
                .unwrap_err()
                .contains("not in the batch")
        );
        assert!(
            verdicts(&batch, &[ok.clone(), ok.clone()])
                .unwrap_err()
                .contains("more than one")
        );

        let invented = Verdict {
            permissions: vec!["secrets:get".into()],
            ..ok.clone()
        };
        assert!(
            verdicts(&batch, &[invented])
                .unwrap_err()
                .contains("does not hold")
        );
    }

    #[test]
    fn artifact_paths_cannot_escape() {
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "C:\\x", "a//b"] {
            assert!(artifact_path(bad).is_err(), "{bad}");
        }
        assert!(artifact_path("aws/agent/policy.json").is_ok());
    }
}
