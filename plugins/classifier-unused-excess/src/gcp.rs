//! A GCP binding the agent owns, scoped down to a custom role of exactly
//! the observed permissions, bound to the same member on the same resource
//! in place of the old role.
//!
//! The provider spells the grant `{full resource name} IAM binding {role}`
//! (`//cloudresourcemanager.googleapis.com/projects/acme-data IAM binding
//! roles/bigquery.admin`), its resources `[full resource name]`, and the
//! holder, the chain's last hop, `gcp:{member}` (`gcp:serviceAccount:EMAIL`,
//! `gcp:user:…`, `gcp:group:…`, `gcp:principal://…`, `gcp:principalSet://…`),
//! so the member is the hop's id without `gcp:`.

use crate::place::Place;
use crate::render::{comment_text, shell_word};
use scopegraph_artifacts::gcp::{
    Condition, Verb, binding_condition, condition_flag, custom_role_yaml,
};
use scopegraph_sdk::{Artifact, Candidate};
use std::collections::BTreeSet;

pub use scopegraph_artifacts::gcp::{Level, ROLE_ID_MAX, valid_role_id};

/// `scopegraph_{namespace}_{name}_{short id}`, cut to 64 characters.
pub fn role_id(place: &Place) -> String {
    place.slug("scopegraph_", ROLE_ID_MAX)
}

/// The pieces of an owned binding the artifacts need; `None` when the
/// candidate is not shaped as the GCP provider emits grants.
struct Binding<'a> {
    resource: &'a str,
    role: &'a str,
    member: &'a str,
    level: Level,
}

