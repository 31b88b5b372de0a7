//! GCP IAM: where a binding sits and the `gcloud` command that edits it,
//! where a custom role lives, custom role YAML, and GCP's naming rules.
//!
//! Resources are full resource names as the GCP provider spells them
//! (`//cloudresourcemanager.googleapis.com/projects/acme-data`,
//! `//storage.googleapis.com/projects/_/buckets/acme-reports`).

use crate::text::{comment_text, shell_word, truncate};
use scopegraph_sdk::spelling::yaml_str;

/// Custom role ids: `[a-zA-Z0-9_.]{3,64}`.
pub const ROLE_ID_MAX: usize = 64;

/// The role that lets a Kubernetes ServiceAccount act as a Google service
/// account through GKE Workload Identity.
pub const WORKLOAD_IDENTITY_USER: &str = "roles/iam.workloadIdentityUser";

/// GCP's limits on a custom role's title and description.
const TITLE_MAX: usize = 100;
const DESCRIPTION_MAX: usize = 256;

/// Whether `id` is a valid custom role id.
pub fn valid_role_id(id: &str) -> bool {
    (3..=ROLE_ID_MAX).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Whether `id` is a valid service account id (the part of the email
/// before `@`): 6 to 30 characters, `[a-z][a-z0-9-]*[a-z0-9]`.
pub fn valid_account_id(id: &str) -> bool {
    let first = id.chars().next();
    let last = id.chars().last();
    (6..=30).contains(&id.len())
        && first.is_some_and(|c| c.is_ascii_lowercase())
        && last.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Add or remove a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Add,
    Remove,
}

impl Verb {
    fn command(self) -> &'static str {
        match self {
            Verb::Add => "add-iam-policy-binding",
            Verb::Remove => "remove-iam-policy-binding",
        }
    }
}

/// Where a binding sits, and so which commands edit it and where the
/// custom role can live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Level {
    Project(String),
    Folder(String),
    Organization(String),
    /// A resource with its own IAM policy: the role lives in a project
    /// (`None` when the name does not say which), and `command` is the
    /// gcloud command group and resource argument that edit its policy
    /// (`{}` standing for the verb), when one exists.
    Resource {
        project: Option<String>,
        command: Option<String>,
    },
}

impl Level {
    /// The level of a full resource name; `None` when it is not one.
    pub fn of(full_name: &str) -> Option<Level> {
        let rest = full_name.strip_prefix("//")?;
        let (service, path) = rest.split_once('/')?;
        let segments: Vec<&str> = path.split('/').collect();
        let level = match (service, segments.as_slice()) {
            ("cloudresourcemanager.googleapis.com", ["projects", id]) => {
                Level::Project(id.to_string())
            }
            ("cloudresourcemanager.googleapis.com", ["folders", id]) => {
                Level::Folder(id.to_string())
            }
            ("cloudresourcemanager.googleapis.com", ["organizations", id]) => {
                Level::Organization(id.to_string())
            }
            ("storage.googleapis.com", ["projects", "_", "buckets", bucket]) => Level::Resource {
                project: None,
                command: Some(format!(
                    "gcloud storage buckets {{}} {}",
                    shell_word(&format!("gs://{bucket}"))
                )),
            },
            ("iam.googleapis.com", ["projects", project, "serviceAccounts", email]) => {
                Level::Resource {
                    project: known_project(project),
                    command: Some(format!(
                        "gcloud iam service-accounts {{}} {}{}",
                        shell_word(email),
                        project_flag(project)
                    )),
                }
            }
            ("pubsub.googleapis.com", ["projects", project, collection, name])
                if *collection == "topics" || *collection == "subscriptions" =>
            {
                Level::Resource {
                    project: known_project(project),
                    command: Some(format!(
                        "gcloud pubsub {collection} {{}} {}{}",
                        shell_word(name),
                        project_flag(project)
                    )),
                }
            }
            ("secretmanager.googleapis.com", ["projects", project, "secrets", name]) => {
                Level::Resource {
                    project: known_project(project),
                    command: Some(format!(
                        "gcloud secrets {{}} {}{}",
                        shell_word(name),
                        project_flag(project)
                    )),
                }
            }
            (_, ["projects", project, ..]) => Level::Resource {
                project: known_project(project),
                command: None,
            },
            _ => Level::Resource {
                project: None,
                command: None,
            },
        };
        let empty = match &level {
            Level::Project(id) | Level::Folder(id) | Level::Organization(id) => id.is_empty(),
            Level::Resource { .. } => false,
        };
        (!empty).then_some(level)
    }

