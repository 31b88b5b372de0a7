//! Azure RBAC: the plane of a role assignment's grant, custom role
//! definitions, and the `az` commands that create and assign them.
//!
//! The Azure provider emits one grant per role assignment, permission block
//! and plane; operation names alone do not say which plane
//! (`…/containers/read` is an action, `…/containers/blobs/read` a data
//! action), so [`Plane::of`] reads it from the grant's evidence, which cites
//! the role's block as `…#/permissions/{block}/actions` or
//! `…#/permissions/{block}/dataActions`.
//!
//! What a grant's `conditions` say does not reach a candidate, so the
//! provider also cites an assignment's ABAC condition as evidence of kind
//! [`ASSIGNMENT_CONDITION`] (read by [`assignment_condition`], carried to the
//! replacement assignment by [`assign_command`]) and a role's own block
//! condition as evidence of kind [`ROLE_CONDITION`], which a custom role
//! cannot carry.

use crate::text::{json_list, json_string, shell_word, truncate};
use scopegraph_sdk::spelling::json_str;
use scopegraph_sdk::{Candidate, EvidenceRef};

/// Azure's limit on a role definition's description.
const DESCRIPTION_MAX: usize = 1024;

/// The audience of tokens exchanged for a Microsoft Entra token.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// Which list of a role definition an operation belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    Actions,
    DataActions,
}

impl Plane {
    /// The plane the candidate's grant is on, from the role evidence;
    /// `None` when no evidence cites one, or evidence cites both.
    pub fn of(candidate: &Candidate) -> Option<Plane> {
        let mut planes = candidate.evidence.iter().filter_map(|e| {
            if e.kind == ASSIGNMENT_CONDITION {
                return None; // its reference is JSON, not a pointer
            }
            let (_, pointer) = e.reference.rsplit_once('#')?;
            let segments: Vec<&str> = pointer.split('/').collect();
            let [.., "permissions", block, plane] = segments.as_slice() else {
                return None;
            };
            if block.is_empty() || !block.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            match *plane {
                "actions" => Some(Plane::Actions),
                "dataActions" => Some(Plane::DataActions),
                _ => None,
            }
        });
        let first = planes.next()?;
        planes.all(|p| p == first).then_some(first)
    }
}

/// The built-in role the candidate's grant comes from, as its definition
/// GUID (what `az role assignment create --role` accepts): from evidence
/// citing `azure-built-in-roles:{guid}#…`. `None` for custom roles.
pub fn built_in_role(candidate: &Candidate) -> Option<&str> {
    candidate.evidence.iter().find_map(|e| {
        let guid = e
            .reference
            .strip_prefix("azure-built-in-roles:")?
            .split('#')
            .next()?;
        (!guid.is_empty() && guid.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
            .then_some(guid)
    })
}

/// `(subscription, resource group)` of an ARM resource id
/// (`/subscriptions/S/resourceGroups/RG/…`), matched case-insensitively.
pub fn resource_group(resource_id: &str) -> Option<(&str, &str)> {
    let mut segments = resource_id.strip_prefix('/')?.split('/');
    let (Some(subs), Some(subscription), Some(groups), Some(group)) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return None;
    };
    (subs.eq_ignore_ascii_case("subscriptions")
        && groups.eq_ignore_ascii_case("resourceGroups")
        && !subscription.is_empty()
        && !group.is_empty())
    .then_some((subscription, group))
}

/// Where a custom role for an assignment at `scope` can be made assignable:
/// the scope itself when it is a management group, subscription or
/// resource group, the enclosing resource group (or subscription, for a
/// resource outside any group) when it is a resource, since Azure takes no
/// other `AssignableScopes` for a custom role. Its segment names are matched
/// case-insensitively (`az` prints `resourcegroups` as well as
/// `resourceGroups`) and written in ARM's spelling. `None` for the root
/// scope `/` and anything not under a management group or subscription.
pub fn assignable_scope(scope: &str) -> Option<String> {
    let segments: Vec<&str> = scope
        .strip_prefix('/')?
        .trim_end_matches('/')
        .split('/')
        .collect();
    let named = |segment: &str, name: &str| segment.eq_ignore_ascii_case(name);
    match segments.as_slice() {
        [providers, management, groups, group, ..]
            if named(providers, "providers")
                && named(management, "Microsoft.Management")
                && named(groups, "managementGroups")
                && !group.is_empty() =>
        {
            Some(format!(
                "/providers/Microsoft.Management/managementGroups/{group}"
            ))
        }
        [subscriptions, subscription, rest @ ..]
            if named(subscriptions, "subscriptions") && !subscription.is_empty() =>
        {
            Some(match rest {
                [groups, group, ..] if named(groups, "resourceGroups") && !group.is_empty() => {
                    format!("/subscriptions/{subscription}/resourceGroups/{group}")
                }
                _ => format!("/subscriptions/{subscription}"),
            })
        }
        _ => None,
    }
}

