//! Azure RBAC role assignments as grants.
//!
//! One assignment gives its principal, at its scope, the effective
//! operations of its role: per permission block, `actions` minus
//! `notActions` (control plane) and `dataActions` minus `notDataActions`
//! (data plane), wildcards expanded against the catalogue. Each (block,
//! plane) that grants something is one grant, `{assignment id}#{block}/
//! actions` or `…/dataActions`, so control- and data-plane operations never
//! mix (a `*` in `actions` grants no data action).
//!
//! `resources` is the assignment's scope as Azure spells it. Azure applies an
//! assignment to its scope and to everything below it (management group ->
//! subscriptions -> resource groups -> resources), which the evidence says;
//! the scope is not enumerated.
//!
//! The role is looked up by the GUID that ends `roleDefinitionId`, then by
//! `roleDefinitionName`: first in the snapshot's role definitions (the
//! tenant's own, current copy; custom roles only live there), then in the
//! built-in catalogue. An unknown role is a warning and a grant whose single
//! permission is the role's name, so nothing is lost.

use crate::actions::{Expansion, expand};
use crate::azure::{AzureRecords, RoleAssignment, SnapshotRole};
use crate::identities::Directory;
use crate::output::{Output, principal_id};
use crate::roles::{PermissionBlock, RoleDefinition, catalogue, guid_of};
use scopegraph_sdk::spelling::{json_str, one_line};
use scopegraph_sdk::{Cloud, EvidenceRef, Grant, Node};
use std::collections::{BTreeMap, HashMap};

/// Patterns quoted in an evidence summary before "… (N more)".
const MAX_PATTERNS_IN_SUMMARY: usize = 8;

/// What an assignment's scope is, by the shape of its id.
pub fn scope_kind(scope: &str) -> &'static str {
    let lower = scope.trim_end_matches('/').to_ascii_lowercase();
    let segments: Vec<&str> = lower.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [] => "root",
        ["providers", "microsoft.management", "managementgroups", _] => "management group",
        ["subscriptions", _] => "subscription",
        ["subscriptions", _, "resourcegroups", _] => "resource group",
        ["subscriptions", _, "resourcegroups", _, "providers", ..] => "resource",
        ["subscriptions", _, "providers", ..] => "subscription-level resource",
        _ => "scope",
    }
}

/// Where a role definition came from.
#[derive(Debug, Clone, Copy)]
enum Found<'a> {
    Snapshot(&'a SnapshotRole),
    BuiltIn(&'static RoleDefinition),
}

impl Found<'_> {
    fn definition(&self) -> &RoleDefinition {
        match self {
            Found::Snapshot(role) => &role.definition,
            Found::BuiltIn(definition) => definition,
        }
    }

    fn kind(&self) -> &str {
        match self {
            Found::Snapshot(role) if role.role_type == "CustomRole" => "custom role",
            Found::Snapshot(_) => "role",
            Found::BuiltIn(_) => "built-in role",
        }
    }

    /// A stable key for memoising expansions.
    fn key(&self) -> String {
        match self {
            Found::Snapshot(role) => role.origin.reference(),
            Found::BuiltIn(definition) => format!("builtin:{}", definition.guid),
        }
    }

    /// Evidence for permission block `block`.
    fn evidence(
        &self,
        block: usize,
        plane: &str,
        allow: &[String],
        deny: &[String],
    ) -> EvidenceRef {
        let definition = self.definition();
        let deny_name = if plane == "actions" {
            "notActions"
        } else {
            "notDataActions"
        };
        let mut summary = format!(
            "{} {}: {plane} {}",
            self.kind(),
            definition.name,
            quoted(allow)
        );
        if !deny.is_empty() {
            summary.push_str(&format!(", {deny_name} {}", quoted(deny)));
        }
        match self {
            Found::Snapshot(role) => role.origin.evidence_at(
                "document",
                &format!("/permissions/{block}/{plane}"),
                summary,
            ),
            Found::BuiltIn(definition) => EvidenceRef {
                kind: "document".into(),
                reference: format!(
                    "azure-built-in-roles:{}#/permissions/{block}/{plane}",
                    definition.guid
                ),
                summary,
            },
        }
    }

    /// Evidence that permission block `block` has a condition of its own
    /// (kind `role-condition`, pointing to it): a custom role of its
    /// operations could not carry it.
    fn condition_evidence(&self, block: usize, condition: &str) -> EvidenceRef {
        let pointer = format!("/permissions/{block}/condition");
        let summary = format!(
            "{} {}: permission block {block} applies only where its condition holds: {}",
            self.kind(),
            self.definition().name,
            one_line(condition)
        );
        match self {
            Found::Snapshot(role) => role.origin.evidence_at("role-condition", &pointer, summary),
            Found::BuiltIn(definition) => EvidenceRef {
                kind: "role-condition".into(),
                reference: format!("azure-built-in-roles:{}#{pointer}", definition.guid),
                summary,
            },
        }
    }
}