impl<'a> Binding<'a> {
    fn of(candidate: &'a Candidate) -> Option<Binding<'a>> {
        let (resource, role) = candidate.grant.source.rsplit_once(" IAM binding ")?;
        if candidate.resources.iter().all(|r| r != resource) || role.is_empty() {
            return None;
        }
        let member = candidate.chain.last()?.node.strip_prefix("gcp:")?;
        if member.is_empty() {
            return None;
        }
        Some(Binding {
            resource,
            role,
            member,
            level: Level::of(resource)?,
        })
    }
}

/// The custom role (`gcp-role-{short}.yaml`), the script that swaps the
/// binding (`gcp-rebind-{short}.sh`) and, for a binding with an IAM
/// condition, the condition both of its binding commands take
/// (`gcp-condition-{short}.yaml`). `Err` says why there are none: the
/// binding's condition cannot be read, and a replacement without it would
/// grant more than the old binding.
pub fn artifacts(candidate: &Candidate, place: &Place) -> Result<Vec<Artifact>, String> {
    let Some(binding) = Binding::of(candidate) else {
        return Ok(Vec::new());
    };
    let condition =
        binding_condition(candidate).map_err(|why| format!("no GCP script written: {why}"))?;
    let id = role_id(place);
    let role_file = format!("gcp-role-{}.yaml", place.short);
    let condition_file = format!("gcp-condition-{}.yaml", place.short);
    let mut artifacts = vec![Artifact {
        path: place.file(&role_file),
        content: role_yaml(candidate, &binding, &id, &role_file),
    }];
    let conditioned = condition.as_ref().map(|c| (c, condition_file.as_str()));
    if let Some(condition) = &condition {
        artifacts.push(Artifact {
            path: place.file(&condition_file),
            content: condition.file(&format!(
                "the binding of {} to {} on {}",
                binding.role, binding.member, binding.resource
            )),
        });
    }
    artifacts.push(Artifact {
        path: place.file(&format!("gcp-rebind-{}.sh", place.short)),
        content: rebind_script(candidate, &binding, &id, &role_file, conditioned),
    });
    Ok(artifacts)
}

fn sorted_permissions(candidate: &Candidate) -> Vec<&str> {
    let set: BTreeSet<&str> = candidate
        .usage
        .used_permissions
        .iter()
        .map(String::as_str)
        .collect();
    set.into_iter().collect()
}

fn role_yaml(candidate: &Candidate, binding: &Binding, id: &str, file: &str) -> String {
    custom_role_yaml(
        id,
        &binding.level.role_parent(),
        file,
        &format!("{} {} observed use", candidate.agent, binding.role),
        &format!(
            "Permissions of {} that {} exercised on {} over {} observed days (scopegraph unused-excess)",
            binding.role, candidate.agent, binding.resource, candidate.usage.observed_days
        ),
        &sorted_permissions(candidate),
    )
}

/// `condition`: the old binding's condition and the file it is written to.
fn rebind_script(
    candidate: &Candidate,
    binding: &Binding,
    id: &str,
    role_file: &str,
    condition: Option<(&Condition, &str)>,
) -> String {
    let parent = binding.level.role_parent();
    let new_role = parent.role_name(id);
    let member = format!("--member={}", shell_word(binding.member));
    let new_role_flag = parent.role_flag(id);
    let old_role_flag = format!("--role={}", shell_word(binding.role));
    let mut out = String::from("#!/usr/bin/env bash\n");
    out.push_str(&format!(
        "# scopegraph unused-excess, finding {}: {} holds {} on\n# {}\n\
         # and exercised {} of its permissions over {} observed days.\n\
         # This script creates a custom role of exactly those permissions, binds it\n\
         # to the same member on the same resource, then removes the old binding.\n",
        comment_text(&candidate.id),
        comment_text(binding.member),
        comment_text(binding.role),
        comment_text(binding.resource),
        sorted_permissions(candidate).len(),
        candidate.usage.observed_days,
    ));
    if let Some((condition, file)) = condition {
        out.push_str(&format!(
            "# The old binding has an IAM condition (title: {}), which the new one\n\
             # carries: {file}, next to this script.\n",
            comment_text(condition.title.as_deref().unwrap_or_default())
        ));
    }
    out.push_str("set -euo pipefail\n\n");
    out.push_str(&parent.preamble);
    out.push_str(&format!(
        "# 1. The custom role.\n{}\n\n",
        parent.create_command(id, role_file)
    ));
    let commands = match (
        binding.level.binding_command(Verb::Add),
        binding.level.binding_command(Verb::Remove),
    ) {
        (Some(add), Some(remove)) if condition.is_none() || binding.level.takes_condition() => {
            Some((add, remove))
        }
        _ => None,
    };
    let Some((add, remove)) = commands else {
        // No gcloud command, or one that cannot carry the condition.
        let why = if binding.level.binding_command(Verb::Add).is_some() {
            "gcloud's command for"
        } else {
            "No gcloud command edits"
        };
        let cannot = if binding.level.binding_command(Verb::Add).is_some() {
            "#    takes no IAM condition.\n"
        } else {
            ""
        };
        let under = condition
            .map(|(_, file)| format!(" under the condition in {file}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "# 2. {why} the IAM policy of\n#    {}\n{cannot}\
             #    Edit it where it is managed (console, bq, the service's setIamPolicy\n\
             #    API, Terraform): grant {new_role}\n\
             #    to {}{under} and remove {} from it.\n\
             echo \"custom role created; now bind it on the resource by hand (see the comments in $0)\" >&2\n",
            comment_text(binding.resource),
            comment_text(binding.member),
            comment_text(binding.role),
        ));
        return out;
    };
    // GA gcloud pubsub takes no condition flag, not even `None`.
    let flag = if binding.level.takes_condition() {
        format!(" {}", condition_flag(condition.map(|(_, file)| file)))
    } else {
        String::new()
    };
    let (under, which) = if condition.is_some() {
        (
            ", under the old\n#    binding's condition",
            " under that condition (other members\n#    and conditions keep it)",
        )
    } else {
        ("", " (other members keep it)")
    };
    out.push_str(&format!(
        "# 2. Bind the custom role to the same member on the same resource{under}.\n\
         {add} {member} {new_role_flag}{flag}\n\n\
         # 3. Remove the old role's binding for this member{which}.\n\
         {remove} {member} {old_role_flag}{flag}\n"
    ));
    out
}

/// How the files are applied, for the reduction summary.
pub fn how_to_apply(candidate: &Candidate, place: &Place) -> String {
    let under = match binding_condition(candidate) {
        Ok(Some(_)) => format!(
            " under the old binding's IAM condition (gcp-condition-{}.yaml)",
            place.short
        ),
        _ => String::new(),
    };
    format!(
        "run gcp-rebind-{short}.sh: it creates the custom role gcp-role-{short}.yaml \
         (gcloud iam roles create {id} --file=gcp-role-{short}.yaml), binds it to the same member \
         on the same resource{under} and removes the old role's binding",
        short = place.short,
        id = role_id(place)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{artifacts, hop, owned, paths, reduction};
    use scopegraph_sdk::Cloud;

    const PROJECT: &str = "//cloudresourcemanager.googleapis.com/projects/acme-data";
    const GSA: &str = "gcp:serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com";

    /// `roles/bigquery.jobUser` bound to the agent's own GSA on project
    /// acme-data, as provider-gcp emits it (see `examples/demo-org/gcp`).
    fn candidate(resource: &str, role: &str, member: &str) -> Candidate {
        let mut c = owned(
            Cloud::Gcp,
            "prod-gke/analytics/Deployment/bq-agent",
            &[
                "bigquery.config.get",
                "bigquery.jobs.create",
                "resourcemanager.projects.get",
                "resourcemanager.projects.list",
            ],
            &["resourcemanager.projects.get", "bigquery.jobs.create"],
        );
        c.principal = "bq-agent@acme-data.iam.gserviceaccount.com".into();
        c.resources = vec![resource.into()];
        c.grant.source = format!("{resource} IAM binding {role}");
        c.chain = vec![
            hop("k8s:prod-gke/analytics/Deployment/bq-agent", "workload", ""),
            hop(
                "k8s:prod-gke/analytics/ServiceAccount/bq-agent",
                "service-account",
                "spec.serviceAccountName",
            ),
            hop(
                member,
                "cloud-identity",
                "GKE Workload Identity (iam.gke.io/gcp-service-account)",
            ),
        ];
        c
    }

    fn script(c: &Candidate) -> String {
        artifacts(c)
            .into_iter()
            .find(|a| a.path.ends_with(".sh"))
            .expect("a script")
            .content
    }

    #[test]
    fn owned_project_binding_gets_a_custom_role_and_a_rebind_script() {
        let c = candidate(PROJECT, "roles/bigquery.jobUser", GSA);
        let reduction = reduction(&c);
        let artifacts = reduction.artifacts;
        assert_eq!(
            paths(&artifacts),
            [
                "unused-excess/prod-gke/analytics/deployment-bq-agent/gcp-role-5e1f0c2a.yaml",
                "unused-excess/prod-gke/analytics/deployment-bq-agent/gcp-rebind-5e1f0c2a.sh",
            ]
        );
        let role: serde_yaml::Value = serde_yaml::from_str(&artifacts[0].content).expect("YAML");
        let expected = serde_yaml::to_value(serde_json::json!({
            "title": "prod-gke/analytics/Deployment/bq-agent roles/bigquery.jobUser observed use",
            "description": "Permissions of roles/bigquery.jobUser that prod-gke/analytics/Deployment/bq-agent \
                            exercised on //cloudresourcemanager.googleapis.com/projects/acme-data over 14 \
                            observed days (scopegraph unused-excess)",
            "stage": "GA",
            "includedPermissions": ["bigquery.jobs.create", "resourcemanager.projects.get"],
        }))
        .unwrap();
        assert_eq!(role, expected);
        assert!(artifacts[0].content.starts_with(
            "# gcloud iam roles create scopegraph_analytics_bq_agent_5e1f0c2a --project=acme-data \
             --file=gcp-role-5e1f0c2a.yaml\n"
        ));
        assert_eq!(
            artifacts[1].content,
            "#!/usr/bin/env bash
# scopegraph unused-excess, finding 5e1f0c2a9b7d3e41: serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com holds roles/bigquery.jobUser on
# //cloudresourcemanager.googleapis.com/projects/acme-data
# and exercised 2 of its permissions over 14 observed days.
# This script creates a custom role of exactly those permissions, binds it
# to the same member on the same resource, then removes the old binding.
set -euo pipefail

# 1. The custom role.
if gcloud iam roles describe scopegraph_analytics_bq_agent_5e1f0c2a --project=acme-data >/dev/null 2>&1; then gcloud iam roles update scopegraph_analytics_bq_agent_5e1f0c2a --project=acme-data --file=\"$(dirname \"$0\")/gcp-role-5e1f0c2a.yaml\" --quiet; else gcloud iam roles create scopegraph_analytics_bq_agent_5e1f0c2a --project=acme-data --file=\"$(dirname \"$0\")/gcp-role-5e1f0c2a.yaml\"; fi

# 2. Bind the custom role to the same member on the same resource.
gcloud projects add-iam-policy-binding acme-data --member=serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com --role=projects/acme-data/roles/scopegraph_analytics_bq_agent_5e1f0c2a --condition=None

# 3. Remove the old role's binding for this member (other members keep it).
gcloud projects remove-iam-policy-binding acme-data --member=serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com --role=roles/bigquery.jobUser --condition=None
"
        );
        assert!(reduction.summary.ends_with(
            "; run gcp-rebind-5e1f0c2a.sh: it creates the custom role gcp-role-5e1f0c2a.yaml \
             (gcloud iam roles create scopegraph_analytics_bq_agent_5e1f0c2a --file=gcp-role-5e1f0c2a.yaml), \
             binds it to the same member on the same resource and removes the old role's binding"
        ));
    }

    #[test]
    fn role_ids_satisfy_gcps_rule_and_are_deterministic() {
        let mut c = candidate(PROJECT, "roles/bigquery.jobUser", GSA);
        c.agent = format!(
            "prod-gke/data-{}/Deployment/agent.v2-{}",
            "n".repeat(40),
            "x".repeat(40)
        );
        let place = Place::of(&c).unwrap();
        let id = role_id(&place);
        assert_eq!(id.len(), 64);
        assert!(valid_role_id(&id), "{id}");
        assert!(id.starts_with("scopegraph_data_nnn"), "{id}");
        assert!(id.ends_with("_5e1f0c2a"), "{id}");
        assert_eq!(id, role_id(&Place::of(&c).unwrap()));
        assert_eq!(
            role_id(&Place::of(&candidate(PROJECT, "r", GSA)).unwrap()),
            "scopegraph_analytics_bq_agent_5e1f0c2a"
        );
        for bad in ["ab", "a-b-c", "roles/x", &"a".repeat(65), "ab c"] {
            assert!(!valid_role_id(bad), "{bad}");
        }
        for good in ["abc", "a.b_C9", &"a".repeat(64)] {
            assert!(valid_role_id(good), "{good}");
        }
    }

    #[test]
    fn folder_and_organization_bindings_use_their_own_commands() {
        let c = candidate(
            "//cloudresourcemanager.googleapis.com/folders/4417",
            "roles/bigquery.jobUser",
            GSA,
        );
        let s = script(&c);
        assert!(s.contains(
            "ORGANIZATION_ID=\"${ORGANIZATION_ID:?set ORGANIZATION_ID to the organization above folder 4417}\"\n"
        ));
        assert!(s.contains(
            "gcloud iam roles create scopegraph_analytics_bq_agent_5e1f0c2a --organization=\"$ORGANIZATION_ID\" --file="
        ));
        assert!(s.contains(
            "\ngcloud resource-manager folders add-iam-policy-binding 4417 --member=serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com \
             --role=\"organizations/${ORGANIZATION_ID}/roles/scopegraph_analytics_bq_agent_5e1f0c2a\" --condition=None\n"
        ));
        assert!(s.contains(
            "\ngcloud resource-manager folders remove-iam-policy-binding 4417 --member=serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com \
             --role=roles/bigquery.jobUser --condition=None\n"
        ));

        let c = candidate(
            "//cloudresourcemanager.googleapis.com/organizations/1021",
            "roles/bigquery.jobUser",
            GSA,
        );
        let s = script(&c);
        assert!(s.contains("gcloud iam roles create scopegraph_analytics_bq_agent_5e1f0c2a --organization=1021 --file="));
        assert!(s.contains(
            "\ngcloud organizations add-iam-policy-binding 1021 --member=serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com \
             --role=organizations/1021/roles/scopegraph_analytics_bq_agent_5e1f0c2a --condition=None\n"
        ));
        assert!(s.contains("\ngcloud organizations remove-iam-policy-binding 1021 "));
        let role = &artifacts(&c)[0].content;
        assert!(role.starts_with(
            "# gcloud iam roles create scopegraph_analytics_bq_agent_5e1f0c2a --organization=1021 "
        ));
    }

    #[test]
    fn resource_level_bindings_use_the_resource_command_or_say_what_to_edit() {
        let c = candidate(
            "//storage.googleapis.com/projects/_/buckets/acme-reports",
            "roles/storage.objectAdmin",
            GSA,
        );
        let s = script(&c);
        assert!(s.contains(
            "PROJECT_ID=\"${PROJECT_ID:?set PROJECT_ID to the project of the resource}\"\n"
        ));
        assert!(s.contains("gcloud iam roles create scopegraph_analytics_bq_agent_5e1f0c2a --project=\"$PROJECT_ID\" --file="));
        assert!(s.contains(
            "\ngcloud storage buckets add-iam-policy-binding gs://acme-reports --member=serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com \
             --role=\"projects/${PROJECT_ID}/roles/scopegraph_analytics_bq_agent_5e1f0c2a\" --condition=None\n"
        ));
        assert!(s.contains(
            "\ngcloud storage buckets remove-iam-policy-binding gs://acme-reports --member=serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com \
             --role=roles/storage.objectAdmin --condition=None\n"
        ));

        let c = candidate(
            "//iam.googleapis.com/projects/acme-data/serviceAccounts/etl@acme-data.iam.gserviceaccount.com",
            "roles/iam.serviceAccountTokenCreator",
            GSA,
        );
        let s = script(&c);
        assert!(s.contains(
            "\ngcloud iam service-accounts add-iam-policy-binding etl@acme-data.iam.gserviceaccount.com --project=acme-data \
             --member=serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com \
             --role=projects/acme-data/roles/scopegraph_analytics_bq_agent_5e1f0c2a --condition=None\n"
        ));

        // BigQuery datasets have no gcloud IAM command: the script creates the
        // role and says what to edit, without inventing a command.
        let dataset = "//bigquery.googleapis.com/projects/acme-data/datasets/analytics";
        let c = candidate(dataset, "roles/bigquery.dataViewer", GSA);
        let s = script(&c);
        assert!(s.contains("gcloud iam roles create scopegraph_analytics_bq_agent_5e1f0c2a --project=acme-data --file="));
        assert!(s.ends_with(
            "# 2. No gcloud command edits the IAM policy of
#    //bigquery.googleapis.com/projects/acme-data/datasets/analytics
#    Edit it where it is managed (console, bq, the service's setIamPolicy
#    API, Terraform): grant projects/acme-data/roles/scopegraph_analytics_bq_agent_5e1f0c2a
#    to serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com and remove roles/bigquery.dataViewer from it.
echo \"custom role created; now bind it on the resource by hand (see the comments in $0)\" >&2
"
        ));
        assert!(!s.contains("add-iam-policy-binding"));
    }

    #[test]
    fn odd_member_names_are_shell_quoted() {
        let c = candidate(
            PROJECT,
            "roles/bigquery.jobUser",
            "gcp:serviceAccount:acme-data.svc.id.goog[analytics/bq agent's]",
        );
        let s = script(&c);
        assert!(s.contains(
            "\ngcloud projects add-iam-policy-binding acme-data \
             --member='serviceAccount:acme-data.svc.id.goog[analytics/bq agent'\\''s]' \
             --role=projects/acme-data/roles/scopegraph_analytics_bq_agent_5e1f0c2a --condition=None\n"
        ));
        // Comments cannot be ended by a line break in a name.
        let c = candidate(PROJECT, "roles/x\nrm -rf /", GSA);
        let s = script(&c);
        assert!(s.contains("holds roles/x rm -rf / on\n"));
        assert!(s.contains("--role='roles/x\nrm -rf /' --condition=None\n"));
    }

    #[test]
    fn candidates_not_shaped_as_a_binding_get_no_artifacts() {
        let mut c = candidate(PROJECT, "roles/bigquery.jobUser", GSA);
        c.grant.source = "something else".into();
        assert!(artifacts(&c).is_empty());
        let mut c = candidate(PROJECT, "roles/bigquery.jobUser", GSA);
        c.chain.clear();
        assert!(artifacts(&c).is_empty());
        let mut c = candidate(PROJECT, "roles/bigquery.jobUser", GSA);
        c.resources = vec!["//cloudresourcemanager.googleapis.com/projects/other".into()];
        assert!(artifacts(&c).is_empty());
    }

    /// The condition `gcloud projects get-iam-policy --format=json` shows
    /// on a binding of the GSA limited to one dataset, until 2027: quotes,
    /// commas (which `--condition=expression=…,title=…` would split on) and
    /// line breaks.
    const EXPRESSION: &str = "resource.name.startsWith(\"projects/acme-data/datasets/analytics\") &&\n\
                              request.time < timestamp(\"2027-01-01T00:00:00Z\")";

    fn condition() -> Condition {
        Condition {
            expression: EXPRESSION.into(),
            title: Some("analytics, until 2027".into()),
            description: Some("Dataset \"analytics\" only, until 2027".into()),
        }
    }

    /// The candidate of a binding with `condition`, cited as provider-gcp
    /// cites it.
    fn conditioned(resource: &str, condition: &Condition) -> Candidate {
        let mut c = candidate(resource, "roles/bigquery.jobUser", GSA);
        c.evidence.push(crate::testing::evidence(
            scopegraph_artifacts::gcp::BINDING_CONDITION,
            &condition.reference(),
            "the binding of roles/bigquery.jobUser applies only where its condition \"analytics, until 2027\" holds: …",
        ));
        c
    }

    #[test]
    fn a_conditional_binding_is_replaced_under_the_same_condition() {
        let c = conditioned(PROJECT, &condition());
        let reduction = reduction(&c);
        let artifacts = reduction.artifacts;
        assert_eq!(
            paths(&artifacts),
            [
                "unused-excess/prod-gke/analytics/deployment-bq-agent/gcp-role-5e1f0c2a.yaml",
                "unused-excess/prod-gke/analytics/deployment-bq-agent/gcp-condition-5e1f0c2a.yaml",
                "unused-excess/prod-gke/analytics/deployment-bq-agent/gcp-rebind-5e1f0c2a.sh",
            ]
        );
        assert_eq!(
            artifacts[1].content,
            "# The IAM condition of the binding of roles/bigquery.jobUser to serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com on //cloudresourcemanager.googleapis.com/projects/acme-data
# for gcloud's --condition-from-file, exactly as the binding has it.
expression: \"resource.name.startsWith(\\\"projects/acme-data/datasets/analytics\\\") &&\\nrequest.time < timestamp(\\\"2027-01-01T00:00:00Z\\\")\"
title: \"analytics, until 2027\"
description: \"Dataset \\\"analytics\\\" only, until 2027\"
"
        );
        let file: serde_json::Value = serde_yaml::from_str(&artifacts[1].content).unwrap();
        assert_eq!(
            file,
            serde_json::json!({
                "expression": EXPRESSION,
                "title": "analytics, until 2027",
                "description": "Dataset \"analytics\" only, until 2027",
            })
        );
        assert_eq!(
            artifacts[2].content,
            "#!/usr/bin/env bash
# scopegraph unused-excess, finding 5e1f0c2a9b7d3e41: serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com holds roles/bigquery.jobUser on
# //cloudresourcemanager.googleapis.com/projects/acme-data
# and exercised 2 of its permissions over 14 observed days.
# This script creates a custom role of exactly those permissions, binds it
# to the same member on the same resource, then removes the old binding.
# The old binding has an IAM condition (title: analytics, until 2027), which the new one
# carries: gcp-condition-5e1f0c2a.yaml, next to this script.
set -euo pipefail

# 1. The custom role.
if gcloud iam roles describe scopegraph_analytics_bq_agent_5e1f0c2a --project=acme-data >/dev/null 2>&1; then gcloud iam roles update scopegraph_analytics_bq_agent_5e1f0c2a --project=acme-data --file=\"$(dirname \"$0\")/gcp-role-5e1f0c2a.yaml\" --quiet; else gcloud iam roles create scopegraph_analytics_bq_agent_5e1f0c2a --project=acme-data --file=\"$(dirname \"$0\")/gcp-role-5e1f0c2a.yaml\"; fi

# 2. Bind the custom role to the same member on the same resource, under the old
#    binding's condition.
gcloud projects add-iam-policy-binding acme-data --member=serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com --role=projects/acme-data/roles/scopegraph_analytics_bq_agent_5e1f0c2a --condition-from-file=\"$(dirname \"$0\")/gcp-condition-5e1f0c2a.yaml\"

# 3. Remove the old role's binding for this member under that condition (other members
#    and conditions keep it).
gcloud projects remove-iam-policy-binding acme-data --member=serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com --role=roles/bigquery.jobUser --condition-from-file=\"$(dirname \"$0\")/gcp-condition-5e1f0c2a.yaml\"
"
        );
        assert!(
            reduction.summary.ends_with(
                "; run gcp-rebind-5e1f0c2a.sh: it creates the custom role gcp-role-5e1f0c2a.yaml \
                 (gcloud iam roles create scopegraph_analytics_bq_agent_5e1f0c2a --file=gcp-role-5e1f0c2a.yaml), \
                 binds it to the same member on the same resource under the old binding's IAM condition \
                 (gcp-condition-5e1f0c2a.yaml) and removes the old role's binding"
            ),
            "{}",
            reduction.summary
        );
    }

    #[test]
    fn an_unreadable_condition_gets_no_script_and_the_summary_says_why() {
        let mut c = candidate(PROJECT, "roles/bigquery.jobUser", GSA);
        c.evidence.push(crate::testing::evidence(
            scopegraph_artifacts::gcp::BINDING_CONDITION,
            "{\"title\":\"no expression\"}",
            "the binding of roles/bigquery.jobUser has a condition scopegraph cannot read whole: {\"title\":\"no expression\"}",
        ));
        let reduction = reduction(&c);
        assert!(reduction.artifacts.is_empty());
        assert_eq!(
            reduction.summary,
            "remove 2 unused permission(s) from //cloudresourcemanager.googleapis.com/projects/acme-data \
             IAM binding roles/bigquery.jobUser; no GCP script written: the binding's IAM condition cannot \
             be read from its evidence (the binding of roles/bigquery.jobUser has a condition scopegraph \
             cannot read whole: {\"title\":\"no expression\"})"
        );
        // Nor for a condition without a title, which gcloud cannot name.
        let untitled = Condition {
            title: None,
            ..condition()
        };
        let untitled = crate::testing::reduction(&conditioned(PROJECT, &untitled));
        assert!(untitled.artifacts.is_empty());
        assert!(
            untitled
                .summary
                .contains("; no GCP script written: the binding's IAM condition has no title"),
            "{}",
            untitled.summary
        );
    }

    #[test]
    fn a_condition_gcloud_cannot_carry_is_left_to_the_user_with_its_file() {
        // GA gcloud pubsub binds without conditions.
        let topic = "//pubsub.googleapis.com/projects/acme-data/topics/reports";
        let c = conditioned(topic, &condition());
        let s = script(&c);
        assert!(
            s.ends_with(
                "# 2. gcloud's command for the IAM policy of
#    //pubsub.googleapis.com/projects/acme-data/topics/reports
#    takes no IAM condition.
#    Edit it where it is managed (console, bq, the service's setIamPolicy
#    API, Terraform): grant projects/acme-data/roles/scopegraph_analytics_bq_agent_5e1f0c2a
#    to serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com under the condition in gcp-condition-5e1f0c2a.yaml and remove roles/bigquery.jobUser from it.
echo \"custom role created; now bind it on the resource by hand (see the comments in $0)\" >&2
"
            ),
            "{s}"
        );
        assert!(!s.contains("add-iam-policy-binding"), "{s}");
        assert!(
            paths(&artifacts(&c))
                .iter()
                .any(|p| p.ends_with("/gcp-condition-5e1f0c2a.yaml"))
        );
        // Without a condition, gcloud pubsub binds as before (it takes no
        // --condition=None either).
        let s = script(&candidate(topic, "roles/pubsub.publisher", GSA));
        assert!(s.contains(
            "\ngcloud pubsub topics add-iam-policy-binding reports --project=acme-data \
             --member=serviceAccount:bq-agent@acme-data.iam.gserviceaccount.com \
             --role=projects/acme-data/roles/scopegraph_analytics_bq_agent_5e1f0c2a\n"
        ));
        // A dataset, which no gcloud command edits.
        let dataset = "//bigquery.googleapis.com/projects/acme-data/datasets/analytics";
        let s = script(&conditioned(dataset, &condition()));
        assert!(
            s.contains(
                "# 2. No gcloud command edits the IAM policy of
#    //bigquery.googleapis.com/projects/acme-data/datasets/analytics
#    Edit it where it is managed"
            ),
            "{s}"
        );
        assert!(s.contains(" under the condition in gcp-condition-5e1f0c2a.yaml and remove "));
    }
}