/// The evidence kind that carries a role assignment's ABAC condition. Its
/// reference is the JSON object `{"condition":…,"conditionVersion":…}`
/// (these two keys in this order, no spaces; the version a string or
/// `null` when the assignment names none), as [`Condition::reference`]
/// writes it; its summary is for humans.
pub const ASSIGNMENT_CONDITION: &str = "role-assignment-condition";

/// The evidence kind that says the role's permission block the grant comes
/// from has a condition of its own (some built-in roles' blocks do, e.g.
/// limiting which roles `roleAssignments/write` may assign). Its reference
/// points to the block's `condition`. A custom role cannot carry it, so a
/// custom role of such a grant's operations would grant them unconditioned.
pub const ROLE_CONDITION: &str = "role-condition";

/// A role assignment's ABAC condition, in Azure's condition language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub expression: String,
    /// `conditionVersion` (`2.0`); Azure takes a missing one as `2.0`.
    pub version: Option<String>,
}

impl Condition {
    /// The reference of its [`ASSIGNMENT_CONDITION`] evidence.
    pub fn reference(&self) -> String {
        format!(
            "{{\"condition\":{},\"conditionVersion\":{}}}",
            json_str(&self.expression),
            self.version.as_deref().map_or("null".into(), json_str)
        )
    }

    /// What [`Condition::reference`] wrote; `None` for anything else, or an
    /// empty condition.
    pub fn parse(reference: &str) -> Option<Condition> {
        let rest = reference.strip_prefix("{\"condition\":")?;
        let (expression, rest) = json_string(rest)?;
        let rest = rest.strip_prefix(",\"conditionVersion\":")?;
        let (version, rest) = match rest.strip_prefix("null") {
            Some(rest) => (None, rest),
            None => json_string(rest).map(|(v, rest)| (Some(v), rest))?,
        };
        (rest == "}" && !expression.trim().is_empty()).then_some(Condition {
            expression,
            version,
        })
    }
}

/// The ABAC condition of the role assignment the candidate's grant comes
/// from, from its [`ASSIGNMENT_CONDITION`] evidence: `Ok(None)` when it cites
/// none, `Err` (saying why) when that evidence cannot be read or cites two
/// different conditions, so that a caller writes no assignment that might
/// lack it.
pub fn assignment_condition(candidate: &Candidate) -> Result<Option<Condition>, String> {
    crate::cited_condition(
        candidate,
        ASSIGNMENT_CONDITION,
        Condition::parse,
        "the role assignment's condition",
        "role assignment conditions",
    )
}

/// The evidence that the grant's role permission block has a condition of
/// its own ([`ROLE_CONDITION`]), if it does.
pub fn role_condition(candidate: &Candidate) -> Option<&EvidenceRef> {
    candidate.evidence.iter().find(|e| e.kind == ROLE_CONDITION)
}

/// The `--assignee-principal-type` for a holder's node kind.
pub fn principal_type(kind: &str) -> &'static str {
    match kind {
        "user" => "User",
        "group" => "Group",
        _ => "ServicePrincipal",
    }
}

/// A custom role definition named `name`, of `actions` (control plane) and
/// `data_actions` (data plane), each sorted and deduplicated, assignable at
/// `scope`, which must be what [`assignable_scope`] gives (a management
/// group, subscription or resource group); the description is cut to
/// Azure's limit. The shape is the one
/// `az role definition create` and `update` read (`Name`, `IsCustom`,
/// `Description`, `Actions`, `NotActions`, `DataActions`, `NotDataActions`,
/// `AssignableScopes`).
pub fn role_definition(
    name: &str,
    description: &str,
    actions: &[String],
    data_actions: &[String],
    scope: &str,
) -> String {
    let sorted = |operations: &[String]| {
        let mut operations = operations.to_vec();
        operations.sort();
        operations.dedup();
        operations
    };
    format!(
        "{{\n  \"Name\": {},\n  \"IsCustom\": true,\n  \"Description\": {},\n  \"Actions\": {},\n  \"NotActions\": [],\n  \"DataActions\": {},\n  \"NotDataActions\": [],\n  \"AssignableScopes\": {}\n}}\n",
        json_str(name),
        json_str(&truncate(description, DESCRIPTION_MAX)),
        json_list(&sorted(actions), "  "),
        json_list(&sorted(data_actions), "  "),
        json_list(&[scope.to_string()], "  "),
    )
}

