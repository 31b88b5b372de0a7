//! One grant per (member, binding, resource): the member's node holds the
//! binding's role, expanded to permissions, on the resource the policy is
//! attached to. Descendants of an organization, folder or project are
//! covered by inheritance; the grant names the resource it is attached to
//! and its evidence lists the projects below it that the snapshot knows.

use crate::federation::{Holders, consumed_by_workload_identity};
use crate::hierarchy::Scope;
use crate::input::{Binding, RawCondition};
use crate::members::Member;
use crate::model::{Policy, World};
use crate::output::Output;
use crate::roles::Expansion;
use scopegraph_sdk::spelling::{json_str, one_line};
use scopegraph_sdk::{Cloud, Effect, EvidenceRef, Grant};
use std::collections::HashSet;

pub fn resolve(world: &World, holders: &mut Holders, out: &mut Output) {
    for policy in &world.policies {
        let inherited = inheritance(world, policy);
        for binding in &policy.bindings {
            let source = binding.source(&policy.resource);
            let document = binding.binding.origin.document.as_str();
            let mut role_evidence = Vec::new();
            let permissions: Vec<String> = match &binding.expansion {
                Expansion::Known {
                    permissions,
                    described,
                } => {
                    if let Some(described) = described {
                        role_evidence.push(described.evidence(
                            "document",
                            format!(
                                "role {} includes {} permissions",
                                binding.binding.role,
                                permissions.len()
                            ),
                        ));
                    }
                    permissions.to_vec()
                }
                Expansion::Unknown => {
                    out.warn(
                        document,
                        format!(
                            "{source}: role {} is neither in the predefined-role catalogue nor described in the snapshot (add `gcloud iam roles describe {} --format=json`); its grants keep the role name as their only permission",
                            binding.binding.role, binding.binding.role
                        ),
                    );
                    vec![binding.binding.role.clone()]
                }
                Expansion::Nothing(reason) => {
                    out.info(document, format!("{source}: {reason}; no grant"));
                    continue;
                }
            };
            let conditions: Vec<String> = binding.binding.condition.iter().cloned().collect();
            let mut seen = HashSet::new();
            for (index, raw) in binding.binding.members.iter().enumerate() {
                if !seen.insert(raw.as_str()) {
                    continue;
                }
                let member = Member::parse(raw);
                if consumed_by_workload_identity(&member, &binding.binding.role, &policy.resource) {
                    continue;
                }
                let origin = binding.binding.origin.child(&format!("/members/{index}"));
                let Some(holder) = holders.holder(out, raw, &source, &origin) else {
                    continue;
                };
                let mut evidence = vec![origin.evidence(
                    "binding",
                    format!(
                        "{raw} holds {} on {}{}",
                        binding.binding.role,
                        policy.resource.full_name,
                        binding.condition_suffix()
                    ),
                )];
                evidence.extend(role_evidence.iter().cloned());
                evidence.extend(inherited.iter().cloned());
                evidence.extend(condition_evidence(&binding.binding));
                out.grant(Grant {
                    id: format!(
                        "{}#bindings/{}/{raw}",
                        policy.resource.full_name,
                        binding.index()
                    ),
                    holder,
                    cloud: Cloud::Gcp,
                    permissions: permissions.clone(),
                    resources: vec![policy.resource.full_name.clone()],
                    effect: Effect::Allow,
                    source: source.clone(),
                    conditions: conditions.clone(),
                    evidence,
                });
            }
        }
    }
}

/// Evidence of the binding's IAM condition, for a binding that replaces it
/// to carry: kind `binding-condition`, its reference the JSON object
/// `{"expression":…,"title":…,"description":…}` (in this order, no spaces,
/// `null` for a title or description the condition lacks, every string as
/// the policy has it), which `scopegraph-artifacts` reads back
/// (`gcp::Condition::parse`); for a condition that cannot be read, the
/// condition's own JSON text, which does not read back.
fn condition_evidence(binding: &Binding) -> Option<EvidenceRef> {
    let nullable = |value: &Option<String>| value.as_deref().map_or("null".into(), json_str);
    let (reference, summary) = match binding.raw_condition.as_ref()? {
        RawCondition::Read {
            expression,
            title,
            description,
        } => (
            format!(
                "{{\"expression\":{},\"title\":{},\"description\":{}}}",
                json_str(expression),
                nullable(title),
                nullable(description)
            ),
            format!(
                "the binding of {} applies only where its condition{} holds: {}",
                binding.role,
                title
                    .as_deref()
                    .map(|t| format!(" \"{}\"", one_line(t)))
                    .unwrap_or_default(),
                one_line(expression)
            ),
        ),
        RawCondition::Unreadable(text) => (
            text.clone(),
            format!(
                "the binding of {} has a condition scopegraph cannot read whole: {}",
                binding.role,
                one_line(text)
            ),
        ),
    };
    Some(EvidenceRef {
        kind: "binding-condition".into(),
        reference,
        summary,
    })
}

/// For a binding on an organization or folder: the projects below it, and
/// where the snapshot places each there.
fn inheritance(world: &World, policy: &Policy) -> Vec<EvidenceRef> {
    let Scope::Container(container) = &policy.resource.scope else {
        return Vec::new();
    };
    if container.starts_with("projects/") {
        return Vec::new();
    }
    world
        .hierarchy
        .projects_below(container)
        .into_iter()
        .filter_map(|project| {
            let (parent, origin) = world.hierarchy.ancestors(&project).into_iter().next()?;
            Some(origin.evidence(
                "document",
                format!("{project} (under {parent}) inherits the bindings of {container}"),
            ))
        })
        .collect()
}
