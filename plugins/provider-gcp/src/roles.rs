//! Roles expanded to permissions: custom roles (and any role) described in
//! the snapshot first, then the embedded predefined-role catalogue.

use crate::catalogue::{self, Catalogue};
use crate::hierarchy::Hierarchy;
use crate::input::{Origin, RoleDescription};
use crate::output::Output;
use scopegraph_sdk::Level;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

pub const WORKLOAD_IDENTITY_USER: &str = "roles/iam.workloadIdentityUser";
/// The permission `generateAccessToken` checks: whoever holds it on a
/// service account can mint that account's tokens.
pub const GET_ACCESS_TOKEN: &str = "iam.serviceAccounts.getAccessToken";

/// What a role grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expansion {
    /// The permissions, sorted and distinct; `described` is where the role
    /// was described in the snapshot (`None` for the catalogue).
    Known {
        permissions: Rc<Vec<String>>,
        described: Option<Origin>,
    },
    /// Neither described nor in the catalogue.
    Unknown,
    /// The role exists but grants nothing (disabled, deleted, empty).
    Nothing(String),
}

impl Expansion {
    pub fn permissions(&self) -> &[String] {
        match self {
            Expansion::Known { permissions, .. } => permissions,
            _ => &[],
        }
    }

    pub fn allows(&self, permission: &str) -> bool {
        self.permissions().iter().any(|p| p == permission)
    }
}

#[derive(Debug)]
pub struct Roles {
    described: BTreeMap<String, RoleDescription>,
    catalogue: Option<&'static Catalogue>,
    cache: HashMap<String, Expansion>,
}

impl Roles {
    pub fn new(descriptions: &[RoleDescription], hierarchy: &Hierarchy, out: &mut Output) -> Roles {
        let catalogue = match catalogue::get() {
            Ok(catalogue) => Some(catalogue),
            Err(err) => {
                out.diagnostic(
                    Level::Error,
                    "provider-gcp",
                    format!("the predefined-role catalogue is unreadable ({err}); predefined roles are reported as unknown"),
                );
                None
            }
        };
        let mut described: BTreeMap<String, RoleDescription> = BTreeMap::new();
        for role in descriptions {
            let name = role_name(&role.name, hierarchy);
            if let Some(first) = described.get(&name) {
                out.info(
                    &role.origin.document,
                    format!(
                        "role {name} is described again (first in {}); the first description is used",
                        first.origin.reference()
                    ),
                );
                continue;
            }
            described.insert(name, role.clone());
        }
        Roles {
            described,
            catalogue,
            cache: HashMap::new(),
        }
    }

    /// The expansion of `role` as a binding names it.
    pub fn expand(&mut self, role: &str, hierarchy: &Hierarchy) -> Expansion {
        let name = role_name(role, hierarchy);
        if let Some(cached) = self.cache.get(&name) {
            return cached.clone();
        }
        let expansion = self.lookup(&name);
        self.cache.insert(name, expansion.clone());
        expansion
    }

    fn lookup(&self, name: &str) -> Expansion {
        if let Some(role) = self.described.get(name) {
            if role.deleted {
                return Expansion::Nothing(format!(
                    "role {name} is deleted ({})",
                    role.origin.reference()
                ));
            }
            if role.stage.as_deref() == Some("DISABLED") {
                return Expansion::Nothing(format!(
                    "role {name} is disabled ({})",
                    role.origin.reference()
                ));
            }
            let mut permissions = role.permissions.clone();
            permissions.sort_unstable();
            permissions.dedup();
            if permissions.is_empty() {
                return Expansion::Nothing(format!(
                    "role {name} includes no permissions ({})",
                    role.origin.reference()
                ));
            }
            return Expansion::Known {
                permissions: Rc::new(permissions),
                described: Some(role.origin.clone()),
            };
        }
        let Some(found) = self.catalogue.and_then(|c| c.role(name)) else {
            return Expansion::Unknown;
        };
        match found {
            Ok(permissions) if permissions.is_empty() => {
                Expansion::Nothing(format!("predefined role {name} includes no permissions"))
            }
            Ok(permissions) => Expansion::Known {
                permissions: Rc::new(permissions.into_iter().map(String::from).collect()),
                described: None,
            },
            Err(_) => Expansion::Unknown,
        }
    }
}

/// Custom roles are named `projects/P/roles/X` with the project id; a
/// number is rewritten to the id when the snapshot gives it.
fn role_name(role: &str, hierarchy: &Hierarchy) -> String {
    if let Some(rest) = role.strip_prefix("projects/")
        && let Some((project, tail)) = rest.split_once('/')
    {
        return format!("projects/{}/{tail}", hierarchy.project_id(project));
    }
    role.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str, permissions: &[&str], stage: &str) -> RoleDescription {
        RoleDescription {
            name: name.into(),
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
            stage: Some(stage.into()),
            deleted: false,
            origin: Origin::new("r", ""),
        }
    }

    #[test]
    fn described_roles_then_the_catalogue() {
        let hierarchy = Hierarchy::default();
        let mut out = Output::default();
        let mut roles = Roles::new(
            &[
                role(
                    "projects/p/roles/reader",
                    &["b.c.d", "a.b.c", "a.b.c"],
                    "GA",
                ),
                role("projects/p/roles/off", &["a.b.c"], "DISABLED"),
                role("projects/p/roles/reader", &["x.y.z"], "GA"),
            ],
            &hierarchy,
            &mut out,
        );
        assert_eq!(
            roles
                .expand("projects/p/roles/reader", &hierarchy)
                .permissions(),
            ["a.b.c", "b.c.d"]
        );
        assert!(matches!(
            roles.expand("projects/p/roles/off", &hierarchy),
            Expansion::Nothing(_)
        ));
        assert!(
            roles
                .expand(WORKLOAD_IDENTITY_USER, &hierarchy)
                .allows(GET_ACCESS_TOKEN)
        );
        assert_eq!(
            roles.expand("roles/made.up", &hierarchy),
            Expansion::Unknown
        );
        assert_eq!(
            out.finish().diagnostics.len(),
            1,
            "the duplicate description"
        );
    }
}
