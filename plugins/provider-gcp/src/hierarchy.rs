//! The resource hierarchy (organization → folders → project → resources)
//! and resource names.
//!
//! Projects are named by id (`projects/acme-data`) wherever the snapshot
//! says which id a number belongs to: Cloud Asset Inventory names projects
//! by number, gcloud by id, and grants must spell one resource one way.

use crate::input::{Inputs, Origin};
use crate::output::Output;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What a binding's resource is, as far as inheritance is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `organizations/1`, `folders/9`, `projects/acme-data` (relative name).
    Container(String),
    /// The service account with this email.
    ServiceAccount(String),
    /// Any other resource (dataset, bucket, …), or a service account whose
    /// email the snapshot does not give.
    Other,
}

/// A resource a policy is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Full resource name, `//cloudresourcemanager.googleapis.com/projects/acme-data`.
    pub full_name: String,
    pub scope: Scope,
    /// The project (id when known) the resource is in, or is.
    pub project: Option<String>,
}

#[derive(Debug, Default)]
pub struct Hierarchy {
    number_to_id: HashMap<String, String>,
    id_to_number: HashMap<String, String>,
    /// Child → (parent, where the link was read), relative names.
    parents: BTreeMap<String, (String, Origin)>,
    /// Project ids described by `gcloud projects describe` documents.
    pub described_projects: BTreeSet<String>,
}

const CRM: &str = "cloudresourcemanager.googleapis.com";

impl Hierarchy {
    pub fn build(inputs: &Inputs, out: &mut Output) -> Hierarchy {
        let mut hierarchy = Hierarchy::default();
        for project in &inputs.projects {
            hierarchy.described_projects.insert(project.id.clone());
            if let Some(number) = &project.number {
                match hierarchy.number_to_id.get(number) {
                    Some(existing) if *existing != project.id => out.warn(
                        &project.origin.document,
                        format!(
                            "project number {number} is described as both {existing} and {}; {existing} is used",
                            project.id
                        ),
                    ),
                    Some(_) => {}
                    None => {
                        hierarchy
                            .number_to_id
                            .insert(number.clone(), project.id.clone());
                        hierarchy
                            .id_to_number
                            .insert(project.id.clone(), number.clone());
                    }
                }
            }
        }
        let mut links: Vec<(String, String, Origin)> = inputs
            .parents
            .iter()
            .map(|l| (l.child.clone(), l.parent.clone(), l.origin.clone()))
            .collect();
        // Cloud Asset Inventory ancestors: each entry sits under the next.
        for policy in &inputs.policies {
            for (index, pair) in policy.ancestors.windows(2).enumerate() {
                if let [child, parent] = pair {
                    let origin = Origin::new(
                        &policy.origin.document,
                        format!(
                            "{}/ancestors/{}",
                            parent_pointer(&policy.origin.pointer),
                            index + 1
                        ),
                    );
                    links.push((child.clone(), parent.clone(), origin));
                }
            }
        }
        for (child, parent, origin) in links {
            let child = hierarchy.normalise(&child);
            let parent = hierarchy.normalise(&parent);
            if child == parent {
                continue;
            }
            match hierarchy.parents.get(&child) {
                Some((existing, first)) if *existing != parent => {
                    let message = format!(
                        "{child} is placed under {parent} here but under {existing} in {}; {existing} is used",
                        first.reference()
                    );
                    out.warn(&origin.document, message);
                }
                Some(_) => {}
                None => {
                    hierarchy.parents.insert(child, (parent, origin));
                }
            }
        }
        hierarchy
    }

    /// The project id for an id or number.
    pub fn project_id<'a>(&'a self, project: &'a str) -> &'a str {
        self.number_to_id
            .get(project)
            .map(String::as_str)
            .unwrap_or(project)
    }

    pub fn project_number<'a>(&'a self, project: &'a str) -> Option<&'a str> {
        let id = self.project_id(project);
        if id.bytes().all(|b| b.is_ascii_digit()) {
            // Only the number is known.
            return Some(id);
        }
        self.id_to_number.get(id).map(String::as_str)
    }

    /// `projects/123` → `projects/acme-data` when the number is known.
    pub fn normalise(&self, relative: &str) -> String {
        match relative.strip_prefix("projects/") {
            Some(project) if !project.contains('/') => {
                format!("projects/{}", self.project_id(project))
            }
            _ => relative.to_string(),
        }
    }

    /// The ancestors of a relative name, nearest first, with where each
    /// link was read. Stops at a cycle.
    pub fn ancestors(&self, relative: &str) -> Vec<(&str, &Origin)> {
        let mut chain: Vec<(&str, &Origin)> = Vec::new();
        let mut current = relative;
        while let Some((parent, origin)) = self.parents.get(current) {
            if parent == relative || chain.iter().any(|(p, _)| p == parent) {
                break;
            }
            chain.push((parent.as_str(), origin));
            current = parent;
        }
        chain
    }

