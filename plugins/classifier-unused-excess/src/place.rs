//! Where a candidate's artifacts go, and the names derived from its agent.

use scopegraph_sdk::Candidate;

/// `unused-excess/{cluster}/{namespace}/{kind}-{name}/`, the agent's parts
/// and the candidate's short id (its first 8 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub dir: String,
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub short: String,
}

impl Place {
    /// `None` when the agent is not `CLUSTER/NAMESPACE/KIND/NAME`.
    pub fn of(candidate: &Candidate) -> Option<Place> {
        let mut parts = candidate.agent.split('/');
        let (Some(cluster), Some(namespace), Some(kind), Some(name)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let kind = kind.to_ascii_lowercase();
        Some(Place {
            dir: format!("unused-excess/{cluster}/{namespace}/{kind}-{name}"),
            namespace: namespace.into(),
            kind,
            name: name.into(),
            short: candidate.id.chars().take(8).collect(),
        })
    }

    pub fn file(&self, name: &str) -> String {
        format!("{}/{name}", self.dir)
    }

    /// `{namespace}_{name}_{short}` with every character outside
    /// `[A-Za-z0-9_]` replaced by `_` and the agent part cut so the whole
    /// fits `max` characters: deterministic for the agent and grant.
    pub fn slug(&self, prefix: &str, max: usize) -> String {
        scopegraph_artifacts::text::slug(
            prefix,
            &[&self.namespace, &self.name],
            &self.short,
            '_',
            max,
        )
    }
}
