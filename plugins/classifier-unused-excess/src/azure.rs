//! An Azure role assignment the agent owns, scoped down to a custom role of
//! exactly the observed operations, assigned to the same principal at the
//! same scope in place of the old assignment.
//!
//! The provider emits one grant per role assignment, permission block and
//! plane: `source` is the assignment id
//! (`{scope}/providers/Microsoft.Authorization/roleAssignments/{guid}`),
//! `resources` is `[scope]`, the holder (the chain's last hop) is
//! `azure:{principalId}`, and the permissions are either all control-plane
//! operations (`actions`) or all data-plane ones (`dataActions`). Operation
//! names alone do not say which (`…/containers/read` is an action,
//! `…/containers/blobs/read` a data action), so the plane is read from the
//! grant's evidence: the role's permission block is cited as
//! `…#/permissions/{block}/actions` or `…#/permissions/{block}/dataActions`.
//! A candidate that cites neither gets no Azure artifacts rather than a
//! guess.

use crate::place::Place;
use crate::render::{comment_text, shell_word};
use scopegraph_artifacts::azure::{
    assign_command, create_definition_command, principal_type, role_definition,
};
use scopegraph_sdk::{Artifact, Candidate};
use std::collections::BTreeSet;

pub use scopegraph_artifacts::azure::Plane;

/// The custom role's `Name`: `scopegraph_{namespace}_{name}_{short id}`.
pub fn role_name(place: &Place) -> String {
    place.slug("scopegraph_", 64)
}

/// The custom role definition (`azure-role-{short}.json`) and the script
/// that swaps the assignment (`azure-reassign-{short}.sh`).
pub fn artifacts(candidate: &Candidate, place: &Place) -> Vec<Artifact> {
    let (Some(plane), Some(scope), Some(holder)) = (
        Plane::of(candidate),
        candidate.resources.first(),
        candidate.chain.last(),
    ) else {
        return Vec::new();
    };
    let Some(object_id) = holder.node.strip_prefix("azure:").filter(|s| !s.is_empty()) else {
        return Vec::new();
    };
    let assignment = candidate.grant.source.as_str();
    if !assignment
        .to_ascii_lowercase()
        .contains("/providers/microsoft.authorization/roleassignments/")
    {
        return Vec::new();
    }
    let name = role_name(place);
    let operations: Vec<String> = candidate
        .usage
        .used_permissions
        .iter()
        .map(String::as_str)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(String::from)
        .collect();
    let used = operations.len();
    let description = format!(
        "Operations {} exercised under role assignment {} over {} observed days (scopegraph unused-excess)",
        candidate.agent, assignment, candidate.usage.observed_days
    );
    let role_file = format!("azure-role-{}.json", place.short);
    let definition = role_definition(&name, &description, plane, &operations, scope);
    let other = match plane {
        Plane::Actions => "data actions",
        Plane::DataActions => "control-plane actions",
    };
    let script = format!(
        "#!/usr/bin/env bash\n\
         # scopegraph unused-excess, finding {id}: role assignment\n\
         # {assignment_comment}\n\
         # gives {object_comment} operations of which {used} were exercised over {days} observed days.\n\
         # This script creates a custom role of exactly those operations, assigns it to\n\
         # the same principal at the same scope, then deletes the old assignment.\n\
         # Deleting the assignment removes everything its role grants: if the role also\n\
         # grants {other} too (a separate finding on the same assignment), merge\n\
         # that finding's custom role into {role_file} or apply it first.\n\
         set -euo pipefail\n\n\
         # 1. The custom role (created, or updated from the file if it exists: az then\n\
         #    warns that the file has no \"id\" and finds the role by its name).\n\
         {create}\n\n\
         # 2. Assign it to the same principal at the same scope (a new role definition\n\
         #    can take a few minutes to replicate; run the script again if it is not found).\n\
         {assign}\n\n\
         # 3. Delete the old assignment.\n\
         az role assignment delete --ids {assignment_id}\n",
        id = comment_text(&candidate.id),
        assignment_comment = comment_text(assignment),
        object_comment = comment_text(object_id),
        days = candidate.usage.observed_days,
        create = create_definition_command(&name, &role_file, scope),
        assign = assign_command(
            &shell_word(object_id),
            principal_type(&holder.kind),
            &name,
            scope
        ),
        assignment_id = shell_word(assignment),
    );
    vec![
        Artifact {
            path: place.file(&role_file),
            content: definition,
        },
        Artifact {
            path: place.file(&format!("azure-reassign-{}.sh", place.short)),
            content: script,
        },
    ]
}

