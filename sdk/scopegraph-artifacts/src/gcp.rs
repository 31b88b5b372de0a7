//! GCP IAM: where a binding sits and the `gcloud` command that edits it,
//! where a custom role lives, custom role YAML, a binding's IAM condition
//! and GCP's naming rules.
//!
//! Resources are full resource names as the GCP provider spells them
//! (`//cloudresourcemanager.googleapis.com/projects/acme-data`,
//! `//storage.googleapis.com/projects/_/buckets/acme-reports`).
//!
//! What a grant's `conditions` say does not reach a candidate, so the
//! provider also cites a binding's IAM condition as evidence of kind
//! [`BINDING_CONDITION`], read back by [`binding_condition`]: a binding
//! that replaces it is made under the same condition, from the file
//! [`Condition::file`] writes (`--condition-from-file`, [`condition_flag`]).

use crate::text::{comment_text, json_string, shell_word, truncate};
use scopegraph_sdk::Candidate;
use scopegraph_sdk::spelling::{json_str, yaml_str};

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
    /// (`{}` standing for the verb), when one exists; `conditions` says
    /// whether that command takes `--condition` and `--condition-from-file`
    /// (GA `gcloud pubsub` does not).
    Resource {
        project: Option<String>,
        command: Option<String>,
        conditions: bool,
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
                conditions: true,
            },
            ("iam.googleapis.com", ["projects", project, "serviceAccounts", email]) => {
                Level::Resource {
                    project: known_project(project),
                    command: Some(format!(
                        "gcloud iam service-accounts {{}} {}{}",
                        shell_word(email),
                        project_flag(project)
                    )),
                    conditions: true,
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
                    conditions: false,
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
                    conditions: true,
                }
            }
            (_, ["projects", project, ..]) => Level::Resource {
                project: known_project(project),
                command: None,
                conditions: false,
            },
            _ => Level::Resource {
                project: None,
                command: None,
                conditions: false,
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

    /// Whether [`Level::binding_command`] takes `--condition` and
    /// `--condition-from-file` ([`condition_flag`]): `false` where there is
    /// no command, and for GA `gcloud pubsub`, whose binding commands add
    /// and remove only bindings without a condition.
    pub fn takes_condition(&self) -> bool {
        match self {
            Level::Project(_) | Level::Folder(_) | Level::Organization(_) => true,
            Level::Resource { conditions, .. } => *conditions,
        }
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

/// The evidence kind that carries an IAM binding's condition. Its reference
/// is the JSON object `{"expression":…,"title":…,"description":…}` (these
/// three keys in this order, no spaces; `title` and `description` a string
/// or `null` when the binding's condition has none), each value exactly as
/// the policy has it, as [`Condition::reference`] writes it; its summary is
/// for humans. A reference of any other shape stands for a condition the
/// provider could not read.
pub const BINDING_CONDITION: &str = "binding-condition";

/// An IAM binding's condition (a CEL expression with its title and
/// description), which is part of the binding: `gcloud` adds or removes
/// a conditional binding only when given all three exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub expression: String,
    pub title: Option<String>,
    pub description: Option<String>,
}

impl Condition {
    /// The reference of its [`BINDING_CONDITION`] evidence.
    pub fn reference(&self) -> String {
        let nullable = |value: &Option<String>| value.as_deref().map_or("null".into(), json_str);
        format!(
            "{{\"expression\":{},\"title\":{},\"description\":{}}}",
            json_str(&self.expression),
            nullable(&self.title),
            nullable(&self.description)
        )
    }

    /// What [`Condition::reference`] wrote; `None` for anything else, or an
    /// empty expression.
    pub fn parse(reference: &str) -> Option<Condition> {
        fn nullable(text: &str) -> Option<(Option<String>, &str)> {
            match text.strip_prefix("null") {
                Some(rest) => Some((None, rest)),
                None => json_string(text).map(|(value, rest)| (Some(value), rest)),
            }
        }
        let rest = reference.strip_prefix("{\"expression\":")?;
        let (expression, rest) = json_string(rest)?;
        let (title, rest) = nullable(rest.strip_prefix(",\"title\":")?)?;
        let (description, rest) = nullable(rest.strip_prefix(",\"description\":")?)?;
        (rest == "}" && !expression.trim().is_empty()).then_some(Condition {
            expression,
            title,
            description,
        })
    }

    /// The condition file for `gcloud … --condition-from-file` (YAML, which
    /// gcloud reads), the condition of `binding` (for the comment that
    /// starts it): `expression`, `title` and, when the condition has one,
    /// `description`, each exactly as the binding has them, so that a
    /// binding added from the file carries the same condition and one
    /// removed with it is exactly the old binding (gcloud compares all
    /// three; an empty description is none).
    pub fn file(&self, binding: &str) -> String {
        let mut out = format!(
            "# The IAM condition of {}\n\
             # for gcloud's --condition-from-file, exactly as the binding has it.\n\
             expression: {}\n",
            comment_text(binding),
            yaml_str(&self.expression)
        );
        if let Some(title) = &self.title {
            out.push_str(&format!("title: {}\n", yaml_str(title)));
        }
        if let Some(description) = self.description.as_deref().filter(|d| !d.is_empty()) {
            out.push_str(&format!("description: {}\n", yaml_str(description)));
        }
        out
    }
}

/// The IAM condition of the binding the candidate's grant comes from, from
/// its [`BINDING_CONDITION`] evidence: `Ok(None)` when it cites none, `Err`
/// (saying why) when that evidence cannot be read, cites two different
/// conditions, or cites one without a title (gcloud takes no condition
/// without one), so that a caller writes no binding that might lack it.
pub fn binding_condition(candidate: &Candidate) -> Result<Option<Condition>, String> {
    let found = crate::cited_condition(
        candidate,
        BINDING_CONDITION,
        Condition::parse,
        "the binding's IAM condition",
        "IAM conditions",
    )?;
    match found {
        Some(condition) if condition.title.as_deref().is_none_or(str::is_empty) => Err(format!(
            "the binding's IAM condition has no title, without which gcloud can neither add nor \
             remove a binding under it ({})",
            comment_text(&condition.expression)
        )),
        found => Ok(found),
    }
}

/// The condition flag of a binding command (where
/// [`Level::takes_condition`]): `--condition-from-file="$(dirname
/// "$0")/FILE"` for the binding under the condition in `file` (a name of
/// `[A-Za-z0-9._-]` next to the script, written by [`Condition::file`]),
/// `--condition=None` for the binding without one. Either way the command
/// adds or removes exactly that binding, and gcloud neither prompts for a
/// condition nor, run without a terminal, refuses, as it does when the
/// policy holds any conditional binding and no condition is given.
pub fn condition_flag(file: Option<&str>) -> String {
    match file {
        Some(file) => format!("--condition-from-file=\"$(dirname \"$0\")/{file}\""),
        None => "--condition=None".into(),
    }
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

    /// A condition as a policy may hold it: quotes of both kinds, commas
    /// (which `--condition=KEY=VALUE,…` would split on), a backslash, line
    /// breaks (Terraform heredocs end in one) and text past ASCII.
    fn odd_condition() -> Condition {
        Condition {
            expression: "resource.name.startsWith(\"projects/_/buckets/acme-reports/objects/q4/\") ||\r\n  \
                         (request.time < timestamp('2027-01-01T00:00:00Z') && resource.type in [\"a\", \"b\\\\c\"])\n"
                .into(),
            title: Some("reports, Q4 \"only\"".into()),
            description: Some("Until 2027, then — é —\ngone\u{7f}\u{85}".into()),
        }
    }

    fn cited(reference: String) -> scopegraph_sdk::EvidenceRef {
        scopegraph_sdk::EvidenceRef {
            kind: BINDING_CONDITION.into(),
            reference,
            summary: "s".into(),
        }
    }

    #[test]
    fn a_condition_is_carried_in_its_evidence_reference() {
        let odd = odd_condition();
        let reference = odd.reference();
        // JSON, these keys in this order, each value exactly as given.
        assert!(reference.starts_with("{\"expression\":\"resource.name.startsWith(\\\"projects/"));
        let parsed: serde_json::Value = serde_json::from_str(&reference).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "expression": odd.expression,
                "title": odd.title,
                "description": odd.description,
            })
        );
        assert_eq!(Condition::parse(&reference), Some(odd.clone()));
        let bare = Condition {
            expression: "request.time < timestamp(\"2027-01-01T00:00:00Z\")".into(),
            title: None,
            description: None,
        };
        assert_eq!(
            bare.reference(),
            "{\"expression\":\"request.time < timestamp(\\\"2027-01-01T00:00:00Z\\\")\",\"title\":null,\"description\":null}"
        );
        assert_eq!(Condition::parse(&bare.reference()), Some(bare.clone()));
        for bad in [
            "",
            "org/iam-policies:1#/iamPolicy/bindings/2/condition",
            "{\"expression\":\" \",\"title\":null,\"description\":null}",
            "{\"expression\":\"x\",\"title\":\"t\"}",
            "{\"title\":\"t\",\"expression\":\"x\",\"description\":null}",
            "{\"expression\":\"x\",\"title\":\"t\",\"description\":null} ",
            "{\"expression\":\"x\", \"title\":\"t\",\"description\":null}",
            "{\"expression\":\"x\",\"title\":7,\"description\":null}",
            // What the provider cites when it cannot read a condition: the
            // policy's own text.
            "{\"title\":\"t\"}",
            "{\"expression\":42,\"title\":\"t\"}",
        ] {
            assert_eq!(Condition::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_binding_condition_is_read_from_the_evidence_or_not_at_all() {
        let mut c = Candidate::default();
        c.evidence.push(scopegraph_sdk::EvidenceRef {
            kind: "binding".into(),
            reference: "d#/bindings/2/members/0".into(),
            summary: "binding".into(),
        });
        assert_eq!(binding_condition(&c), Ok(None));
        c.evidence.push(cited(odd_condition().reference()));
        assert_eq!(binding_condition(&c), Ok(Some(odd_condition())));
        // Cited twice, the same: one condition.
        c.evidence.push(cited(odd_condition().reference()));
        assert_eq!(binding_condition(&c), Ok(Some(odd_condition())));
        let mut other = odd_condition();
        other.description = None;
        c.evidence.push(cited(other.reference()));
        assert_eq!(
            binding_condition(&c),
            Err("the grant cites two different IAM conditions".into())
        );
        c.evidence.truncate(2);
        c.evidence.push(scopegraph_sdk::EvidenceRef {
            kind: BINDING_CONDITION.into(),
            reference: "{\"title\":\"t\"}".into(),
            summary: "IAM binding d#/bindings/2 has a condition scopegraph cannot read".into(),
        });
        assert_eq!(
            binding_condition(&c),
            Err(
                "the binding's IAM condition cannot be read from its evidence (IAM binding \
                 d#/bindings/2 has a condition scopegraph cannot read)"
                    .into()
            )
        );
        // gcloud takes no condition without a title.
        let mut c = Candidate::default();
        let mut untitled = odd_condition();
        untitled.title = None;
        c.evidence.push(cited(untitled.reference()));
        let why = binding_condition(&c).unwrap_err();
        assert!(
            why.starts_with("the binding's IAM condition has no title"),
            "{why}"
        );
        untitled.title = Some(String::new());
        c.evidence[0] = cited(untitled.reference());
        assert!(binding_condition(&c).is_err());
    }

    #[test]
    fn the_condition_file_reads_back_as_the_condition() {
        let odd = odd_condition();
        let text = odd.file("roles/x of user:a@b.c on\n//x");
        assert!(
            text.starts_with(
                "# The IAM condition of roles/x of user:a@b.c on //x\n\
                 # for gcloud's --condition-from-file, exactly as the binding has it.\n\
                 expression: \"resource.name.startsWith(\\\"projects/_/buckets/acme-reports/objects/q4/\\\") ||\\x0d\\n"
            ),
            "{text}"
        );
        let value: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "expression": odd.expression,
                "title": odd.title,
                "description": odd.description,
            })
        );
        // No description, or an empty one (which IAM does not keep): no key,
        // as gcloud compares a missing description with the binding's.
        for description in [None, Some(String::new())] {
            let condition = Condition {
                description,
                ..odd_condition()
            };
            let value: serde_json::Value = serde_yaml::from_str(&condition.file("b")).unwrap();
            assert_eq!(
                value,
                serde_json::json!({"expression": odd.expression, "title": odd.title})
            );
        }
    }

    #[test]
    fn binding_commands_name_the_condition_or_none() {
        assert_eq!(
            condition_flag(Some("gcp-condition-1.yaml")),
            "--condition-from-file=\"$(dirname \"$0\")/gcp-condition-1.yaml\""
        );
        assert_eq!(condition_flag(None), "--condition=None");
        let level = Level::of("//storage.googleapis.com/projects/_/buckets/acme logs").unwrap();
        let remove = level.binding_command(Verb::Remove).unwrap();
        // `bash -c` runs with $0 `bash`: the file is in `.`.
        assert_eq!(
            crate::text::argv_of(
                "gcloud",
                &format!(
                    "{remove} --member=user:a@b.c --role=roles/x {}",
                    condition_flag(Some("gcp-condition-1.yaml"))
                )
            ),
            [
                "storage",
                "buckets",
                "remove-iam-policy-binding",
                "gs://acme logs",
                "--member=user:a@b.c",
                "--role=roles/x",
                "--condition-from-file=./gcp-condition-1.yaml"
            ]
        );
        let takes = |name: &str| Level::of(name).unwrap().takes_condition();
        for name in [
            "//cloudresourcemanager.googleapis.com/projects/p",
            "//cloudresourcemanager.googleapis.com/folders/1",
            "//cloudresourcemanager.googleapis.com/organizations/1",
            "//storage.googleapis.com/projects/_/buckets/b",
            "//iam.googleapis.com/projects/p/serviceAccounts/a@p.iam.gserviceaccount.com",
            "//secretmanager.googleapis.com/projects/p/secrets/s",
        ] {
            assert!(takes(name), "{name}");
        }
        // GA gcloud pubsub binds without conditions; BigQuery has no command.
        for name in [
            "//pubsub.googleapis.com/projects/p/topics/t",
            "//pubsub.googleapis.com/projects/p/subscriptions/s",
            "//bigquery.googleapis.com/projects/p/datasets/d",
        ] {
            assert!(!takes(name), "{name}");
        }
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