    /// Whether `container` is `relative` or one of its ancestors.
    pub fn contains(&self, container: &str, relative: &str) -> bool {
        container == relative
            || self
                .ancestors(relative)
                .iter()
                .any(|(a, _)| *a == container)
    }

    /// Projects known to the snapshot (described, or named in the
    /// hierarchy) that sit below `container`, with the link that places
    /// each there.
    pub fn projects_below(&self, container: &str) -> Vec<String> {
        let mut known: BTreeSet<String> = self
            .described_projects
            .iter()
            .map(|p| format!("projects/{p}"))
            .collect();
        known.extend(
            self.parents
                .keys()
                .filter(|k| k.starts_with("projects/"))
                .cloned(),
        );
        known
            .into_iter()
            .filter(|p| p != container && self.contains(container, p))
            .collect()
    }

    /// The full resource name of a policy's resource, how it inherits, and
    /// its project. `emails` maps service-account unique ids to emails.
    pub fn resource(
        &self,
        raw: &str,
        ancestors: &[String],
        emails: &HashMap<String, String>,
    ) -> Resource {
        let (service, path) = match raw.strip_prefix("//") {
            Some(rest) => rest.split_once('/').unwrap_or((rest, "")),
            None if is_container(raw) => (CRM, raw),
            None => ("", raw),
        };
        let segments: Vec<&str> = path.split('/').collect();
        let ancestor_project = ancestors
            .iter()
            .find_map(|a| a.strip_prefix("projects/"))
            .map(|p| self.project_id(p).to_string());
        match (service, segments.as_slice()) {
            (CRM, [collection @ ("projects" | "folders" | "organizations"), id])
                if !id.is_empty() =>
            {
                let relative = self.normalise(&format!("{collection}/{id}"));
                let project = relative.strip_prefix("projects/").map(String::from);
                Resource {
                    full_name: format!("//{CRM}/{relative}"),
                    scope: Scope::Container(relative),
                    project,
                }
            }
            ("iam.googleapis.com", ["projects", project, "serviceAccounts", account]) => {
                let email = if account.contains('@') {
                    Some(account.to_ascii_lowercase())
                } else {
                    emails.get(*account).cloned()
                };
                let project = match *project {
                    "-" => email
                        .as_deref()
                        .and_then(email_project)
                        .map(|p| self.project_id(p).to_string()),
                    project => Some(self.project_id(project).to_string()),
                };
                let project_segment = project.clone().unwrap_or_else(|| "-".into());
                match email {
                    Some(email) => Resource {
                        full_name: format!(
                            "//iam.googleapis.com/projects/{project_segment}/serviceAccounts/{email}"
                        ),
                        scope: Scope::ServiceAccount(email),
                        project,
                    },
                    None => Resource {
                        full_name: raw.to_string(),
                        scope: Scope::Other,
                        project,
                    },
                }
            }
            // Cloud Asset Inventory names buckets `//storage.googleapis.com/NAME`;
            // IAM and audit logs spell them `projects/_/buckets/NAME`.
            ("storage.googleapis.com", [bucket]) if !bucket.is_empty() => Resource {
                full_name: format!("//storage.googleapis.com/projects/_/buckets/{bucket}"),
                scope: Scope::Other,
                project: ancestor_project,
            },
            (_, ["projects", project, ..]) if *project != "_" && !project.is_empty() => Resource {
                full_name: raw.to_string(),
                scope: Scope::Other,
                project: Some(self.project_id(project).to_string()),
            },
            _ => Resource {
                full_name: raw.to_string(),
                scope: Scope::Other,
                project: ancestor_project,
            },
        }
    }
}

/// `/iamPolicy` → `` (the asset object holding it).
fn parent_pointer(pointer: &str) -> &str {
    pointer.rsplit_once('/').map(|(p, _)| p).unwrap_or_default()
}

fn is_container(relative: &str) -> bool {
    let mut parts = relative.split('/');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some("projects" | "folders" | "organizations"), Some(id), None) if !id.is_empty()
    )
}

/// The project a service account email names: `NAME@PROJECT.iam.gserviceaccount.com`,
/// `PROJECT@appspot.gserviceaccount.com`, `NUMBER-compute@developer.gserviceaccount.com`
/// (a number). Google-managed service agents (`service-NUMBER@gcp-sa-….iam…`)
/// live in Google's projects, not the customer's: `None`.
pub fn email_project(email: &str) -> Option<&str> {
    let (local, domain) = email.split_once('@')?;
    if is_service_agent(email) {
        return None;
    }
    if let Some(project) = domain.strip_suffix(".iam.gserviceaccount.com") {
        return Some(project);
    }
    match domain {
        "appspot.gserviceaccount.com" => Some(local),
        "developer.gserviceaccount.com" => local.strip_suffix("-compute"),
        "cloudbuild.gserviceaccount.com" => Some(local),
        _ => None,
    }
}