/// How the two files are applied, for the reduction summary.
pub fn how_to_apply(place: &Place) -> String {
    format!(
        "run azure-reassign-{short}.sh: it creates the custom role azure-role-{short}.json \
         (az role definition create --role-definition @azure-role-{short}.json, or update if it \
         exists), assigns it at the same scope and deletes the old assignment",
        short = place.short
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{artifacts, evidence, hop, owned, paths, reduction};
    use scopegraph_sdk::Cloud;
    use serde_json::json;

    const SCOPE: &str = "/subscriptions/7f9c2b1e-4a3d-4c8e-9b21-5d6e7f8a9b0c/resourceGroups/rg-data-prod/providers/Microsoft.Storage/storageAccounts/streportsprod";
    const OBJECT_ID: &str = "b2d3f4a5-2222-4b3c-9d4e-6f7a8b9c0d12";

    fn assignment() -> String {
        format!(
            "{SCOPE}/providers/Microsoft.Authorization/roleAssignments/0a1b2c3d-0004-4e5f-8a9b-0c1d2e3f4a04"
        )
    }

    /// One plane of a role assignment to the agent's own managed identity,
    /// as provider-azure emits it (fixture `role-assignments.json`, entry 3).
    fn candidate(plane: &str, granted: &[&str], used: &[&str]) -> Candidate {
        let mut c = owned(
            Cloud::Azure,
            "prod-aks/reports/Deployment/report-agent",
            granted,
            used,
        );
        c.principal = "id-report-agent".into();
        c.resources = vec![SCOPE.into()];
        c.grant.source = assignment();
        c.chain = vec![
            hop(
                "k8s:prod-aks/reports/Deployment/report-agent",
                "workload",
                "",
            ),
            hop(
                "k8s:prod-aks/reports/ServiceAccount/report-agent",
                "service-account",
                "spec.serviceAccountName",
            ),
            hop(
                &format!("azure:{OBJECT_ID}"),
                "cloud-identity",
                "federated credential aks-prod of id-report-agent (azure.workload.identity/client-id)",
            ),
        ];
        c.evidence = vec![
            evidence(
                "binding",
                "azure/role-assignments#/3",
                &format!(
                    "role assignment of Storage Blob Data Contributor to id-report-agent at resource {SCOPE}; \
                     Azure applies it to that scope and everything below it"
                ),
            ),
            evidence(
                "document",
                &format!(
                    "azure-built-in-roles:ba92f5b4-2d11-453d-a403-e96b0029c9fe#/permissions/0/{plane}"
                ),
                &format!("built-in role Storage Blob Data Contributor: {plane} [...]"),
            ),
        ];
        c
    }

    const CONTAINERS: &str = "Microsoft.Storage/storageAccounts/blobServices/containers";

    fn op(suffix: &str) -> String {
        format!("{CONTAINERS}/{suffix}")
    }

    fn definition(actions: &[String], data_actions: &[String]) -> serde_json::Value {
        json!({
            "Name": "scopegraph_reports_report_agent_5e1f0c2a",
            "IsCustom": true,
            "Description": format!(
                "Operations prod-aks/reports/Deployment/report-agent exercised under role assignment {} \
                 over 14 observed days (scopegraph unused-excess)",
                assignment()
            ),
            "Actions": actions,
            "NotActions": [],
            "DataActions": data_actions,
            "NotDataActions": [],
            "AssignableScopes": [SCOPE],
        })
    }

    #[test]
    fn owned_assignment_gets_a_custom_role_and_a_reassign_script() {
        let c = candidate(
            "actions",
            &[&op("delete"), &op("read"), &op("write")],
            &[&op("write"), &op("read")],
        );
        let reduction = reduction(&c);
        let artifacts = reduction.artifacts;
        assert_eq!(
            paths(&artifacts),
            [
                "unused-excess/prod-aks/reports/deployment-report-agent/azure-role-5e1f0c2a.json",
                "unused-excess/prod-aks/reports/deployment-report-agent/azure-reassign-5e1f0c2a.sh",
            ]
        );
        let role: serde_json::Value = serde_json::from_str(&artifacts[0].content).unwrap();
        assert_eq!(role, definition(&[op("read"), op("write")], &[]));
        assert_eq!(
            artifacts[1].content,
            format!(
                "#!/usr/bin/env bash
# scopegraph unused-excess, finding 5e1f0c2a9b7d3e41: role assignment
# {assignment}
# gives {OBJECT_ID} operations of which 2 were exercised over 14 observed days.
# This script creates a custom role of exactly those operations, assigns it to
# the same principal at the same scope, then deletes the old assignment.
# Deleting the assignment removes everything its role grants: if the role also
# grants data actions too (a separate finding on the same assignment), merge
# that finding's custom role into azure-role-5e1f0c2a.json or apply it first.
set -euo pipefail

# 1. The custom role (created, or updated from the file if it exists: az then
#    warns that the file has no \"id\" and finds the role by its name).
EXISTING_ROLE=\"$(az role definition list --custom-role-only true --name scopegraph_reports_report_agent_5e1f0c2a --scope {SCOPE} --query '[].id' -o tsv)\"
if [ -n \"$EXISTING_ROLE\" ]; then az role definition update --role-definition \"@$(dirname \"$0\")/azure-role-5e1f0c2a.json\"; else az role definition create --role-definition \"@$(dirname \"$0\")/azure-role-5e1f0c2a.json\"; fi

# 2. Assign it to the same principal at the same scope (a new role definition
#    can take a few minutes to replicate; run the script again if it is not found).
az role assignment create --assignee-object-id {OBJECT_ID} --assignee-principal-type ServicePrincipal --role scopegraph_reports_report_agent_5e1f0c2a --scope {SCOPE}

# 3. Delete the old assignment.
az role assignment delete --ids {assignment}
",
                assignment = assignment()
            )
        );
        assert!(reduction.summary.ends_with(
            "; run azure-reassign-5e1f0c2a.sh: it creates the custom role azure-role-5e1f0c2a.json \
             (az role definition create --role-definition @azure-role-5e1f0c2a.json, or update if it \
             exists), assigns it at the same scope and deletes the old assignment"
        ));
    }

    #[test]
    fn data_actions_go_to_data_actions() {
        let blobs = |s: &str| op(&format!("blobs/{s}"));
        let c = candidate(
            "dataActions",
            &[
                &blobs("add/action"),
                &blobs("delete"),
                &blobs("read"),
                &blobs("write"),
            ],
            &[&blobs("read")],
        );
        let artifacts = artifacts(&c);
        let role: serde_json::Value = serde_json::from_str(&artifacts[0].content).unwrap();
        assert_eq!(role, definition(&[], &[blobs("read")]));
        assert!(artifacts[1].content.contains(
            "# grants control-plane actions too (a separate finding on the same assignment), merge\n"
        ));
        // A role definition from the snapshot is cited the same way.
        let mut c = c;
        c.evidence[1].reference = "azure/role-definitions#/0/permissions/1/dataActions".into();
        assert_eq!(Plane::of(&c), Some(Plane::DataActions));
        c.evidence[1].reference = "azure/role-definitions#/0/permissions/1/actions".into();
        assert_eq!(Plane::of(&c), Some(Plane::Actions));
    }

    #[test]
    fn a_grant_that_does_not_cite_its_plane_gets_no_azure_artifacts() {
        let mut c = candidate("actions", &[&op("delete"), &op("read")], &[&op("read")]);
        // What the provider cited before it named the plane.
        c.evidence[1].reference =
            "azure-built-in-roles:ba92f5b4-2d11-453d-a403-e96b0029c9fe#/permissions/0".into();
        assert_eq!(Plane::of(&c), None);
        assert!(artifacts(&c).is_empty());
        // Evidence naming both planes is contradictory: no guess either.
        let mut c = candidate("actions", &[&op("delete"), &op("read")], &[&op("read")]);
        let mut other = c.evidence[1].clone();
        other.reference = other.reference.replace("/actions", "/dataActions");
        c.evidence.push(other);
        assert!(artifacts(&c).is_empty());
    }

    #[test]
    fn odd_names_are_quoted_in_the_script() {
        let mut c = candidate("actions", &[&op("delete"), &op("read")], &[&op("read")]);
        let scope = "/subscriptions/s/resourceGroups/rg (old)/providers/Microsoft.Storage/storageAccounts/st";
        c.resources = vec![scope.into()];
        c.grant.source = format!(
            "{scope}/providers/Microsoft.Authorization/roleAssignments/0a1b2c3d-0004-4e5f-8a9b-0c1d2e3f4a04"
        );
        let script = &artifacts(&c)[1].content;
        assert!(script.contains(
            "--scope '/subscriptions/s/resourceGroups/rg (old)/providers/Microsoft.Storage/storageAccounts/st'\n"
        ));
        assert!(script.contains(
            "az role assignment delete --ids '/subscriptions/s/resourceGroups/rg (old)/providers/Microsoft.Storage/storageAccounts/st/providers/Microsoft.Authorization/roleAssignments/0a1b2c3d-0004-4e5f-8a9b-0c1d2e3f4a04'\n"
        ));
    }
}
