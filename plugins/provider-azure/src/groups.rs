//! Entra ID group membership, from Microsoft Graph's
//! `GET /v1.0/groups?$expand=members` (`az rest --url
//! 'https://graph.microsoft.com/v1.0/groups?$expand=members'`): every group
//! with its direct members. A member that is itself a group makes its own
//! members inherit what the outer group holds; the host follows `member-of`
//! edges transitively.
//!
//! Graph expands at most 20 members per group. A group listed with exactly
//! 20 may have more, and is reported: `GET /groups/{id}/members` pages give
//! the rest, but name no group, so they cannot be read on their own.

use crate::output::{Origin, Output, principal_id};
use scopegraph_sdk::{Cloud, Document, Edge, Node};
use serde_json::Value;

/// The most members Graph's `$expand=members` returns per group.
pub const GRAPH_EXPAND_LIMIT: usize = 20;

/// One group and its direct members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub object_id: String,
    pub name: String,
    pub members: Vec<Member>,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub object_id: String,
    /// `servicePrincipal`, `user`, `group`, `device`... (from `@odata.type`).
    pub kind: String,
    pub name: String,
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The groups of one Graph response; items that are not groups with an id
/// are reported and skipped.
pub fn read(document: &Document, value: &Value, out: &mut Output) -> Vec<Group> {
    let Some(items) = value.get("value").and_then(Value::as_array) else {
        out.warn(
            &document.id,
            "no `value` array of groups; nothing read".into(),
        );
        return Vec::new();
    };
    let mut groups = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let origin = Origin::new(&document.id, format!("/value/{index}"));
        let Some(object_id) = text(item, "id") else {
            out.warn(
                &document.id,
                format!("group at {} has no id; skipped", origin.reference()),
            );
            continue;
        };
        let name = text(item, "displayName").unwrap_or(object_id).to_string();
        let Some(listed) = item.get("members").and_then(Value::as_array) else {
            out.info(
                &document.id,
                format!(
                    "group {name} ({object_id}) is listed without `members` (query with $expand=members); its members are not known"
                ),
            );
            continue;
        };
        let members: Vec<Member> = listed
            .iter()
            .filter_map(|m| {
                Some(Member {
                    object_id: text(m, "id")?.to_ascii_lowercase(),
                    kind: text(m, "@odata.type")
                        .map(|t| t.trim_start_matches("#microsoft.graph.").to_string())
                        .unwrap_or_default(),
                    name: text(m, "displayName")
                        .or_else(|| text(m, "userPrincipalName"))
                        .unwrap_or_default()
                        .to_string(),
                })
            })
            .collect();
        if members.len() == GRAPH_EXPAND_LIMIT {
            out.warn(
                &document.id,
                format!(
                    "group {name} ({object_id}) lists {GRAPH_EXPAND_LIMIT} members, Graph's limit for $expand=members: \
                     there may be more, and identities beyond them are not shown to inherit the group's roles"
                ),
            );
        }
        groups.push(Group {
            object_id: object_id.to_ascii_lowercase(),
            name,
            members,
            origin,
        });
    }
    groups
}

/// `member-of` edges from each member to its group. Members the identity
/// exports do not describe get a node of their kind, so the edge has ends.
pub fn resolve(groups: &[Group], out: &mut Output) {
    for group in groups {
        let to = principal_id(&group.object_id);
        if !out.has_node(&to) {
            out.node(Node {
                id: to.clone(),
                kind: "group".into(),
                cloud: Cloud::Azure,
                name: group.name.clone(),
                attributes: vec![("present".into(), "true".into())],
                evidence: vec![
                    group
                        .origin
                        .evidence("document", format!("group {}", group.name)),
                ],
            });
        }
        for member in &group.members {
            let from = principal_id(&member.object_id);
            if !out.has_node(&from) {
                let kind = match member.kind.as_str() {
                    "group" => "group",
                    "user" => "user",
                    _ => "cloud-identity",
                };
                out.node(Node {
                    id: from.clone(),
                    kind: kind.into(),
                    cloud: Cloud::Azure,
                    name: if member.name.is_empty() {
                        member.object_id.clone()
                    } else {
                        member.name.clone()
                    },
                    attributes: vec![("present".into(), "false".into())],
                    evidence: vec![
                        group
                            .origin
                            .evidence("document", format!("member of group {}", group.name)),
                    ],
                });
            }
            out.edge(Edge {
                from,
                to: to.clone(),
                kind: "member-of".into(),
                via: format!("Entra ID group {}", group.name),
                evidence: vec![group.origin.evidence(
                    "membership",
                    format!("{} is a member of group {}", member.object_id, group.name),
                )],
            });
        }
    }
}

/// Whether membership of `object_id` was read.
pub fn known(groups: &[Group], object_id: &str) -> bool {
    groups
        .iter()
        .any(|g| g.object_id.eq_ignore_ascii_case(object_id))
}
