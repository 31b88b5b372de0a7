//! Impersonation: whoever holds `iam.serviceAccounts.getAccessToken` on a
//! service account (`roles/iam.serviceAccountTokenCreator`,
//! `roles/iam.workloadIdentityUser`, or any role including it, on the
//! account itself or on its project, folder or organization) can mint that
//! account's tokens.

use crate::federation::{consumed_by_workload_identity, node_id};
use crate::members::{Member, service_account_id};
use crate::model::World;
use crate::output::Output;
use crate::roles::GET_ACCESS_TOKEN;
use std::collections::HashSet;

pub fn resolve(world: &World, out: &mut Output) {
    for policy in &world.policies {
        for binding in &policy.bindings {
            if !binding.expansion.allows(GET_ACCESS_TOKEN) {
                continue;
            }
            let targets = world.covered(&policy.resource);
            if targets.is_empty() {
                continue;
            }
            let via = format!(
                "{}{}",
                binding.source(&policy.resource),
                binding.condition_suffix()
            );
            let mut seen = HashSet::new();
            for (index, raw) in binding.binding.members.iter().enumerate() {
                if !seen.insert(raw.as_str()) {
                    continue;
                }
                let member = Member::parse(raw);
                if consumed_by_workload_identity(&member, &binding.binding.role, &policy.resource) {
                    continue;
                }
                let Some(from) = node_id(&member) else {
                    continue;
                };
                // A federated principal allowed to act as the account by
                // `roles/iam.workloadIdentityUser` is Workload Identity
                // Federation's designed last step, like GKE's KSA -> GSA:
                // the account is the workload's identity (owned when no
                // other workload reaches it), not one it borrows.
                let kind = if matches!(member, Member::Principal(_) | Member::PrincipalSet(_))
                    && binding.binding.role == crate::roles::WORKLOAD_IDENTITY_USER
                {
                    "federates-to"
                } else {
                    "impersonates"
                };
                let origin = binding.binding.origin.child(&format!("/members/{index}"));
                for target in &targets {
                    let to = service_account_id(target);
                    if to == from {
                        continue;
                    }
                    out.edge(
                        from.clone(),
                        to,
                        kind,
                        via.clone(),
                        vec![origin.evidence(
                            "binding",
                            format!(
                                "{raw} holds {} on {}, which covers {target}",
                                binding.binding.role, policy.resource.full_name
                            ),
                        )],
                    );
                }
            }
        }
    }
}