/// Evidence of the assignment's ABAC condition, for a replacement
/// assignment to carry: kind `role-assignment-condition`, its reference the
/// JSON object `{"condition":…,"conditionVersion":…}` (in this order, no
/// spaces, the version `null` when the assignment has none), which
/// `scopegraph-artifacts` reads back (`azure::Condition::parse`).
fn condition_evidence(assignment: &RoleAssignment) -> Option<EvidenceRef> {
    let condition = assignment.condition.as_deref()?;
    let version = assignment.condition_version.as_deref();
    Some(EvidenceRef {
        kind: "role-assignment-condition".into(),
        reference: format!(
            "{{\"condition\":{},\"conditionVersion\":{}}}",
            json_str(condition),
            version.map_or("null".into(), json_str)
        ),
        summary: format!(
            "role assignment {} applies only where its condition{} holds: {}",
            assignment.id,
            version.map_or(String::new(), |v| format!(" (version {v})")),
            one_line(condition)
        ),
    })
}

fn quoted(patterns: &[String]) -> String {
    let mut shown: Vec<&str> = patterns
        .iter()
        .take(MAX_PATTERNS_IN_SUMMARY)
        .map(String::as_str)
        .collect();
    let more;
    if patterns.len() > MAX_PATTERNS_IN_SUMMARY {
        more = format!("… ({} more)", patterns.len() - MAX_PATTERNS_IN_SUMMARY);
        shown.push(&more);
    }
    format!("[{}]", shown.join(", "))
}

/// Role definitions of the snapshot, by GUID and by name; the first wins.
struct SnapshotRoles<'a> {
    by_guid: HashMap<String, &'a SnapshotRole>,
    by_name: HashMap<String, &'a SnapshotRole>,
}

impl<'a> SnapshotRoles<'a> {
    fn new(roles: &'a [SnapshotRole]) -> Self {
        let mut index = SnapshotRoles {
            by_guid: HashMap::new(),
            by_name: HashMap::new(),
        };
        for role in roles {
            index
                .by_guid
                .entry(role.definition.guid.clone())
                .or_insert(role);
            index
                .by_name
                .entry(role.definition.name.to_lowercase())
                .or_insert(role);
        }
        index
    }

    fn find(&self, assignment: &RoleAssignment) -> Option<Found<'a>> {
        let guid = guid_of(&assignment.role_definition_id);
        let name = assignment
            .role_definition_name
            .as_deref()
            .map(str::to_lowercase);
        self.by_guid
            .get(&guid)
            .map(|r| Found::Snapshot(r))
            .or_else(|| catalogue().by_guid(&guid).map(Found::BuiltIn))
            .or_else(|| {
                let name = name.as_deref()?;
                self.by_name
                    .get(name)
                    .map(|r| Found::Snapshot(r))
                    .or_else(|| catalogue().by_name(name).map(Found::BuiltIn))
            })
    }
}

/// The two planes of one block, expanded.
#[derive(Debug, Clone)]
struct BlockExpansion {
    actions: Expansion,
    data_actions: Expansion,
}

fn expand_block(block: &PermissionBlock) -> BlockExpansion {
    let catalogue = catalogue();
    BlockExpansion {
        actions: expand(
            &block.actions,
            &block.not_actions,
            &catalogue.actions,
            "actions",
            "notActions",
        ),
        data_actions: expand(
            &block.data_actions,
            &block.not_data_actions,
            &catalogue.data_actions,
            "dataActions",
            "notDataActions",
        ),
    }
}