/// `az role definition create` of the file (a name of `[A-Za-z0-9._-]`)
/// next to the script, or `az role definition update` from the same file
/// when a custom role of that `name` exists at `scope` already, which must
/// be the file's `AssignableScopes` entry (what [`assignable_scope`] gives),
/// not the assignment's scope: a script that stopped half-way (a role not
/// yet replicated when it is assigned) can be run again, and one written
/// by a later audit brings the role to the operations then observed.
///
/// The look-up is its own command, so that under `set -e` a failing `az`
/// stops the script instead of reading as "no such role". `update` is
/// given the file as it is: a definition without `id` is looked up by its
/// `Name` at its `AssignableScopes` and replaced under the existing role's
/// GUID (az warns that the id is missing); one with an `id` would also need
/// a `roleName`, which the create shape has not.
pub fn create_definition_command(name: &str, file: &str, scope: &str) -> String {
    let file = format!("\"@$(dirname \"$0\")/{file}\"");
    format!(
        "EXISTING_ROLE=\"$(az role definition list --custom-role-only true --name {} --scope {} --query '[].id' -o tsv)\"\n\
         if [ -n \"$EXISTING_ROLE\" ]; then az role definition update --role-definition {file}; \
         else az role definition create --role-definition {file}; fi",
        shell_word(name),
        shell_word(scope),
    )
}

