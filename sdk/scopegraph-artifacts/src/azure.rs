//! Azure RBAC: the plane of a role assignment's grant, custom role
//! definitions, and the `az` commands that create and assign them.
//!
//! The Azure provider emits one grant per role assignment, permission block
//! and plane; operation names alone do not say which plane
//! (`…/containers/read` is an action, `…/containers/blobs/read` a data
//! action), so [`Plane::of`] reads it from the grant's evidence, which cites
//! the role's block as `…#/permissions/{block}/actions` or
//! `…#/permissions/{block}/dataActions`.

use crate::text::{json_list, shell_word, truncate};
use scopegraph_sdk::Candidate;
use scopegraph_sdk::spelling::json_str;

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
/// `scope`; the description is cut to Azure's limit. The shape is the one
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
/// when a custom role of that `name` exists at `scope` (the file's
/// assignable scope) already: a script that stopped half-way (a role not
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
/// id, or `"$VARIABLE"`).
pub fn assign_command(assignee: &str, principal_type: &str, role: &str, scope: &str) -> String {
    format!(
        "az role assignment create --assignee-object-id {assignee} --assignee-principal-type {principal_type} --role {} --scope {}",
        shell_word(role),
        shell_word(scope)
    )
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
                "/subscriptions/s/resourceGroups/rg (old)"
            ),
            "az role assignment create --assignee-object-id \"$P\" --assignee-principal-type ServicePrincipal --role Reader --scope '/subscriptions/s/resourceGroups/rg (old)'"
        );
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