pub fn resolve(records: &AzureRecords, directory: &Directory, out: &mut Output) {
    let roles = SnapshotRoles::new(&records.roles);
    let mut expansions: HashMap<String, Vec<BlockExpansion>> = HashMap::new();
    let mut seen: HashMap<String, &RoleAssignment> = HashMap::new();
    // Group object id -> (name, first document, assignments), for one message per group.
    let mut groups: BTreeMap<String, (String, &str, usize)> = BTreeMap::new();
    for assignment in &records.assignments {
        let key = assignment.id.to_ascii_lowercase();
        if let Some(first) = seen.get(&key) {
            let same = first
                .principal_id
                .eq_ignore_ascii_case(&assignment.principal_id)
                && first.scope.eq_ignore_ascii_case(&assignment.scope)
                && guid_of(&first.role_definition_id) == guid_of(&assignment.role_definition_id);
            if !same {
                out.warn(
                    &assignment.origin.document,
                    format!(
                        "role assignment {} at {} differs from its first copy at {}; the first copy is used",
                        assignment.id,
                        assignment.origin.reference(),
                        first.origin.reference()
                    ),
                );
            }
            continue;
        }
        seen.insert(key, assignment);
        holder_node(assignment, directory, out);
        if assignment.principal_type.eq_ignore_ascii_case("Group")
            || assignment
                .principal_type
                .eq_ignore_ascii_case("ForeignGroup")
        {
            let entry = groups
                .entry(assignment.principal_id.to_ascii_lowercase())
                .or_insert_with(|| (principal_name(assignment), &assignment.origin.document, 0));
            entry.2 += 1;
        }
        match roles.find(assignment) {
            Some(found) => {
                let blocks = expansions.entry(found.key()).or_insert_with(|| {
                    found
                        .definition()
                        .permissions
                        .iter()
                        .map(expand_block)
                        .collect()
                });
                grant_role(assignment, found, blocks, out);
            }
            None => unknown_role(assignment, out),
        }
    }
    for (object_id, (name, document, count)) in groups {
        if crate::groups::known(&records.groups, &object_id) {
            continue;
        }
        out.info(
            document,
            format!(
                "group {name} ({object_id}) holds {count} role assignment(s); group membership is not read, \
                 so identities in the group are not shown to inherit them"
            ),
        );
    }
}

fn principal_name(assignment: &RoleAssignment) -> String {
    assignment
        .principal_name
        .clone()
        .unwrap_or_else(|| assignment.principal_id.clone())
}

/// A node for a holder the identity exports do not describe.
fn holder_node(assignment: &RoleAssignment, directory: &Directory, out: &mut Output) {
    let id = principal_id(&assignment.principal_id);
    if directory.by_object(&assignment.principal_id).is_some() || out.has_node(&id) {
        return;
    }
    let kind = match assignment.principal_type.to_ascii_lowercase().as_str() {
        "user" => "user",
        "group" | "foreigngroup" => "group",
        _ => "cloud-identity",
    };
    let mut attributes = vec![("present".to_string(), "false".to_string())];
    if !assignment.principal_type.is_empty() {
        attributes.push(("principal-type".into(), assignment.principal_type.clone()));
    }
    out.node(Node {
        id,
        kind: kind.into(),
        cloud: Cloud::Azure,
        name: principal_name(assignment),
        attributes,
        evidence: vec![assignment.origin.evidence(
            "binding",
            format!(
                "{} {} named by role assignment {}",
                assignment.principal_type,
                principal_name(assignment),
                assignment.id
            ),
        )],
    });
}

fn assignment_evidence(assignment: &RoleAssignment, role: &str) -> EvidenceRef {
    assignment.origin.evidence(
        "binding",
        format!(
            "role assignment of {role} to {} at {} {}; Azure applies it to that scope and everything below it",
            principal_name(assignment),
            scope_kind(&assignment.scope),
            assignment.scope
        ),
    )
}