    /// `gcloud … add-iam-policy-binding RESOURCE` (or `remove-…`), to be
    /// followed by `--member=… --role=…`; `None` when no gcloud command
    /// edits the resource's policy (BigQuery datasets, most services).
    pub fn binding_command(&self, verb: Verb) -> Option<String> {
        let verb = verb.command();
        Some(match self {
            Level::Project(p) => format!("gcloud projects {verb} {}", shell_word(p)),
            Level::Folder(f) => {
                format!("gcloud resource-manager folders {verb} {}", shell_word(f))
            }
            Level::Organization(o) => {
                format!("gcloud organizations {verb} {}", shell_word(o))
            }
            Level::Resource {
                command: Some(command),
                ..
            } => command.replacen("{}", verb, 1),
            Level::Resource { command: None, .. } => return None,
        })
    }

    /// Where a custom role bound at this level is created.
    pub fn role_parent(&self) -> RoleParent {
        match self {
            Level::Project(p)
            | Level::Resource {
                project: Some(p), ..
            } => RoleParent {
                flag: format!("--project={}", shell_word(p)),
                name: format!("projects/{p}"),
                preamble: String::new(),
            },
            Level::Organization(o) => RoleParent {
                flag: format!("--organization={}", shell_word(o)),
                name: format!("organizations/{o}"),
                preamble: String::new(),
            },
            Level::Folder(folder) => RoleParent {
                flag: "--organization=\"$ORGANIZATION_ID\"".into(),
                name: "organizations/${ORGANIZATION_ID}".into(),
                preamble: format!(
                    "# Custom roles live in a project or an organization; one bound on folder\n\
                     # {} must be an organization role: set ORGANIZATION_ID to the organization\n\
                     # above the folder.\n\
                     ORGANIZATION_ID=\"${{ORGANIZATION_ID:?set ORGANIZATION_ID to the organization above folder {}}}\"\n\n",
                    comment_text(folder),
                    comment_text(folder).replace(['"', '}', '$', '`', '\\'], "_"),
                ),
            },
            Level::Resource { project: None, .. } => RoleParent {
                flag: "--project=\"$PROJECT_ID\"".into(),
                name: "projects/${PROJECT_ID}".into(),
                preamble: "# The resource name does not say which project it belongs to: set\n\
                           # PROJECT_ID to it (the custom role is created there).\n\
                           PROJECT_ID=\"${PROJECT_ID:?set PROJECT_ID to the project of the resource}\"\n\n"
                    .into(),
            },
        }
    }
}

fn known_project(project: &str) -> Option<String> {
    (!project.is_empty() && project != "_" && project != "-").then(|| project.to_string())
}

fn project_flag(project: &str) -> String {
    known_project(project)
        .map(|p| format!(" --project={}", shell_word(&p)))
        .unwrap_or_default()
}

/// Where `gcloud iam roles create` puts a custom role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleParent {
    /// `--project=P` or `--organization=O`, shell-quoted, or referencing a
    /// variable the preamble sets.
    pub flag: String,
    /// `projects/P` or `organizations/O` (or with `${VARIABLE}`), unquoted.
    pub name: String,
    /// Shell lines that set the variable `flag` references (ending in a
    /// blank line), or empty.
    pub preamble: String,
}

impl RoleParent {
    /// The custom role's full name, `{parent}/roles/{id}`.
    pub fn role_name(&self, id: &str) -> String {
        format!("{}/roles/{id}", self.name)
    }

    /// `--role=…` for the custom role `id` (a valid role id), as one shell
    /// word that expands the preamble's variable if there is one.
    pub fn role_flag(&self, id: &str) -> String {
        let name = self.role_name(id);
        if self.name.contains('$') {
            format!("--role=\"{name}\"")
        } else {
            format!("--role={}", shell_word(&name))
        }
    }

    /// `gcloud iam roles create ID FLAG --file=…/FILE`, the file (a name of
    /// `[A-Za-z0-9._-]`) next to the script, or `gcloud iam roles update`
    /// from the same file when the role exists already: a script that
    /// stopped half-way (a role not yet replicated when it is bound) can be
    /// run again, and one written by a later audit brings the role to its
    /// permissions. (`--quiet`: `update` asks before it replaces a role
    /// without an `etag`, which the file has not.)
    pub fn create_command(&self, id: &str, file: &str) -> String {
        let id = shell_word(id);
        format!(
            "if gcloud iam roles describe {id} {flag} >/dev/null 2>&1; \
             then gcloud iam roles update {id} {flag} --file=\"$(dirname \"$0\")/{file}\" --quiet; \
             else gcloud iam roles create {id} {flag} --file=\"$(dirname \"$0\")/{file}\"; fi",
            flag = self.flag
        )
    }
}

