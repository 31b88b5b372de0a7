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

use crate::place::Place;
use crate::render::{comment_text, shell_word};
use scopegraph_artifacts::azure::{
    assign_command, create_definition_command, principal_type, role_definition,
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
/// [`place`]). Nothing when a grant's plane is unknown, or nothing is kept.
pub fn artifacts(grants: &[Grant<'_>], place: &Place) -> Vec<Artifact> {
    let Some(first) = grants.first().map(|g| g.candidate) else {
        return Vec::new();
    };
    let (Some(scope), Some(holder)) = (first.resources.first(), first.chain.last()) else {
        return Vec::new();
    };
    let Some(object_id) = holder.node.strip_prefix("azure:").filter(|s| !s.is_empty()) else {
        return Vec::new();
    };
    let assignment = first.grant.source.as_str();
    if !assignment
        .to_ascii_lowercase()
        .contains("/providers/microsoft.authorization/roleassignments/")
    {
        return Vec::new();
    }
    let mut actions = BTreeSet::new();
    let mut data_actions = BTreeSet::new();
    for grant in grants {
        let kept = grant.kept.iter().map(String::as_str);
        match Plane::of(grant.candidate) {
            Some(Plane::Actions) => actions.extend(kept),
            Some(Plane::DataActions) => data_actions.extend(kept),
            None => return Vec::new(),
        }
    }
    if actions.is_empty() && data_actions.is_empty() {
        return Vec::new();
    }
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
    let definition = role_definition(&name, &description, &actions, &data_actions, scope);
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
         set -euo pipefail\n\n\
         # 1. The custom role (created, or updated from the file if it exists: az then\n\
         #    warns that the file has no \"id\" and finds the role by its name).\n\
         {create}\n\n\
         # 2. Assign it to the same principal at the same scope (a new role definition\n\
         #    can take a few minutes to replicate; run the script again if it is not found).\n\
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

/// How the two files are applied, for the reduction summary (`place` as
/// [`place`] gives it).
pub fn how_to_apply(place: &Place) -> String {
    format!(
        "run azure-reassign-{short}.sh: it creates the custom role azure-role-{short}.json \
         (az role definition create --role-definition @azure-role-{short}.json, or update if it \
         exists), assigns it at the same scope and deletes the old assignment, for every finding \
         of the assignment at once",
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
# This script creates a custom role of exactly those operations (or updates the
# one an earlier run created), assigns it to the same principal at the same
# scope, then deletes the old assignment. Deleting it removes everything its role
# grants, so the custom role keeps what is used of all of it, control-plane
# actions and data actions alike: this is the assignment's only script.
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