/// `az role assignment create` of `role` (name or GUID) at `scope` to the
/// principal `assignee`, which is already one shell word (a quoted object
/// id, or `"$VARIABLE"`), under `condition` when there is one (with its
/// version when known; Azure takes a missing one as `2.0`).
pub fn assign_command(
    assignee: &str,
    principal_type: &str,
    role: &str,
    scope: &str,
    condition: Option<&Condition>,
) -> String {
    let mut command = format!(
        "az role assignment create --assignee-object-id {assignee} --assignee-principal-type {principal_type} --role {} --scope {}",
        shell_word(role),
        shell_word(scope)
    );
    if let Some(condition) = condition {
        command.push_str(" --condition ");
        command.push_str(&shell_word(&condition.expression));
        if let Some(version) = &condition.version {
            command.push_str(" --condition-version ");
            command.push_str(&shell_word(version));
        }
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;
    use scopegraph_sdk::EvidenceRef;

    fn cited(reference: &str) -> Candidate {
        Candidate {
            evidence: vec![EvidenceRef {
                reference: reference.into(),
                ..EvidenceRef::default()
            }],
            ..Candidate::default()
        }
    }

    #[test]
    fn plane_and_built_in_role_come_from_the_evidence() {
        let c = cited(
            "azure-built-in-roles:ba92f5b4-2d11-453d-a403-e96b0029c9fe#/permissions/0/dataActions",
        );
        assert_eq!(Plane::of(&c), Some(Plane::DataActions));
        assert_eq!(
            built_in_role(&c),
            Some("ba92f5b4-2d11-453d-a403-e96b0029c9fe")
        );
        let c = cited("azure/role-definitions#/0/permissions/1/actions");
        assert_eq!(Plane::of(&c), Some(Plane::Actions));
        assert_eq!(built_in_role(&c), None);
        assert_eq!(
            Plane::of(&cited("azure/role-definitions#/0/permissions/x/actions")),
            None
        );
    }

    #[test]
    fn resource_groups_come_from_resource_ids() {
        assert_eq!(
            resource_group(
                "/subscriptions/s-1/resourcegroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/prod-aks"
            ),
            Some(("s-1", "rg-aks"))
        );
        assert_eq!(resource_group("/subscriptions/s-1"), None);
        assert_eq!(resource_group("subscriptions/s/resourceGroups/rg"), None);
    }

    #[test]
    fn role_definitions_parse_and_split_planes() {
        let ops = vec![
            "b/read".to_string(),
            "a/write".to_string(),
            "b/read".to_string(),
        ];
        let parsed: serde_json::Value =
            serde_json::from_str(&role_definition("n", "d\"", &[], &ops, "/s")).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "Name": "n", "IsCustom": true, "Description": "d\"",
                "Actions": [], "NotActions": [],
                "DataActions": ["a/write", "b/read"], "NotDataActions": [],
                "AssignableScopes": ["/s"],
            })
        );
        // Both planes in one role: what an assignment whose role grants
        // both is replaced by.
        let parsed: serde_json::Value = serde_json::from_str(&role_definition(
            "n",
            "d",
            &["c/read".to_string()],
            &ops,
            "/s",
        ))
        .unwrap();
        assert_eq!(parsed["Actions"], serde_json::json!(["c/read"]));
        assert_eq!(
            parsed["DataActions"],
            serde_json::json!(["a/write", "b/read"])
        );
        assert_eq!(
            assign_command(
                "\"$P\"",
                "ServicePrincipal",
                "Reader",
                "/subscriptions/s/resourceGroups/rg (old)",
                None
            ),
            "az role assignment create --assignee-object-id \"$P\" --assignee-principal-type ServicePrincipal --role Reader --scope '/subscriptions/s/resourceGroups/rg (old)'"
        );
    }

    #[test]
    fn custom_roles_are_assignable_at_the_group_subscription_or_management_group_of_the_scope() {
        let cases = [
            ("/subscriptions/s-1", Some("/subscriptions/s-1")),
            ("/subscriptions/s-1/", Some("/subscriptions/s-1")),
            (
                "/subscriptions/s-1/resourceGroups/rg-data",
                Some("/subscriptions/s-1/resourceGroups/rg-data"),
            ),
            // az prints both spellings; ARM's is written.
            (
                "/SUBSCRIPTIONS/s-1/resourcegroups/rg-data",
                Some("/subscriptions/s-1/resourceGroups/rg-data"),
            ),
            (
                "/subscriptions/s-1/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/st",
                Some("/subscriptions/s-1/resourceGroups/rg-data"),
            ),
            (
                "/subscriptions/s-1/resourcegroups/rg-data/providers/Microsoft.Storage/storageAccounts/st/blobServices/default/containers/reports",
                Some("/subscriptions/s-1/resourceGroups/rg-data"),
            ),
            (
                "/subscriptions/s-1/providers/Microsoft.Security/pricings/default",
                Some("/subscriptions/s-1"),
            ),
            (
                "/providers/Microsoft.Management/managementGroups/mg",
                Some("/providers/Microsoft.Management/managementGroups/mg"),
            ),
            (
                "/providers/microsoft.management/managementgroups/mg",
                Some("/providers/Microsoft.Management/managementGroups/mg"),
            ),
            ("/", None),
            ("", None),
            ("/providers/Microsoft.Capacity/reservationOrders/r", None),
            ("/subscriptions//resourceGroups/rg", None),
            ("subscriptions/s-1", None),
        ];
        for (scope, assignable) in cases {
            assert_eq!(assignable_scope(scope).as_deref(), assignable, "{scope}");
        }
    }

    const BLOB_CONDITION: &str = "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'reports'))";

    fn blob_condition() -> Condition {
        Condition {
            expression: BLOB_CONDITION.into(),
            version: Some("2.0".into()),
        }
    }

    #[test]
    fn a_condition_is_carried_in_its_evidence_reference() {
        let condition = blob_condition();
        let reference = condition.reference();
        assert_eq!(
            reference,
            format!("{{\"condition\":\"{BLOB_CONDITION}\",\"conditionVersion\":\"2.0\"}}")
        );
        // It is JSON, and reads back.
        let parsed: serde_json::Value = serde_json::from_str(&reference).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"condition": BLOB_CONDITION, "conditionVersion": "2.0"})
        );
        assert_eq!(Condition::parse(&reference), Some(condition));
        let multiline = Condition {
            expression: "(\r\n (\r\n  @Resource[x] StringEquals \"a\\b\"\r\n )\r\n)".into(),
            version: None,
        };
        assert!(
            multiline
                .reference()
                .ends_with(",\"conditionVersion\":null}")
        );
        assert_eq!(
            Condition::parse(&multiline.reference()),
            Some(multiline.clone())
        );
        for bad in [
            "",
            "azure/role-assignments#/3/condition",
            "{\"condition\":\"\",\"conditionVersion\":null}",
            "{\"condition\":\"x\"}",
            "{\"conditionVersion\":\"2.0\",\"condition\":\"x\"}",
            "{\"condition\":\"x\",\"conditionVersion\":\"2.0\"} ",
        ] {
            assert_eq!(Condition::parse(bad), None, "{bad}");
        }

        let mut c = cited("azure/role-assignments#/3");
        assert_eq!(assignment_condition(&c), Ok(None));
        let evidence = |reference: String| EvidenceRef {
            kind: ASSIGNMENT_CONDITION.into(),
            reference,
            summary: "s".into(),
        };
        c.evidence.push(evidence(blob_condition().reference()));
        assert_eq!(assignment_condition(&c), Ok(Some(blob_condition())));
        c.evidence.push(evidence(blob_condition().reference()));
        assert_eq!(assignment_condition(&c), Ok(Some(blob_condition())));
        c.evidence.push(evidence(multiline.reference()));
        assert!(assignment_condition(&c).is_err());
        c.evidence.truncate(2);
        c.evidence.push(evidence("{garbled".into()));
        assert!(assignment_condition(&c).is_err());
        assert!(role_condition(&c).is_none());
        c.evidence.push(EvidenceRef {
            kind: ROLE_CONDITION.into(),
            ..EvidenceRef::default()
        });
        assert!(role_condition(&c).is_some());
    }

    #[test]
    fn the_replacement_assignment_keeps_the_condition_word_for_word() {
        let scope = "/subscriptions/s/resourceGroups/rg-data-prod/providers/Microsoft.Storage/storageAccounts/streportsprod";
        let command = assign_command(
            "\"$P\"",
            "ServicePrincipal",
            "r_1",
            scope,
            Some(&blob_condition()),
        );
        assert_eq!(
            command,
            format!(
                "az role assignment create --assignee-object-id \"$P\" --assignee-principal-type ServicePrincipal --role r_1 --scope {scope} \
                 --condition '((!(ActionMatches{{'\\''Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'\\''}})) OR \
                 (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals '\\''reports'\\''))' \
                 --condition-version 2.0"
            )
        );
        let expected = |condition: &Condition| -> Vec<String> {
            let mut words: Vec<String> = [
                "role",
                "assignment",
                "create",
                "--assignee-object-id",
                "object id",
                "--assignee-principal-type",
                "ServicePrincipal",
                "--role",
                "r_1",
                "--scope",
                scope,
                "--condition",
                &condition.expression,
            ]
            .map(String::from)
            .to_vec();
            if let Some(version) = &condition.version {
                words.extend(["--condition-version".to_string(), version.clone()]);
            }
            words
        };
        let run = |condition: &Condition| {
            let command =
                assign_command("\"$P\"", "ServicePrincipal", "r_1", scope, Some(condition));
            assert_eq!(
                crate::text::argv_of("az", &format!("P='object id'\n{command}")),
                expected(condition),
                "{command}"
            );
        };
        run(&blob_condition());
        // Whatever a condition holds reaches az as one word: quotes,
        // brackets, `@`, `!`, `$`, backquotes, globs, line breaks.
        run(&Condition {
            expression: "(\r\n !(ActionMatches{'a/b'}) OR @Request[x:y] StringLike '*$(id)`id`$HOME\\' \"q\" ?[]\n)".into(),
            version: Some("2.0".into()),
        });
        run(&Condition {
            expression: "@Resource[x] StringEquals 'it'\\''s'".into(),
            version: None,
        });
    }

    #[test]
    fn an_existing_custom_role_is_updated_from_the_file() {
        assert_eq!(
            create_definition_command(
                "r_1",
                "azure-role-1.json",
                "/subscriptions/s/resourceGroups/rg (old)"
            ),
            "EXISTING_ROLE=\"$(az role definition list --custom-role-only true --name r_1 --scope '/subscriptions/s/resourceGroups/rg (old)' --query '[].id' -o tsv)\"\n\
             if [ -n \"$EXISTING_ROLE\" ]; then az role definition update --role-definition \"@$(dirname \"$0\")/azure-role-1.json\"; \
             else az role definition create --role-definition \"@$(dirname \"$0\")/azure-role-1.json\"; fi"
        );
    }
}