/// `service-123@gcp-sa-….iam.gserviceaccount.com`, `service-123@container-engine-robot…`,
/// `123@cloudservices.gserviceaccount.com`: agents Google manages.
pub fn is_service_agent(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let numbered = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (local.strip_prefix("service-").is_some_and(numbered)
        && domain.ends_with(".iam.gserviceaccount.com"))
        || domain == "cloudservices.gserviceaccount.com"
        || domain.starts_with("gcp-sa-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{ParentLink, Project};

    fn hierarchy() -> Hierarchy {
        let origin = Origin::new("d", "");
        let inputs = Inputs {
            projects: vec![Project {
                id: "acme-data".into(),
                number: Some("123".into()),
                origin: origin.clone(),
            }],
            parents: vec![
                ParentLink {
                    child: "projects/123".into(),
                    parent: "folders/9".into(),
                    origin: origin.clone(),
                },
                ParentLink {
                    child: "folders/9".into(),
                    parent: "organizations/1".into(),
                    origin: origin.clone(),
                },
                ParentLink {
                    child: "organizations/1".into(),
                    parent: "folders/9".into(),
                    origin,
                },
            ],
            ..Inputs::default()
        };
        let mut out = Output::default();
        Hierarchy::build(&inputs, &mut out)
    }

    #[test]
    fn projects_are_named_by_id_and_cycles_end_the_walk() {
        let h = hierarchy();
        let ancestors: Vec<&str> = h
            .ancestors("projects/acme-data")
            .into_iter()
            .map(|(a, _)| a)
            .collect();
        assert_eq!(ancestors, ["folders/9", "organizations/1"]);
        assert!(h.contains("organizations/1", "projects/acme-data"));
        assert_eq!(h.projects_below("organizations/1"), ["projects/acme-data"]);
        assert_eq!(h.project_number("acme-data"), Some("123"));
        assert_eq!(h.ancestors("folders/9").len(), 1);
    }

    #[test]
    fn resource_names_are_canonical() {
        let h = hierarchy();
        let emails = HashMap::from([(
            "555".to_string(),
            "a@acme-data.iam.gserviceaccount.com".to_string(),
        )]);
        let r = h.resource(
            "//cloudresourcemanager.googleapis.com/projects/123",
            &[],
            &emails,
        );
        assert_eq!(
            r.full_name,
            "//cloudresourcemanager.googleapis.com/projects/acme-data"
        );
        assert_eq!(r.scope, Scope::Container("projects/acme-data".into()));
        let r = h.resource("organizations/1", &[], &emails);
        assert_eq!(
            r.full_name,
            "//cloudresourcemanager.googleapis.com/organizations/1"
        );
        let r = h.resource(
            "//iam.googleapis.com/projects/acme-data/serviceAccounts/555",
            &[],
            &emails,
        );
        assert_eq!(
            r.full_name,
            "//iam.googleapis.com/projects/acme-data/serviceAccounts/a@acme-data.iam.gserviceaccount.com"
        );
        assert_eq!(
            r.scope,
            Scope::ServiceAccount("a@acme-data.iam.gserviceaccount.com".into())
        );
        let r = h.resource(
            "//iam.googleapis.com/projects/-/serviceAccounts/B@acme-data.iam.gserviceaccount.com",
            &[],
            &emails,
        );
        assert_eq!(r.project.as_deref(), Some("acme-data"));
        let r = h.resource(
            "//storage.googleapis.com/b",
            &["projects/123".into()],
            &emails,
        );
        assert_eq!(r.full_name, "//storage.googleapis.com/projects/_/buckets/b");
        assert_eq!(r.project.as_deref(), Some("acme-data"));
        let r = h.resource(
            "//bigquery.googleapis.com/projects/acme-data/datasets/d",
            &[],
            &emails,
        );
        assert_eq!(
            (r.scope, r.project.as_deref()),
            (Scope::Other, Some("acme-data"))
        );
    }

    #[test]
    fn service_account_emails_name_their_project() {
        assert_eq!(
            email_project("a@acme.iam.gserviceaccount.com"),
            Some("acme")
        );
        assert_eq!(
            email_project("123-compute@developer.gserviceaccount.com"),
            Some("123")
        );
        assert_eq!(
            email_project("acme@appspot.gserviceaccount.com"),
            Some("acme")
        );
        assert_eq!(
            email_project("service-123@gcp-sa-aiplatform.iam.gserviceaccount.com"),
            None
        );
        assert_eq!(
            email_project("service-123@container-engine-robot.iam.gserviceaccount.com"),
            None
        );
        assert_eq!(email_project("not-an-email"), None);
    }
}