/// A custom role definition for `gcloud iam roles create ID FLAG --file=FILE`
/// (the command is written as its first line, a comment), GA, with the
/// title and description cut to GCP's limits and the permissions as given.
pub fn custom_role_yaml(
    id: &str,
    parent: &RoleParent,
    file: &str,
    title: &str,
    description: &str,
    permissions: &[&str],
) -> String {
    let mut out = format!(
        "# {}\n\
         title: {}\n\
         description: {}\n\
         stage: \"GA\"\n\
         includedPermissions:\n",
        comment_text(&format!(
            "gcloud iam roles create {id} {} --file={file}",
            parent.flag
        )),
        yaml_str(&truncate(title, TITLE_MAX)),
        yaml_str(&truncate(description, DESCRIPTION_MAX)),
    );
    for permission in permissions {
        out.push_str(&format!("  - {}\n", yaml_str(permission)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_level_has_its_own_binding_command() {
        let at = |name: &str, verb| Level::of(name).and_then(|l| l.binding_command(verb));
        assert_eq!(
            at(
                "//cloudresourcemanager.googleapis.com/projects/acme-prod",
                Verb::Add
            )
            .as_deref(),
            Some("gcloud projects add-iam-policy-binding acme-prod")
        );
        assert_eq!(
            at(
                "//cloudresourcemanager.googleapis.com/folders/4417",
                Verb::Remove
            )
            .as_deref(),
            Some("gcloud resource-manager folders remove-iam-policy-binding 4417")
        );
        assert_eq!(
            at(
                "//cloudresourcemanager.googleapis.com/organizations/1021",
                Verb::Add
            )
            .as_deref(),
            Some("gcloud organizations add-iam-policy-binding 1021")
        );
        assert_eq!(
            at(
                "//storage.googleapis.com/projects/_/buckets/acme logs",
                Verb::Add
            )
            .as_deref(),
            Some("gcloud storage buckets add-iam-policy-binding 'gs://acme logs'")
        );
        assert_eq!(
            at(
                "//secretmanager.googleapis.com/projects/p/secrets/s",
                Verb::Remove
            )
            .as_deref(),
            Some("gcloud secrets remove-iam-policy-binding s --project=p")
        );
        assert_eq!(
            at("//bigquery.googleapis.com/projects/p/datasets/d", Verb::Add),
            None
        );
        assert_eq!(Level::of("projects/p"), None);
        assert_eq!(
            Level::of("//cloudresourcemanager.googleapis.com/projects/"),
            None
        );
    }

    #[test]
    fn custom_roles_live_in_the_project_or_organization() {
        let parent = Level::Project("acme-prod".into()).role_parent();
        assert_eq!(
            parent.role_flag("r_1"),
            "--role=projects/acme-prod/roles/r_1"
        );
        assert_eq!(
            parent.create_command("r_1", "gcp-role-1.yaml"),
            "if gcloud iam roles describe r_1 --project=acme-prod >/dev/null 2>&1; \
             then gcloud iam roles update r_1 --project=acme-prod --file=\"$(dirname \"$0\")/gcp-role-1.yaml\" --quiet; \
             else gcloud iam roles create r_1 --project=acme-prod --file=\"$(dirname \"$0\")/gcp-role-1.yaml\"; fi"
        );
        let parent = Level::Folder("4417".into()).role_parent();
        assert_eq!(
            parent.role_flag("r_1"),
            "--role=\"organizations/${ORGANIZATION_ID}/roles/r_1\""
        );
        assert!(parent.preamble.ends_with("above folder 4417}\"\n\n"));
    }

    #[test]
    fn custom_role_yaml_parses() {
        let parent = Level::Project("p".into()).role_parent();
        let text = custom_role_yaml(
            "r_1",
            &parent,
            "f.yaml",
            &"t".repeat(120),
            "a \"quoted\"\ndescription",
            &["storage.objects.get"],
        );
        assert!(text.starts_with("# gcloud iam roles create r_1 --project=p --file=f.yaml\n"));
        let value: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "title": "t".repeat(100),
                "description": "a \"quoted\"\ndescription",
                "stage": "GA",
                "includedPermissions": ["storage.objects.get"],
            })
        );
    }

    #[test]
    fn account_ids_follow_gcps_rule() {
        for good in ["sg-abc1", "a23456", &format!("a{}", "b".repeat(29))] {
            assert!(valid_account_id(good), "{good}");
        }
        for bad in [
            "abcde",
            "1abcdef",
            "abcdef-",
            "abc_def",
            "Abcdef",
            &"a".repeat(31),
        ] {
            assert!(!valid_account_id(bad), "{bad}");
        }
    }
}
