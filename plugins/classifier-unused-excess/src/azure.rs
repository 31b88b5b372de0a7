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
//! An assignment with a grant that cites neither gets no Azure artifacts
//! rather than a guess.
//!
//! Deleting the old assignment removes every grant of it at once, so an
//! assignment has one replacement, whichever of its grants' findings points
//! to it: one custom role of what is kept of each grant (its `Actions` and
//! `DataActions` together) and one script that deletes the assignment once.
//! The files are named by the assignment's first candidate id, so that
//! every finding of the assignment writes the same files with the same
//! content.
//!
//! The custom role is assignable at the assignment's resource group (its
//! subscription or management group when the assignment is at that level):
//! Azure takes no resource as a custom role's `AssignableScopes`. The new
//! assignment is at the old one's scope, under its ABAC condition, which
//! the provider cites as evidence. What could not be replaced without
//! granting more, or at all, gets no files and the summary says why: a
//! condition that cannot be read, a role permission block with a condition
//! of its own (a custom role cannot carry it), a scope no custom role can
//! be assignable at (the root `/`).

use crate::place::Place;
use crate::render::{comment_text, shell_word};
use scopegraph_artifacts::azure::{
    Condition, assign_command, assignable_scope, assignment_condition, create_definition_command,
    principal_type, role_condition, role_definition,
};
use scopegraph_sdk::{Artifact, Candidate, Cloud};
use std::collections::BTreeSet;

pub use scopegraph_artifacts::azure::Plane;

/// One grant of a role assignment, as its replacement sees it.
#[derive(Debug)]
pub struct Grant<'a> {
    pub candidate: &'a Candidate,
    /// Whether its verdict is open: a finding whose reduction this is.
    pub open: bool,
    /// The operations the replacement keeps of it.
    pub kept: Vec<String>,
}

/// Whether `a` and `b` are grants of the same Azure role assignment held by
/// the same agent through the same principal.
pub fn same_assignment(a: &Candidate, b: &Candidate) -> bool {
    a.cloud == Cloud::Azure
        && b.cloud == Cloud::Azure
        && a.agent == b.agent
        && a.grant.source == b.grant.source
        && a.chain.last().map(|h| &h.node) == b.chain.last().map(|h| &h.node)
}