fn grant_role(
    assignment: &RoleAssignment,
    found: Found,
    blocks: &[BlockExpansion],
    out: &mut Output,
) {
    let definition = found.definition();
    let mut granted = false;
    for (index, (block, expanded)) in definition.permissions.iter().zip(blocks).enumerate() {
        let planes = [
            (
                "actions",
                &expanded.actions,
                &block.actions,
                &block.not_actions,
            ),
            (
                "dataActions",
                &expanded.data_actions,
                &block.data_actions,
                &block.not_data_actions,
            ),
        ];
        for (plane, expansion, allow, deny) in planes {
            if expansion.permissions.is_empty() {
                continue;
            }
            let conditions = assignment
                .condition
                .iter()
                .chain(block.condition.iter().filter(|c| !c.trim().is_empty()))
                .cloned()
                .chain(expansion.notes.iter().cloned())
                .collect();
            granted |= out.grant(Grant {
                id: format!("azure:{}#{index}/{plane}", assignment.id),
                holder: principal_id(&assignment.principal_id),
                cloud: Cloud::Azure,
                permissions: expansion.permissions.clone(),
                resources: vec![assignment.scope.clone()],
                effect: scopegraph_sdk::Effect::Allow,
                source: assignment.id.clone(),
                conditions,
                evidence: [
                    assignment_evidence(assignment, &definition.name),
                    found.evidence(index, plane, allow, deny),
                ]
                .into_iter()
                .chain(condition_evidence(assignment))
                .chain(
                    block
                        .condition
                        .as_deref()
                        .filter(|c| !c.trim().is_empty())
                        .map(|c| found.condition_evidence(index, c)),
                )
                .chain(assignment.created_by.as_ref().map(|by| {
                    // Who to ask to narrow the assignment.
                    assignment.origin.evidence(
                        "owner",
                        format!(
                            "role assignment {} was created by object {by}",
                            assignment.id
                        ),
                    )
                }))
                .collect(),
            });
        }
    }
    if !granted {
        out.info(
            &assignment.origin.document,
            format!(
                "role assignment {} of {} {} grants no operation",
                assignment.id,
                found.kind(),
                definition.name
            ),
        );
    }
}

fn unknown_role(assignment: &RoleAssignment, out: &mut Output) {
    let guid = guid_of(&assignment.role_definition_id);
    let role = assignment
        .role_definition_name
        .clone()
        .unwrap_or_else(|| assignment.role_definition_id.clone());
    out.warn(
        &assignment.origin.document,
        format!(
            "role assignment {} names role {role} ({guid}), which is neither a built-in role of the catalogue nor in \
             a role definition export (az role definition list --custom-role-only true) of the snapshot: its \
             permissions are unknown, so the role name is kept as its single permission",
            assignment.id
        ),
    );
    out.grant(Grant {
        id: format!("azure:{}#role", assignment.id),
        holder: principal_id(&assignment.principal_id),
        cloud: Cloud::Azure,
        permissions: vec![role.clone()],
        resources: vec![assignment.scope.clone()],
        effect: scopegraph_sdk::Effect::Allow,
        source: assignment.id.clone(),
        conditions: assignment.condition.iter().cloned().collect(),
        evidence: std::iter::once(assignment_evidence(assignment, &role))
            .chain(condition_evidence(assignment))
            .collect(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_recognised_by_shape() {
        let cases = [
            ("/", "root"),
            (
                "/providers/Microsoft.Management/managementGroups/mg-platform",
                "management group",
            ),
            (
                "/subscriptions/7f9c2b1e-4a3d-4c8e-9b21-5d6e7f8a9b0c",
                "subscription",
            ),
            (
                "/subscriptions/s/resourceGroups/rg-agents-prod",
                "resource group",
            ),
            (
                "/subscriptions/s/resourcegroups/rg/providers/Microsoft.Storage/storageAccounts/st",
                "resource",
            ),
            (
                "/subscriptions/s/providers/Microsoft.Security/pricings/default",
                "subscription-level resource",
            ),
            ("nonsense", "scope"),
        ];
        for (scope, kind) in cases {
            assert_eq!(scope_kind(scope), kind, "{scope}");
        }
    }
}