/// Where the assignment's files go: `place`, named by the first of the
/// assignment's candidate ids (`grants` are in id order).
pub fn place(place: &Place, grants: &[Grant<'_>]) -> Place {
    let mut place = place.clone();
    if let Some(first) = grants.first() {
        place.short = first.candidate.id.chars().take(8).collect();
    }
    place
}

/// The custom role's `Name`: `scopegraph_{namespace}_{name}_{short id}`.
pub fn role_name(place: &Place) -> String {
    place.slug("scopegraph_", 64)
}

/// The custom role definition (`azure-role-{short}.json`) and the script
/// that swaps the assignment (`azure-reassign-{short}.sh`) for the
/// assignment whose grants are `grants` (in id order), at `place` (see
/// [`place`]). Nothing when a grant's plane is unknown, or nothing is kept;
/// `Err`, saying why, when a replacement would grant more than the old
/// assignment or cannot be made (see the module doc).
pub fn artifacts(grants: &[Grant<'_>], place: &Place) -> Result<Vec<Artifact>, String> {
    let Some(first) = grants.first().map(|g| g.candidate) else {
        return Ok(Vec::new());
    };
    let (Some(scope), Some(holder)) = (first.resources.first(), first.chain.last()) else {
        return Ok(Vec::new());
    };
    let Some(object_id) = holder.node.strip_prefix("azure:").filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    let assignment = first.grant.source.as_str();
    if !assignment
        .to_ascii_lowercase()
        .contains("/providers/microsoft.authorization/roleassignments/")
    {
        return Ok(Vec::new());
    }
    let mut actions = BTreeSet::new();
    let mut data_actions = BTreeSet::new();
    for grant in grants {
        let kept = grant.kept.iter().map(String::as_str);
        match Plane::of(grant.candidate) {
            Some(Plane::Actions) => actions.extend(kept),
            Some(Plane::DataActions) => data_actions.extend(kept),
            None => return Ok(Vec::new()),
        }
    }
    if actions.is_empty() && data_actions.is_empty() {
        return Ok(Vec::new());
    }
    let condition = condition(grants)?;
    let assignable = assignable_scope(scope).ok_or_else(|| {
        format!(
            "no Azure script written: no custom role can be assignable at {scope} (Azure takes only a \
             management group, subscription or resource group as a custom role's AssignableScopes)"
        )
    })?;
    let actions: Vec<String> = actions.into_iter().map(String::from).collect();
    let data_actions: Vec<String> = data_actions.into_iter().map(String::from).collect();
    let findings: Vec<String> = grants
        .iter()
        .filter(|g| g.open)
        .map(|g| comment_text(&g.candidate.id))
        .collect();
    let days = grants
        .iter()
        .map(|g| g.candidate.usage.observed_days)
        .max()
        .unwrap_or_default();
    let name = role_name(place);
    let description = format!(
        "Operations {} exercised under role assignment {} over {} observed days (scopegraph unused-excess)",
        first.agent, assignment, days
    );
    let role_file = format!("azure-role-{}.json", place.short);
    let definition = role_definition(&name, &description, &actions, &data_actions, &assignable);
    let condition_note = if condition.is_some() {
        "# The old assignment has a condition (ABAC): the new one is made under the same\n\
         # condition, word for word, so that it grants no more than the old one did.\n"
    } else {
        ""
    };
    let script = format!(
        "#!/usr/bin/env bash\n\
         # scopegraph unused-excess, {findings_word} {findings}: role assignment\n\
         # {assignment_comment}\n\
         # gives {object_comment} operations of which {used} were exercised over {days} observed days.\n\
         # This script creates a custom role of exactly those operations (or updates the\n\
         # one an earlier run created), assigns it to the same principal at the same\n\
         # scope, then deletes the old assignment. Deleting it removes everything its role\n\
         # grants, so the custom role keeps what is used of all of it, control-plane\n\
         # actions and data actions alike: this is the assignment's only script.\n\
         {condition_note}\
         set -euo pipefail\n\n\
         # 1. The custom role, assignable in {assignable_comment}\n\
         #    (created, or updated from the file if it exists: az then warns that the\n\
         #    file has no \"id\" and finds the role by its name there).\n\
         {create}\n\n\
         # 2. Assign it to the same principal at the same scope{under}\n\
         {assign}\n\n\
         # 3. Delete the old assignment.\n\
         az role assignment delete --ids {assignment_id}\n",
        findings_word = if findings.len() == 1 {
            "finding"
        } else {
            "findings"
        },
        findings = findings.join(", "),
        assignment_comment = comment_text(assignment),
        object_comment = comment_text(object_id),
        used = actions.len() + data_actions.len(),
        assignable_comment = comment_text(&assignable),
        create = create_definition_command(&name, &role_file, &assignable),
        under = if condition.is_some() {
            ", under the old\n\
             #    assignment's condition (a new role definition can take a few minutes to\n\
             #    replicate; run the script again if it is not found)."
        } else {
            " (a new role definition\n\
             #    can take a few minutes to replicate; run the script again if it is not found)."
        },
        assign = assign_command(
            &shell_word(object_id),
            principal_type(&holder.kind),
            &name,
            scope,
            condition.as_ref(),
        ),
        assignment_id = shell_word(assignment),
    );
    Ok(vec![
        Artifact {
            path: place.file(&role_file),
            content: definition,
        },
        Artifact {
            path: place.file(&format!("azure-reassign-{}.sh", place.short)),
            content: script,
        },
    ])
}

/// The assignment's ABAC condition, which its replacement is made under:
/// the same in every grant's evidence. `Err` when it cannot be read, or a
/// grant's role permission block has a condition of its own, which a custom
/// role cannot carry.
fn condition(grants: &[Grant<'_>]) -> Result<Option<Condition>, String> {
    let mut condition = None;
    for (index, grant) in grants.iter().enumerate() {
        if let Some(block) = role_condition(grant.candidate) {
            return Err(format!(
                "no Azure script written: a custom role cannot carry the condition of the role's \
                 permission block ({}), so it would grant the block's operations without it",
                block.summary
            ));
        }
        let this = assignment_condition(grant.candidate)
            .map_err(|why| format!("no Azure script written: {why}"))?;
        if index > 0 && this != condition {
            return Err(
                "no Azure script written: the assignment's grants cite different conditions".into(),
            );
        }
        condition = this;
    }
    Ok(condition)
}

/// How the two files are applied, for the reduction summary (`place` as
/// [`place`] gives it).
pub fn how_to_apply(place: &Place, grants: &[Grant<'_>]) -> String {
    let under = if matches!(condition(grants), Ok(Some(_))) {
        " under the old assignment's condition"
    } else {
        ""
    };
    format!(
        "run azure-reassign-{short}.sh: it creates the custom role azure-role-{short}.json \
         (az role definition create --role-definition @azure-role-{short}.json, or update if it \
         exists), assigns it at the same scope{under} and deletes the old assignment, for every \
         finding of the assignment at once",
        short = place.short
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{artifacts, evidence, hop, owned, paths, reduction};
    use scopegraph_artifacts::azure::Condition;
    use scopegraph_sdk::Cloud;
    use serde_json::json;

    const SCOPE: &str = "/subscriptions/7f9c2b1e-4a3d-4c8e-9b21-5d6e7f8a9b0c/resourceGroups/rg-data-prod/providers/Microsoft.Storage/storageAccounts/streportsprod";
    /// Where the custom role is assignable: the storage account's group.
    const GROUP: &str =
        "/subscriptions/7f9c2b1e-4a3d-4c8e-9b21-5d6e7f8a9b0c/resourceGroups/rg-data-prod";
    /// The fixture's condition on the assignment (`role-assignments.json`,
    /// entry 3): blob reads in container `reports` only.
    const CONDITION: &str = "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'reports'))";
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
            "AssignableScopes": [GROUP],
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
# This script creates a custom role of exactly those operations (or updates the
# one an earlier run created), assigns it to the same principal at the same
# scope, then deletes the old assignment. Deleting it removes everything its role
# grants, so the custom role keeps what is used of all of it, control-plane
# actions and data actions alike: this is the assignment's only script.
set -euo pipefail

# 1. The custom role, assignable in {GROUP}
#    (created, or updated from the file if it exists: az then warns that the
#    file has no \"id\" and finds the role by its name there).
EXISTING_ROLE=\"$(az role definition list --custom-role-only true --name scopegraph_reports_report_agent_5e1f0c2a --scope {GROUP} --query '[].id' -o tsv)\"
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
             exists), assigns it at the same scope and deletes the old assignment, for every finding \
             of the assignment at once"
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
        // The role is looked up where it is assignable.
        assert!(script.contains(
            " --scope '/subscriptions/s/resourceGroups/rg (old)' --query '[].id' -o tsv)\"\n"
        ));
    }

    /// `c` as the provider emits a grant of an assignment with `condition`.
    fn conditioned(mut c: Candidate, condition: &str, version: Option<&str>) -> Candidate {
        let condition = Condition {
            expression: condition.into(),
            version: version.map(String::from),
        };
        c.evidence.push(evidence(
            "role-assignment-condition",
            &condition.reference(),
            "role assignment … applies only where its condition holds: …",
        ));
        c
    }

    #[test]
    fn a_conditioned_assignment_is_replaced_under_the_same_condition() {
        let c = conditioned(
            candidate(
                "dataActions",
                &[&blobs("delete"), &blobs("read"), &blobs("write")],
                &[&blobs("read")],
            ),
            CONDITION,
            Some("2.0"),
        );
        let reduction = reduction(&c);
        let artifacts = &reduction.artifacts;
        let role: serde_json::Value = serde_json::from_str(&artifacts[0].content).unwrap();
        assert_eq!(role, definition(&[], &[blobs("read")]));
        assert_eq!(
            artifacts[1].content,
            format!(
                "#!/usr/bin/env bash
# scopegraph unused-excess, finding 5e1f0c2a9b7d3e41: role assignment
# {assignment}
# gives {OBJECT_ID} operations of which 1 were exercised over 14 observed days.
# This script creates a custom role of exactly those operations (or updates the
# one an earlier run created), assigns it to the same principal at the same
# scope, then deletes the old assignment. Deleting it removes everything its role
# grants, so the custom role keeps what is used of all of it, control-plane
# actions and data actions alike: this is the assignment's only script.
# The old assignment has a condition (ABAC): the new one is made under the same
# condition, word for word, so that it grants no more than the old one did.
set -euo pipefail

# 1. The custom role, assignable in {GROUP}
#    (created, or updated from the file if it exists: az then warns that the
#    file has no \"id\" and finds the role by its name there).
EXISTING_ROLE=\"$(az role definition list --custom-role-only true --name scopegraph_reports_report_agent_5e1f0c2a --scope {GROUP} --query '[].id' -o tsv)\"
if [ -n \"$EXISTING_ROLE\" ]; then az role definition update --role-definition \"@$(dirname \"$0\")/azure-role-5e1f0c2a.json\"; else az role definition create --role-definition \"@$(dirname \"$0\")/azure-role-5e1f0c2a.json\"; fi

# 2. Assign it to the same principal at the same scope, under the old
#    assignment's condition (a new role definition can take a few minutes to
#    replicate; run the script again if it is not found).
az role assignment create --assignee-object-id {OBJECT_ID} --assignee-principal-type ServicePrincipal --role scopegraph_reports_report_agent_5e1f0c2a --scope {SCOPE} \
--condition '((!(ActionMatches{{'\\''Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'\\''}})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals '\\''reports'\\''))' \
--condition-version 2.0

# 3. Delete the old assignment.
az role assignment delete --ids {assignment}
",
                assignment = assignment()
            )
        );
        assert!(
            reduction.summary.contains(
                ", assigns it at the same scope under the old assignment's condition and deletes the old assignment"
            ),
            "{}",
            reduction.summary
        );
        // Run with az printing its arguments: the new assignment gets the
        // condition as one word, exactly; the role is looked up, written
        // and assigned where the file says.
        let calls = run_with_fake_az(&artifacts[1].content);
        let create = calls
            .iter()
            .find(|argv| argv.starts_with(&["role", "assignment", "create"].map(String::from)))
            .expect("an assignment");
        assert_eq!(
            create[create.len() - 4..],
            ["--condition", CONDITION, "--condition-version", "2.0"].map(String::from)
        );
        let at = create.iter().position(|w| w == "--scope").unwrap();
        assert_eq!(create[at + 1], SCOPE);
        let lookup = &calls[0];
        assert_eq!(
            lookup[..3],
            ["role", "definition", "list"].map(String::from)
        );
        let at = lookup.iter().position(|w| w == "--scope").unwrap();
        assert_eq!(lookup[at + 1], GROUP);
        assert_eq!(role["AssignableScopes"], json!([lookup[at + 1]]));
    }

    /// Run `script` under bash with `az` a function that records each call's
    /// arguments (and answers the role look-up with nothing): the calls.
    fn run_with_fake_az(script: &str) -> Vec<Vec<String>> {
        let dir = std::env::temp_dir().join(format!(
            "scopegraph-azure-script-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("reassign.sh");
        // Each argument NUL-terminated, each call ended by a newline.
        let fake =
            "az() { printf '%s\\0' \"$@\" >> \"$AZ_CALLS\"; printf '\\n' >> \"$AZ_CALLS\"; }\n";
        std::fs::write(
            &path,
            script.replacen(
                "set -euo pipefail\n",
                &format!("set -euo pipefail\n{fake}"),
                1,
            ),
        )
        .unwrap();
        let calls = dir.join("calls");
        let out = std::process::Command::new("bash")
            .arg(&path)
            .env("AZ_CALLS", &calls)
            .output()
            .unwrap();
        let recorded = std::fs::read_to_string(&calls).unwrap_or_default();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        recorded
            .split_terminator("\0\n")
            .map(|call| call.split('\0').map(String::from).collect())
            .collect()
    }

    #[test]
    fn a_condition_without_a_version_leaves_it_to_azure() {
        let c = conditioned(
            candidate("actions", &[&op("delete"), &op("read")], &[&op("read")]),
            "@Resource[x] StringEquals 'a'",
            None,
        );
        let script = &artifacts(&c)[1].content;
        assert!(
            script.contains(&format!(
                " --scope {SCOPE} --condition '@Resource[x] StringEquals '\\''a'\\'''\n\n"
            )),
            "{script}"
        );
        assert!(!script.contains("--condition-version"));
    }

    #[test]
    fn what_would_grant_more_or_cannot_be_assigned_gets_no_files_and_says_why() {
        let base = || candidate("actions", &[&op("delete"), &op("read")], &[&op("read")]);
        let why = |c: &Candidate| {
            let reduction = reduction(c);
            assert!(reduction.artifacts.is_empty(), "{:?}", reduction.artifacts);
            reduction.summary
        };
        // A condition the classifier cannot read: an assignment without it
        // would grant more.
        let mut c = base();
        c.evidence.push(evidence(
            "role-assignment-condition",
            "{\"condition\": \"x\"}",
            "role assignment r applies only where its condition holds: x",
        ));
        let summary = why(&c);
        assert!(
            summary.ends_with(
                "; no Azure script written: the role assignment's condition cannot be read from its evidence \
                 (role assignment r applies only where its condition holds: x)"
            ),
            "{summary}"
        );
        // The role's block has a condition of its own.
        let mut c = base();
        c.evidence.push(evidence(
            "role-condition",
            "azure-built-in-roles:8b54135c-b56d-4d72-a534-26097cfdc8d8#/permissions/0/condition",
            "built-in role Key Vault Data Access Administrator: permission block 0 applies only where its condition holds: …",
        ));
        let summary = why(&c);
        assert!(
            summary.contains(
                "; no Azure script written: a custom role cannot carry the condition of the role's permission block \
                 (built-in role Key Vault Data Access Administrator: "
            ),
            "{summary}"
        );
        // Two grants of one assignment citing different conditions.
        let control = conditioned(base(), "a", Some("2.0"));
        let mut data = conditioned(
            data_plane(&[&blobs("read"), &blobs("write")], &[&blobs("read")]),
            "b",
            Some("2.0"),
        );
        let batch = [control.clone(), data.clone()];
        let summary = reduction_among(&control, &batch).summary;
        assert!(
            summary.ends_with(
                "; no Azure script written: the assignment's grants cite different conditions"
            ),
            "{summary}"
        );
        // ...or one citing none: the same.
        data.evidence.pop();
        assert!(
            reduction_among(&control, &[control.clone(), data])
                .artifacts
                .is_empty()
        );
        // The root scope: no custom role is assignable there.
        let mut c = base();
        c.resources = vec!["/".into()];
        c.grant.source =
            "/providers/Microsoft.Authorization/roleAssignments/0a1b2c3d-0004-4e5f-8a9b-0c1d2e3f4a04"
                .into();
        let summary = why(&c);
        assert!(
            summary.ends_with(
                "; no Azure script written: no custom role can be assignable at / (Azure takes only a management \
                 group, subscription or resource group as a custom role's AssignableScopes)"
            ),
            "{summary}"
        );
    }

    #[test]
    fn the_role_is_assignable_at_the_scope_when_that_can_be_one() {
        for (scope, assignable) in [
            (
                "/subscriptions/s-1/resourcegroups/rg-data-prod",
                "/subscriptions/s-1/resourceGroups/rg-data-prod",
            ),
            ("/subscriptions/s-1", "/subscriptions/s-1"),
            (
                "/providers/Microsoft.Management/managementGroups/mg-agents",
                "/providers/Microsoft.Management/managementGroups/mg-agents",
            ),
        ] {
            let mut c = candidate("actions", &[&op("delete"), &op("read")], &[&op("read")]);
            c.resources = vec![scope.into()];
            c.grant.source = format!(
                "{scope}/providers/Microsoft.Authorization/roleAssignments/0a1b2c3d-0004-4e5f-8a9b-0c1d2e3f4a04"
            );
            let artifacts = artifacts(&c);
            let role: serde_json::Value = serde_json::from_str(&artifacts[0].content).unwrap();
            assert_eq!(role["AssignableScopes"], json!([assignable]), "{scope}");
            let script = &artifacts[1].content;
            assert!(
                script.contains(&format!(" --scope {assignable} --query ")),
                "{script}"
            );
            assert!(script.contains(&format!(" --scope {scope}\n")), "{script}");
        }
    }

    /// `bash -n` accepts `script` (read from standard input).
    fn assert_parses_as_shell(script: &str) {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut bash = Command::new("bash")
            .arg("-n")
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        bash.stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = bash.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}\n{script}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The same assignment's data-plane grant (a second block and plane of
    /// the same role), as a second candidate of the batch.
    fn data_plane(granted: &[&str], used: &[&str]) -> Candidate {
        let mut c = candidate("dataActions", granted, used);
        c.id = "9d4c7b1a0e2f3a45".into();
        c
    }

    fn blobs(suffix: &str) -> String {
        op(&format!("blobs/{suffix}"))
    }

    fn reduction_among(c: &Candidate, batch: &[Candidate]) -> scopegraph_sdk::Reduction {
        crate::judge_among(c, 7, batch)
            .expect("a verdict")
            .reduction
            .expect("a reduction")
    }

    #[test]
    fn both_planes_of_one_assignment_share_one_role_and_one_script() {
        let control = candidate(
            "actions",
            &[&op("delete"), &op("read"), &op("write")],
            &[&op("read")],
        );
        let data = data_plane(
            &[&blobs("delete"), &blobs("read"), &blobs("write")],
            &[&blobs("read"), &blobs("write")],
        );
        // In the host's order or not, each finding gets the same files.
        let batch = [data.clone(), control.clone()];
        let of_control = reduction_among(&control, &batch);
        let of_data = reduction_among(&data, &batch);
        assert_eq!(of_control.artifacts, of_data.artifacts);
        assert_eq!(
            paths(&of_data.artifacts),
            [
                "unused-excess/prod-aks/reports/deployment-report-agent/azure-role-5e1f0c2a.json",
                "unused-excess/prod-aks/reports/deployment-report-agent/azure-reassign-5e1f0c2a.sh",
            ]
        );
        for summary in [&of_control.summary, &of_data.summary] {
            assert!(
                summary.contains("; run azure-reassign-5e1f0c2a.sh: "),
                "{summary}"
            );
        }
        // One role of both planes' use: deleting the assignment loses
        // nothing either plane used.
        let role: serde_json::Value = serde_json::from_str(&of_data.artifacts[0].content).unwrap();
        assert_eq!(
            role,
            definition(&[op("read")], &[blobs("read"), blobs("write")])
        );
        let script = &of_data.artifacts[1].content;
        assert!(script.starts_with(
            "#!/usr/bin/env bash\n\
             # scopegraph unused-excess, findings 5e1f0c2a9b7d3e41, 9d4c7b1a0e2f3a45: role assignment\n"
        ));
        assert!(script.contains("operations of which 3 were exercised"));
        assert_eq!(script.matches("az role assignment delete ").count(), 1);
        assert_eq!(script.matches("az role assignment create ").count(), 1);
        assert_parses_as_shell(script);
    }

    #[test]
    fn what_an_assignment_replacement_keeps_of_grants_without_an_open_finding() {
        let control = candidate(
            "actions",
            &[&op("delete"), &op("read"), &op("write")],
            &[&op("read")],
        );
        // Every data action used: no finding, but the replacement must
        // keep them, or deleting the assignment takes them away.
        let used = data_plane(&[&blobs("read")], &[&blobs("read")]);
        assert!(crate::judge_among(&used, 7, &[used.clone(), control.clone()]).is_none());
        let role = |batch: &[Candidate]| -> serde_json::Value {
            serde_json::from_str(&reduction_among(&control, batch).artifacts[0].content).unwrap()
        };
        assert_eq!(
            role(&[control.clone(), used]),
            definition(&[op("read")], &[blobs("read")])
        );
        // No data action seen: the Activity Log cannot show them, so none
        // is judged and all are kept.
        let unseen = data_plane(&[&blobs("read"), &blobs("write")], &[]);
        let verdict = crate::judge_among(&unseen, 7, &[unseen.clone(), control.clone()]).unwrap();
        assert_eq!(
            verdict.status,
            scopegraph_sdk::Status::InsufficientObservation
        );
        let batch = [control.clone(), unseen];
        assert_eq!(
            role(&batch),
            definition(&[op("read")], &[blobs("read"), blobs("write")])
        );
        // The only open finding names the script alone.
        assert!(
            reduction_among(&control, &batch).artifacts[1]
                .content
                .contains(
                    "# scopegraph unused-excess, finding 5e1f0c2a9b7d3e41: role assignment\n"
                )
        );
        // A grant of the assignment whose plane is unknown: no guess for
        // any of them.
        let mut unknown = data_plane(&[&blobs("read")], &[&blobs("read")]);
        unknown.evidence.truncate(1);
        assert!(
            reduction_among(&control, &[control.clone(), unknown])
                .artifacts
                .is_empty()
        );
        // Another agent's or another assignment's grants are not merged.
        let mut other = data_plane(&[&blobs("read")], &[&blobs("read")]);
        other.grant.source = other.grant.source.replace("0004-4e5f", "0005-4e5f");
        assert_eq!(
            role(&[control.clone(), other]),
            definition(&[op("read")], &[])
        );
    }

    #[test]
    fn a_plane_never_used_points_to_the_assignment_replacement() {
        // Nothing of the control plane used (reads kept: the Activity Log
        // does not show them); the data plane's use makes the role.
        let control = candidate("actions", &[&op("delete"), &op("read")], &[]);
        let data = data_plane(&[&blobs("delete"), &blobs("read")], &[&blobs("read")]);
        let batch = [control.clone(), data.clone()];
        let of_control = reduction_among(&control, &batch);
        assert_eq!(
            of_control.artifacts,
            reduction_among(&data, &batch).artifacts
        );
        let role: serde_json::Value =
            serde_json::from_str(&of_control.artifacts[0].content).unwrap();
        assert_eq!(role, definition(&[op("read")], &[blobs("read")]));
    }
}
