//! The dedicated cloud identity an inherited cloud grant moves to: an IAM
//! role, a Google service account or a managed identity of the agent's own,
//! federated to its dedicated Kubernetes ServiceAccount only, carrying the
//! inherited grant's permissions (only the observed ones when usage shows
//! any), as files the user applies.
//!
//! The identity is the agent's, not the grant's: its name derives from the
//! agent id alone, and each grant's script adds that grant's permissions to
//! it (creating it when it does not exist yet), so every inherited grant of
//! one agent lands on the one identity its ServiceAccount is annotated with.
//! When a fact the files need is missing from the candidate's `context`, no
//! script is written for that cloud and [`Dedicated::missing`] says what is
//! missing.

use scopegraph_artifacts::text::{comment_text, shell_word, slug, truncate};
use scopegraph_artifacts::{aws, azure, gcp};
use scopegraph_sdk::spelling::{AgentId, short_hash};
use scopegraph_sdk::{Artifact, Candidate, Cloud};
use std::collections::BTreeSet;

/// Where the files go and who they are for.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub agent: &'a AgentId<'a>,
    /// `inherited-overreach/{cluster}/{namespace}/{kind}-{name}`.
    pub dir: &'a str,
    /// The candidate id's first 8 characters.
    pub short: &'a str,
    /// The dedicated ServiceAccount the identity is federated to.
    pub service_account: &'a str,
    /// Whether that ServiceAccount is new (`serviceaccount.yaml`).
    pub new_service_account: bool,
    /// Whether `workload-patch.yaml` moves the workload onto it.
    pub workload_patch: bool,
}

impl Target<'_> {
    fn file(&self, name: &str) -> String {
        format!("{}/{name}", self.dir)
    }

    /// `system:serviceaccount:NS:SA`, the subject of its tokens.
    fn subject(&self) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.agent.namespace, self.service_account
        )
    }
}

/// What was written for one inherited cloud grant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dedicated {
    pub artifacts: Vec<Artifact>,
    /// How the files are applied (reduction summary, upstream plan).
    pub how: String,
    /// Why no files were written: the facts that are missing.
    pub missing: Option<String>,
}

impl Dedicated {
    fn missing(text: String) -> Dedicated {
        Dedicated {
            missing: Some(text),
            ..Dedicated::default()
        }
    }
}

/// The permissions the dedicated identity carries: the observed ones when
/// usage shows any, else the whole grant.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Carried {
    permissions: Vec<String>,
    narrowed: bool,
}

impl Carried {
    fn of(candidate: &Candidate) -> Carried {
        let used = &candidate.usage.used_permissions;
        let (list, narrowed) = if used.is_empty() {
            (&candidate.permissions, false)
        } else {
            (used, true)
        };
        let set: BTreeSet<&String> = list.iter().collect();
        Carried {
            permissions: set.into_iter().cloned().collect(),
            narrowed,
        }
    }

    /// For the summary and the scripts' headers.
    fn describe(&self, candidate: &Candidate) -> String {
        if self.narrowed {
            format!(
                "the {} permission(s) of the grant it was observed using over {} day(s)",
                self.permissions.len(),
                candidate.usage.observed_days
            )
        } else {
            format!(
                "the whole grant ({} permission(s); no use observed, so unused excess can trim it once usage is observed)",
                self.permissions.len()
            )
        }
    }
}

/// The files for an inherited cloud grant; nothing for Kubernetes grants.
pub fn dedicated(candidate: &Candidate, target: &Target<'_>) -> Dedicated {
    if candidate.permissions.is_empty() {
        return Dedicated::default();
    }
    match candidate.cloud {
        Cloud::Aws => aws_role(candidate, target),
        Cloud::Gcp => gcp_account(candidate, target),
        Cloud::Azure => azure_identity(candidate, target),
        Cloud::Kubernetes => Dedicated::default(),
    }
}

/// Eight hex digits of the agent id: the dedicated identity's names are the
/// agent's, the same for every grant and run.
fn agent_hash(candidate: &Candidate) -> String {
    short_hash(&[&candidate.agent])
}

/// `scopegraph-{namespace}-{name}-{agent hash}`, at most 64 characters of
/// `[A-Za-z0-9-]`: a valid IAM role name.
pub fn aws_role_name(candidate: &Candidate, agent: &AgentId<'_>) -> String {
    slug(
        "scopegraph-",
        &[agent.namespace, agent.name],
        &agent_hash(candidate),
        '-',
        64,
    )
}

/// `sg-{name}-{agent hash}`, lower-cased, cut to GCP's 30 characters: a
/// valid service account id (`[a-z][a-z0-9-]*[a-z0-9]`, 6 to 30).
pub fn gcp_account_id(candidate: &Candidate, agent: &AgentId<'_>) -> String {
    slug(
        "sg-",
        &[&agent.name.to_ascii_lowercase()],
        &agent_hash(candidate),
        '-',
        30,
    )
}

/// `id-{namespace}-{name}-{agent hash}`: a valid user-assigned managed
/// identity name (3 to 128 of `[A-Za-z0-9_-]`, starting alphanumeric).
pub fn azure_identity_name(candidate: &Candidate, agent: &AgentId<'_>) -> String {
    slug(
        "id-",
        &[agent.namespace, agent.name],
        &agent_hash(candidate),
        '-',
        128,
    )
}

/// `scopegraph_{namespace}_{name}_{short}`: a custom role per grant (GCP
/// role id, Azure role name).
fn custom_role_name(agent: &AgentId<'_>, short: &str) -> String {
    slug(
        "scopegraph_",
        &[agent.namespace, agent.name],
        short,
        '_',
        gcp::ROLE_ID_MAX,
    )
}

fn header(candidate: &Candidate, what: &str, carried: &Carried) -> String {
    let holder = candidate
        .chain
        .last()
        .map(|hop| hop.node.as_str())
        .unwrap_or_default();
    format!(
        "#!/usr/bin/env bash\n\
         # scopegraph inherited-overreach, finding {}: {} inherits\n\
         # {}\n\
         # from {} ({}).\n\
         # This script gives it {what},\n\
         # carrying {}.\n\
         # Every inherited grant of this agent adds to the same identity; the upstream\n\
         # binding stays in place until you remove it (upstream-{}.txt).\n\
         # Run it with kubectl's context set to cluster {}.\n\
         set -euo pipefail\n\n",
        comment_text(&candidate.id),
        comment_text(&candidate.agent),
        comment_text(&candidate.grant.source),
        comment_text(holder),
        comment_text(&candidate.grant.mechanisms.join(", ")),
        comment_text(&carried.describe(candidate)),
        comment_text(&candidate.id.chars().take(8).collect::<String>()),
        comment_text(
            AgentId::parse(&candidate.agent)
                .map(|a| a.cluster)
                .unwrap_or_default()
        ),
    )
}

/// The Kubernetes side: the ServiceAccount (when new) annotated with the
/// identity, the workload moved onto it, extra patches, and a restart.
fn kubernetes_steps(
    target: &Target<'_>,
    step: usize,
    annotation: &str,
    extra_patches: &[&str],
) -> String {
    let ns = shell_word(target.agent.namespace);
    let kind = target.agent.kind.to_ascii_lowercase();
    let name = shell_word(target.agent.name);
    let mut out = format!(
        "# {step}. Federate ServiceAccount {}/{} to it and restart the pods onto it.\n",
        comment_text(target.agent.namespace),
        comment_text(target.service_account)
    );
    if target.new_service_account {
        out.push_str("kubectl apply -f \"$(dirname \"$0\")/serviceaccount.yaml\"\n");
    }
    out.push_str(&format!(
        "kubectl -n {ns} annotate --overwrite serviceaccount {} {annotation}\n",
        shell_word(target.service_account)
    ));
    let mut patches: Vec<&str> = Vec::new();
    if target.workload_patch {
        patches.push("workload-patch.yaml");
    }
    patches.extend_from_slice(extra_patches);
    for patch in patches {
        out.push_str(&format!(
            "kubectl -n {ns} patch {kind} {name} --patch-file \"$(dirname \"$0\")/{patch}\"\n"
        ));
    }
    match target.agent.kind {
        "Deployment" | "StatefulSet" | "DaemonSet" => {
            out.push_str(&format!("kubectl -n {ns} rollout restart {kind} {name}\n"));
        }
        _ => out.push_str(&format!(
            "# {} pods pick the identity up when they are next created.\n",
            comment_text(target.agent.kind)
        )),
    }
    out
}

// ------------------------------------------------------------------- AWS

fn aws_role(candidate: &Candidate, target: &Target<'_>) -> Dedicated {
    let holder = candidate
        .chain
        .last()
        .and_then(|hop| hop.node.strip_prefix("aws:"))
        .and_then(aws::Arn::parse)
        .filter(|arn| arn.service == "iam" && arn.resource.starts_with("role/"));
    let Some(holder) = holder else {
        return Dedicated::missing(format!(
            "no dedicated IAM role written: the grant's holder ({}) is not an IAM role, so its account is unknown",
            candidate
                .chain
                .last()
                .map(|hop| hop.node.as_str())
                .unwrap_or("none")
        ));
    };
    let issuer = ["eks:oidc-issuer", "gke:oidc-issuer", "aks:oidc-issuer"]
        .iter()
        .find_map(|key| candidate.context(key).map(|value| (*key, value)));
    let Some((issuer_key, issuer)) = issuer else {
        return Dedicated::missing(format!(
            "no dedicated IAM role written: the snapshot has no OIDC issuer for cluster {} \
             (eks:oidc-issuer, gke:oidc-issuer or aks:oidc-issuer; add the cluster's description, \
             e.g. aws eks describe-cluster)",
            target.agent.cluster
        ));
    };
    let Some(host_path) = aws::issuer_host_path(issuer) else {
        return Dedicated::missing(format!(
            "no dedicated IAM role written: the OIDC issuer of cluster {} ({issuer_key} = {issuer}) \
             is not an https URL",
            target.agent.cluster
        ));
    };
    let carried = Carried::of(candidate);
    let resources = if carried.narrowed && !candidate.usage.used_resources.is_empty() {
        aws::generalise(&candidate.usage.used_resources)
    } else {
        candidate.resources.clone()
    };
    if resources.is_empty() {
        return Dedicated::missing(
            "no dedicated IAM role written: the grant names no resources".to_string(),
        );
    }
    let role = aws_role_name(candidate, target.agent);
    let role_arn = format!(
        "arn:{}:iam::{}:role/{role}",
        holder.partition, holder.account
    );
    let provider = aws::oidc_provider_arn(holder.partition, holder.account, host_path);
    let trust_file = format!("aws-role-trust-{}.json", target.short);
    let policy_file = format!("aws-role-policy-{}.json", target.short);
    let script_file = format!("aws-dedicated-{}.sh", target.short);
    let policy_name = format!("carried-{}", shell_safe(target.short));
    let description = truncate(
        &format!(
            "scopegraph: dedicated role of {} (ServiceAccount {}/{})",
            candidate.agent, target.agent.namespace, target.service_account
        ),
        1000,
    );
    let mut script = header(
        candidate,
        &format!(
            "its own IAM role {role}, trusted only by ServiceAccount {}/{}",
            target.agent.namespace, target.service_account
        ),
        &carried,
    );
    if issuer_key != "eks:oidc-issuer" {
        script.push_str(&format!(
            "# The cluster is not EKS: its pods get the role through a projected ServiceAccount\n\
             # token of audience {} (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE), e.g. with\n\
             # the amazon-eks-pod-identity-webhook, which reads the annotation of step 4.\n\n",
            aws::STS_AUDIENCE
        ));
    }
    script.push_str(&format!(
        "# 1. Account {account} needs an IAM OIDC provider for the cluster's issuer. If\n\
         #    aws iam list-open-id-connect-providers does not list\n\
         #    {provider_comment}\n\
         #    create it:\n\
         # aws iam create-open-id-connect-provider --url {url} --client-id-list {aud}\n\n\
         # 2. The role, trusted only by the ServiceAccount (skipped when it exists).\n\
         aws iam get-role --role-name {role_word} >/dev/null 2>&1 ||\n  \
         aws iam create-role --role-name {role_word} --assume-role-policy-document \"file://$(dirname \"$0\")/{trust_file}\" --description {description}\n\n\
         # 3. The grant's permissions, as an inline policy of the role.\n\
         aws iam put-role-policy --role-name {role_word} --policy-name {policy_name} --policy-document \"file://$(dirname \"$0\")/{policy_file}\"\n\n",
        account = comment_text(holder.account),
        provider_comment = comment_text(&provider),
        url = shell_word(issuer),
        aud = aws::STS_AUDIENCE,
        role_word = shell_word(&role),
        description = shell_word(&description),
    ));
    script.push_str(&kubernetes_steps(
        target,
        4,
        &shell_word(&format!("eks.amazonaws.com/role-arn={role_arn}")),
        &[],
    ));
    let how = format!(
        "run {script_file}: it creates IAM role {role} ({trust_file}: only ServiceAccount {}/{} through {issuer} \
         may assume it) with {policy_file}, {}, and annotates the ServiceAccount with it",
        target.agent.namespace,
        target.service_account,
        carried.describe(candidate)
    );
    Dedicated {
        artifacts: vec![
            Artifact {
                path: target.file(&trust_file),
                content: aws::web_identity_trust_policy(&provider, host_path, &target.subject()),
            },
            Artifact {
                path: target.file(&policy_file),
                content: aws::identity_policy("CarriedGrant", &carried.permissions, &resources),
            },
            Artifact {
                path: target.file(&script_file),
                content: script,
            },
        ],
        how,
        missing: None,
    }
}

/// `value` with every character outside `[A-Za-z0-9_-]` replaced by `_`.
fn shell_safe(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

// ------------------------------------------------------------------- GCP

fn gcp_account(candidate: &Candidate, target: &Target<'_>) -> Dedicated {
    let Some(pool) = candidate
        .context("gke:workload-pool")
        .filter(|p| !p.is_empty())
    else {
        return Dedicated::missing(format!(
            "no dedicated Google service account written: the snapshot has no workload pool for \
             cluster {} (gke:workload-pool; add the GKE cluster's description with Workload Identity \
             enabled — a cluster outside GKE needs Workload Identity Federation, which scopegraph does not write)",
            target.agent.cluster
        ));
    };
    let project = candidate
        .context("gke:project")
        .or_else(|| pool.strip_suffix(".svc.id.goog"))
        .filter(|p| !p.is_empty());
    let Some(project) = project else {
        return Dedicated::missing(format!(
            "no dedicated Google service account written: the project of cluster {} is unknown (gke:project)",
            target.agent.cluster
        ));
    };
    let binding = candidate
        .grant
        .source
        .rsplit_once(" IAM binding ")
        .filter(|(resource, role)| !role.is_empty() && !resource.is_empty())
        .and_then(|(resource, role)| Some((resource, role, gcp::Level::of(resource)?)));
    let Some((resource, role, level)) = binding else {
        return Dedicated::missing(format!(
            "no dedicated Google service account written: the grant `{}` is not spelled \
             `RESOURCE IAM binding ROLE`",
            candidate.grant.source
        ));
    };
    // The inherited binding's condition goes with the new one: without it,
    // the service account would be granted more than the agent inherits.
    let condition = match gcp::binding_condition(candidate) {
        Ok(condition) => condition,
        Err(why) => {
            return Dedicated::missing(format!(
                "no dedicated Google service account written: {why}"
            ));
        }
    };
    let carried = Carried::of(candidate);
    let account_id = gcp_account_id(candidate, target.agent);
    let email = format!("{account_id}@{project}.iam.gserviceaccount.com");
    let member = format!("serviceAccount:{email}");
    let ksa_member = format!(
        "serviceAccount:{pool}[{}/{}]",
        target.agent.namespace, target.service_account
    );
    let script_file = format!("gcp-dedicated-{}.sh", target.short);
    let role_file = format!("gcp-role-{}.yaml", target.short);
    let condition_file = format!("gcp-condition-{}.yaml", target.short);
    let mut artifacts = Vec::new();
    let mut script = header(
        candidate,
        &format!(
            "its own Google service account {email}, which only ServiceAccount {}/{} can act as",
            target.agent.namespace, target.service_account
        ),
        &carried,
    );
    let project_flag = format!("--project={}", shell_word(project));
    script.push_str(&format!(
        "# 1. The Google service account, in the cluster's project (skipped when it exists).\n\
         gcloud iam service-accounts describe {email_word} {project_flag} >/dev/null 2>&1 ||\n  \
         gcloud iam service-accounts create {id} {project_flag} --display-name={display}\n\n\
         # 2. Let ServiceAccount {ns}/{ksa} act as it (GKE Workload Identity).\n\
         gcloud iam service-accounts add-iam-policy-binding {email_word} {project_flag} --role={wi} --member={ksa_member}\n\n",
        email_word = shell_word(&email),
        id = shell_word(&account_id),
        display = shell_word(&truncate(&format!("scopegraph: {}", candidate.agent), 100)),
        ns = comment_text(target.agent.namespace),
        ksa = comment_text(target.service_account),
        wi = gcp::WORKLOAD_IDENTITY_USER,
        ksa_member = shell_word(&ksa_member),
    ));
    let role_flag = if carried.narrowed {
        let id = custom_role_name(target.agent, target.short);
        let parent = level.role_parent();
        let permissions: Vec<&str> = carried.permissions.iter().map(String::as_str).collect();
        artifacts.push(Artifact {
            path: target.file(&role_file),
            content: gcp::custom_role_yaml(
                &id,
                &parent,
                &role_file,
                &format!("{} {role} carried use", candidate.agent),
                &format!(
                    "Permissions of {role} on {resource} that {} was observed using, carried to its own service account (scopegraph inherited-overreach)",
                    candidate.agent
                ),
                &permissions,
            ),
        });
        script.push_str(&parent.preamble);
        script.push_str(&format!(
            "# 3. A custom role of the permissions it was observed using.\n{}\n\n",
            parent.create_command(&id, &role_file)
        ));
        parent.role_flag(&id)
    } else {
        script.push_str("# 3. No use observed: the same role as the inherited binding.\n\n");
        format!("--role={}", shell_word(role))
    };
    let under = if condition.is_some() {
        format!(" under the condition in {condition_file}")
    } else {
        String::new()
    };
    match level.binding_command(gcp::Verb::Add) {
        Some(add) if condition.is_none() || level.takes_condition() => {
            let heading = match &condition {
                Some(_) => {
                    "# 4. Grant it on the same resource, under the inherited binding's condition."
                }
                None => "# 4. Grant it on the same resource.",
            };
            // GA gcloud pubsub takes no condition flag, not even `None`.
            let flag = if level.takes_condition() {
                format!(
                    " {}",
                    gcp::condition_flag(condition.as_ref().map(|_| condition_file.as_str()))
                )
            } else {
                String::new()
            };
            script.push_str(&format!(
                "{heading}\n{add} --member={} {role_flag}{flag}\n\n",
                shell_word(&member)
            ));
        }
        add => script.push_str(&format!(
            "# 4. {} the IAM policy of\n#    {}\n{}\
             #    Edit it where it is managed (console, bq, the service's setIamPolicy\n\
             #    API, Terraform): grant {} to {}{under}.\n\
             echo \"grant the role on the resource by hand (see step 4 in $0)\" >&2\n\n",
            if add.is_some() {
                "gcloud's command for"
            } else {
                "No gcloud command edits"
            },
            comment_text(resource),
            if add.is_some() {
                "#    takes no IAM condition.\n"
            } else {
                ""
            },
            comment_text(role_flag.trim_start_matches("--role=").trim_matches('"')),
            comment_text(&member),
        )),
    }
    script.push_str(&kubernetes_steps(
        target,
        5,
        &shell_word(&format!("iam.gke.io/gcp-service-account={email}")),
        &[],
    ));
    if let Some(condition) = &condition {
        artifacts.push(Artifact {
            path: target.file(&condition_file),
            content: condition.file(&format!("the inherited binding {}", candidate.grant.source)),
        });
    }
    artifacts.push(Artifact {
        path: target.file(&script_file),
        content: script,
    });
    let role_text = if carried.narrowed {
        format!(
            "a custom role {role_file} of {}",
            carried.describe(candidate)
        )
    } else {
        format!("{role}, {}", carried.describe(candidate))
    };
    let condition_text = if condition.is_some() {
        format!(" under the inherited binding's IAM condition ({condition_file})")
    } else {
        String::new()
    };
    Dedicated {
        artifacts,
        how: format!(
            "run {script_file}: it creates Google service account {email} that only ServiceAccount {}/{} can act as, \
             grants it {role_text} on {resource}{condition_text}, and annotates the ServiceAccount with it",
            target.agent.namespace, target.service_account
        ),
        missing: None,
    }
}

// ----------------------------------------------------------------- Azure

fn azure_identity(candidate: &Candidate, target: &Target<'_>) -> Dedicated {
    let issuer = candidate
        .context("aks:oidc-issuer")
        .filter(|i| !i.is_empty());
    let group = candidate
        .context("aks:resource-id")
        .and_then(azure::resource_group);
    let (issuer, (subscription, group)) = match (issuer, group) {
        (Some(issuer), Some(group)) => (issuer, group),
        (issuer, group) => {
            let mut absent = Vec::new();
            if issuer.is_none() {
                absent
                    .push("OIDC issuer (aks:oidc-issuer; the cluster needs --enable-oidc-issuer)");
            }
            if group.is_none() {
                absent.push("resource group (aks:resource-id)");
            }
            return Dedicated::missing(format!(
                "no dedicated managed identity written: the snapshot has no {} for cluster {} \
                 (add the AKS cluster's description, az aks show)",
                absent.join(" and no "),
                target.agent.cluster
            ));
        }
    };
    let Some(scope) = candidate.resources.first().filter(|s| !s.is_empty()) else {
        return Dedicated::missing(
            "no dedicated managed identity written: the grant names no scope".to_string(),
        );
    };
    // The inherited assignment's condition goes with the new one: without
    // it, the identity would be granted more than the agent inherits.
    let condition = match azure::assignment_condition(candidate) {
        Ok(condition) => condition,
        Err(why) => {
            return Dedicated::missing(format!("no dedicated managed identity written: {why}"));
        }
    };
    let carried = Carried::of(candidate);
    let built_in = azure::built_in_role(candidate).filter(|_| !carried.narrowed);
    let plane = azure::Plane::of(candidate);
    let name = azure_identity_name(candidate, target.agent);
    let credential = slug(
        "sg-",
        &[
            target.agent.cluster,
            target.agent.namespace,
            target.service_account,
        ],
        &agent_hash(candidate),
        '-',
        120,
    );
    let where_ = format!(
        "--resource-group {} --subscription {}",
        shell_word(group),
        shell_word(subscription)
    );
    let script_file = format!("azure-dedicated-{}.sh", target.short);
    let role_file = format!("azure-role-{}.json", target.short);
    let patch_file = "azure-workload-patch.yaml";
    let mut artifacts = Vec::new();
    let mut script = header(
        candidate,
        &format!(
            "its own managed identity {name}, federated to ServiceAccount {}/{} only",
            target.agent.namespace, target.service_account
        ),
        &carried,
    );
    script.push_str(&format!(
        "# 1. The managed identity, in the cluster's resource group (create or update).\n\
         az identity create --name {name_word} {where_}\n\
         CLIENT_ID=\"$(az identity show --name {name_word} {where_} --query clientId --output tsv)\"\n\
         PRINCIPAL_ID=\"$(az identity show --name {name_word} {where_} --query principalId --output tsv)\"\n\n\
         # 2. Trust tokens of ServiceAccount {ns}/{sa} from the cluster's OIDC issuer.\n\
         az identity federated-credential create --name {credential} --identity-name {name_word} {where_} --issuer {issuer} --subject {subject} --audiences {audience}\n\n",
        name_word = shell_word(&name),
        ns = comment_text(target.agent.namespace),
        sa = comment_text(target.service_account),
        credential = shell_word(&credential),
        issuer = shell_word(issuer),
        subject = shell_word(&target.subject()),
        audience = azure::TOKEN_EXCHANGE_AUDIENCE,
    ));
    let role = match (built_in, plane) {
        (Some(guid), _) => {
            script.push_str(
                "# 3. No use observed: the same built-in role as the inherited assignment.\n\n",
            );
            guid.to_string()
        }
        (None, Some(plane)) => {
            if let Some(block) = azure::role_condition(candidate) {
                return Dedicated::missing(format!(
                    "no dedicated managed identity written: a custom role cannot carry the condition of \
                     the role's permission block ({}), so it would grant the block's operations without it",
                    block.summary
                ));
            }
            // Azure takes no resource as a custom role's assignable scope.
            let Some(assignable) = azure::assignable_scope(scope) else {
                return Dedicated::missing(format!(
                    "no dedicated managed identity written: no custom role can be assignable at {scope} \
                     (Azure takes only a management group, subscription or resource group as a custom \
                     role's AssignableScopes)"
                ));
            };
            let role_name = custom_role_name(target.agent, target.short);
            let (actions, data_actions) = match plane {
                azure::Plane::Actions => (carried.permissions.as_slice(), &[][..]),
                azure::Plane::DataActions => (&[][..], carried.permissions.as_slice()),
            };
            artifacts.push(Artifact {
                path: target.file(&role_file),
                content: azure::role_definition(
                    &role_name,
                    &format!(
                        "Operations of role assignment {} that {} carries to its own managed identity (scopegraph inherited-overreach)",
                        candidate.grant.source, candidate.agent
                    ),
                    actions,
                    data_actions,
                    &assignable,
                ),
            });
            script.push_str(&format!(
                "# 3. A custom role of the carried operations, assignable in {} (created, or\n\
                 #    updated from the file if it exists: az then warns that the file has no \"id\"\n\
                 #    and finds it by name there).\n{}\n\n",
                comment_text(&assignable),
                azure::create_definition_command(&role_name, &role_file, &assignable)
            ));
            role_name
        }
        (None, None) => {
            return Dedicated::missing(
                "no dedicated managed identity written: the grant's evidence cites neither a built-in \
                 role nor the plane (actions or dataActions) of its permissions"
                    .to_string(),
            );
        }
    };
    let under = if condition.is_some() {
        ", under the inherited\n\
         #    assignment's condition"
    } else {
        ""
    };
    script.push_str(&format!(
        "# 4. Assign it at the same scope{under} (a new identity or role definition can take a\n\
         #    few minutes to replicate; run the script again if it is not found).\n{}\n\n",
        azure::assign_command(
            "\"$PRINCIPAL_ID\"",
            "ServicePrincipal",
            &role,
            scope,
            condition.as_ref()
        )
    ));
    let label_patch = pod_label_patch(target.agent.kind);
    let extra: &[&str] = if label_patch.is_some() {
        &[patch_file]
    } else {
        &[]
    };
    script.push_str(&kubernetes_steps(
        target,
        5,
        "\"azure.workload.identity/client-id=$CLIENT_ID\"",
        extra,
    ));
    if let Some(patch) = label_patch {
        artifacts.push(Artifact {
            path: target.file(patch_file),
            content: patch,
        });
    }
    artifacts.push(Artifact {
        path: target.file(&script_file),
        content: script,
    });
    let condition_text = if condition.is_some() {
        " under the inherited assignment's condition"
    } else {
        ""
    };
    let role_text = match built_in {
        Some(guid) => format!("built-in role {guid}, {}", carried.describe(candidate)),
        None => format!(
            "a custom role {role_file} of {}",
            carried.describe(candidate)
        ),
    };
    Dedicated {
        artifacts,
        how: format!(
            "run {script_file}: it creates managed identity {name} in resource group {group}, federated to \
             ServiceAccount {}/{} through {issuer}, assigns it {role_text} at {scope}{condition_text}, annotates the \
             ServiceAccount and labels the pods (azure.workload.identity/use)",
            target.agent.namespace, target.service_account
        ),
        missing: None,
    }
}

/// The strategic-merge patch that labels the workload's pods for AKS
/// workload identity.
fn pod_label_patch(kind: &str) -> Option<String> {
    let label = "azure.workload.identity/use: \"true\"\n";
    Some(match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            format!("spec:\n  template:\n    metadata:\n      labels:\n        {label}")
        }
        "CronJob" => format!(
            "spec:\n  jobTemplate:\n    spec:\n      template:\n        metadata:\n          labels:\n            {label}"
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge;
    use scopegraph_sdk::{EvidenceRef, GrantContext, Hop, Usage};
    use std::process::Command;

    pub(crate) fn hop(node: &str, kind: &str, via: &str) -> Hop {
        Hop {
            node: node.into(),
            kind: kind.into(),
            via: via.into(),
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn context(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const EKS_ISSUER: &str =
        "https://oidc.eks.eu-west-1.amazonaws.com/id/4F1C6A0E2B9D8E7F6A5B4C3D2E1F0A9B";

    /// The demo's report-agent on prod-eks reaching the EC2 node role
    /// through instance metadata, as provider-aws and the host emit it.
    fn aws_node_fallback() -> Candidate {
        Candidate {
            id: "7c0ffee5a1b2c3d4".into(),
            agent: "prod-eks/analytics/Deployment/report-agent".into(),
            cloud: Cloud::Aws,
            principal: "prod-eks-node".into(),
            permissions: strings(&["s3:GetObject", "s3:ListBucket", "s3:PutObject"]),
            resources: strings(&["arn:aws:s3:::acme-artifacts", "arn:aws:s3:::acme-artifacts/*"]),
            grant: GrantContext {
                source: "arn:aws:iam::111122223333:role/prod-eks-node#inline/artifacts".into(),
                owned: false,
                ownership_reason: "reached through group system:serviceaccounts (membership); node identity fallback to prod-eks-node (EC2 instance metadata (IMDS) on nodes of prod-eks)".into(),
                mechanisms: strings(&["group", "node-fallback"]),
                inherited_from_hop: Some(2),
            },
            chain: vec![
                hop("k8s:prod-eks/analytics/Deployment/report-agent", "workload", ""),
                hop("k8s:prod-eks/analytics/ServiceAccount/report-agent", "service-account", "spec.serviceAccountName"),
                hop("k8s:prod-eks/Group/system:serviceaccounts", "group", "membership"),
                hop("aws:arn:aws:iam::111122223333:role/prod-eks-node", "cloud-identity", "EC2 instance metadata (IMDS) on nodes of prod-eks"),
            ],
            usage: Usage {
                observed_days: 14,
                window_days: 14,
                used_permissions: strings(&["s3:GetObject"]),
                used_resources: strings(&[
                    "arn:aws:s3:::acme-artifacts/models/v3/weights.bin",
                    "arn:aws:s3:::acme-artifacts/models/v2/weights.bin",
                ]),
                ..Usage::default()
            },
            context: context(&[
                ("eks:cluster-arn", "arn:aws:eks:eu-west-1:111122223333:cluster/prod-eks"),
                ("eks:oidc-issuer", EKS_ISSUER),
            ]),
            ..Candidate::default()
        }
    }

    fn contents(c: &Candidate) -> Vec<(String, String)> {
        crate::artifacts(c)
            .into_iter()
            .map(|a| (a.path, a.content))
            .collect()
    }

    /// The demo's bq-agent on prod-gke landing on the GCE_METADATA pool:
    /// the node service account's project binding, permissions expanded.
    fn gcp_node_fallback() -> Candidate {
        Candidate {
            id: "2b4d6f8190a1c3e5".into(),
            agent: "prod-gke/analytics/Deployment/bq-agent".into(),
            cloud: Cloud::Gcp,
            principal: "gke-nodes@acme-prod.iam.gserviceaccount.com".into(),
            permissions: strings(&["storage.objects.get", "storage.objects.list"]),
            resources: strings(&["//cloudresourcemanager.googleapis.com/projects/acme-prod"]),
            grant: GrantContext {
                source: "//cloudresourcemanager.googleapis.com/projects/acme-prod IAM binding roles/storage.objectViewer".into(),
                owned: false,
                ownership_reason: "node identity fallback to gke-nodes@acme-prod.iam.gserviceaccount.com (node pool batch-pool metadata server (GCE_METADATA))".into(),
                mechanisms: strings(&["group", "node-fallback"]),
                inherited_from_hop: Some(2),
            },
            chain: vec![
                hop("k8s:prod-gke/analytics/Deployment/bq-agent", "workload", ""),
                hop("k8s:prod-gke/analytics/ServiceAccount/bq-agent", "service-account", "spec.serviceAccountName"),
                hop("k8s:prod-gke/Group/system:serviceaccounts", "group", "membership"),
                hop("gcp:serviceAccount:gke-nodes@acme-prod.iam.gserviceaccount.com", "cloud-identity", "node pool batch-pool metadata server (GCE_METADATA)"),
            ],
            usage: Usage {
                observed_days: 10,
                window_days: 14,
                used_permissions: strings(&["storage.objects.get"]),
                ..Usage::default()
            },
            context: context(&[
                ("gke:location", "us-central1"),
                ("gke:oidc-issuer", "https://container.googleapis.com/v1/projects/acme-prod/locations/us-central1/clusters/prod-gke"),
                ("gke:project", "acme-prod"),
                ("gke:workload-pool", "acme-prod.svc.id.goog"),
            ]),
            ..Candidate::default()
        }
    }

    const SUBSCRIPTION: &str = "7f9c2b1e-4a3d-4c8e-9b21-5d6e7f8a9b0c";
    const AKS_ISSUER: &str = "https://westeurope.oic.prod-aks.azure.com/0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6/9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4/";

    /// An agent on prod-aks reaching the kubelet identity through IMDS,
    /// which holds Storage Blob Data Reader on a storage account.
    fn azure_kubelet() -> Candidate {
        let scope = format!(
            "/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-data-prod/providers/Microsoft.Storage/storageAccounts/streportsprod"
        );
        Candidate {
            id: "9e8d7c6b5a493827".into(),
            agent: "prod-aks/reports/Deployment/report-agent".into(),
            cloud: Cloud::Azure,
            principal: "prod-aks-agentpool".into(),
            permissions: strings(&[
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
            ]),
            resources: vec![scope.clone()],
            grant: GrantContext {
                source: format!("{scope}/providers/Microsoft.Authorization/roleAssignments/0a1b2c3d-0009-4e5f-8a9b-0c1d2e3f4a09"),
                owned: false,
                ownership_reason: "node identity fallback to prod-aks-agentpool (IMDS on nodes of prod-aks (kubelet identity))".into(),
                mechanisms: strings(&["group", "node-fallback"]),
                inherited_from_hop: Some(2),
            },
            chain: vec![
                hop("k8s:prod-aks/reports/Deployment/report-agent", "workload", ""),
                hop("k8s:prod-aks/reports/ServiceAccount/report-agent", "service-account", "spec.serviceAccountName"),
                hop("k8s:prod-aks/Group/system:serviceaccounts", "group", "membership"),
                hop("azure:5c6d7e8f-3333-4a4b-8c5d-6e7f8a9b0c1d", "cloud-identity", "IMDS on nodes of prod-aks (kubelet identity)"),
            ],
            evidence: vec![EvidenceRef {
                kind: "document".into(),
                reference: "azure-built-in-roles:2a2b9908-6ea1-4ae2-8e65-a410df84e7d1#/permissions/0/dataActions".into(),
                summary: "built-in role Storage Blob Data Reader: dataActions [...]".into(),
            }],
            context: context(&[
                ("aks:oidc-issuer", AKS_ISSUER),
                ("aks:resource-id", &format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-aks-prod/providers/Microsoft.ContainerService/managedClusters/prod-aks")),
            ]),
            ..Candidate::default()
        }
    }

    /// `bash -n` on the script, through a file under the temp directory.
    fn assert_parses_as_bash(path: &str, script: &str) {
        let file = std::env::temp_dir().join(format!(
            "scopegraph-{}-{}.sh",
            std::process::id(),
            short_hash(&[path, script])
        ));
        std::fs::write(&file, script).unwrap();
        let status = Command::new("bash").arg("-n").arg(&file).status().unwrap();
        std::fs::remove_file(&file).unwrap();
        assert!(status.success(), "bash -n {path}:\n{script}");
    }

    /// Every script of the candidate parses; returns the files by name.
    fn written(c: &Candidate) -> Vec<(String, String)> {
        let files: Vec<(String, String)> = contents(c)
            .into_iter()
            .map(|(p, c)| (p.rsplit('/').next().unwrap().to_string(), c))
            .collect();
        for (name, content) in &files {
            if name.ends_with(".sh") {
                assert_parses_as_bash(name, content);
            }
        }
        files
    }

    fn file<'a>(files: &'a [(String, String)], name: &str) -> &'a str {
        &files.iter().find(|(n, _)| n == name).unwrap().1
    }

    fn names(files: &[(String, String)]) -> Vec<&str> {
        files.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn aws_node_role_fallback_gets_a_role_federated_to_the_agents_service_account() {
        let c = aws_node_fallback();
        let files = written(&c);
        assert_eq!(
            names(&files),
            [
                "aws-role-trust-7c0ffee5.json",
                "aws-role-policy-7c0ffee5.json",
                "aws-dedicated-7c0ffee5.sh",
                "upstream-7c0ffee5.txt"
            ]
        );
        let key = "oidc.eks.eu-west-1.amazonaws.com/id/4F1C6A0E2B9D8E7F6A5B4C3D2E1F0A9B";
        let trust: serde_json::Value =
            serde_json::from_str(file(&files, "aws-role-trust-7c0ffee5.json")).unwrap();
        assert_eq!(
            trust,
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "ServiceAccountWebIdentity",
                    "Effect": "Allow",
                    "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{key}")},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {
                        format!("{key}:sub"): "system:serviceaccount:analytics:report-agent",
                        format!("{key}:aud"): "sts.amazonaws.com",
                    }},
                }]
            })
        );
        // Only the observed action, on the observed objects' common prefix.
        let policy: serde_json::Value =
            serde_json::from_str(file(&files, "aws-role-policy-7c0ffee5.json")).unwrap();
        assert_eq!(
            policy,
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "CarriedGrant",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject"],
                    "Resource": ["arn:aws:s3:::acme-artifacts/models/*"],
                }]
            })
        );
        assert_eq!(
            file(&files, "aws-dedicated-7c0ffee5.sh"),
            format!(
                "#!/usr/bin/env bash
# scopegraph inherited-overreach, finding 7c0ffee5a1b2c3d4: prod-eks/analytics/Deployment/report-agent inherits
# arn:aws:iam::111122223333:role/prod-eks-node#inline/artifacts
# from aws:arn:aws:iam::111122223333:role/prod-eks-node (group, node-fallback).
# This script gives it its own IAM role scopegraph-analytics-report-agent-9be131c2, trusted only by ServiceAccount analytics/report-agent,
# carrying the 1 permission(s) of the grant it was observed using over 14 day(s).
# Every inherited grant of this agent adds to the same identity; the upstream
# binding stays in place until you remove it (upstream-7c0ffee5.txt).
# Run it with kubectl's context set to cluster prod-eks.
set -euo pipefail

# 1. Account 111122223333 needs an IAM OIDC provider for the cluster's issuer. If
#    aws iam list-open-id-connect-providers does not list
#    arn:aws:iam::111122223333:oidc-provider/{key}
#    create it:
# aws iam create-open-id-connect-provider --url {EKS_ISSUER} --client-id-list sts.amazonaws.com

# 2. The role, trusted only by the ServiceAccount (skipped when it exists).
aws iam get-role --role-name scopegraph-analytics-report-agent-9be131c2 >/dev/null 2>&1 ||
  aws iam create-role --role-name scopegraph-analytics-report-agent-9be131c2 --assume-role-policy-document \"file://$(dirname \"$0\")/aws-role-trust-7c0ffee5.json\" --description 'scopegraph: dedicated role of prod-eks/analytics/Deployment/report-agent (ServiceAccount analytics/report-agent)'

# 3. The grant's permissions, as an inline policy of the role.
aws iam put-role-policy --role-name scopegraph-analytics-report-agent-9be131c2 --policy-name carried-7c0ffee5 --policy-document \"file://$(dirname \"$0\")/aws-role-policy-7c0ffee5.json\"

# 4. Federate ServiceAccount analytics/report-agent to it and restart the pods onto it.
kubectl -n analytics annotate --overwrite serviceaccount report-agent eks.amazonaws.com/role-arn=arn:aws:iam::111122223333:role/scopegraph-analytics-report-agent-9be131c2
kubectl -n analytics rollout restart deployment report-agent
"
            )
        );
        let upstream = file(&files, "upstream-7c0ffee5.txt");
        assert!(upstream.contains("\n1. If report-agent needs these permissions, run aws-dedicated-7c0ffee5.sh: it creates IAM role scopegraph-analytics-report-agent-9be131c2 "), "{upstream}");
        // The group on the way is every pod's implicit membership: the plan
        // cuts the fallback and never asks to narrow a group binding.
        assert!(
            upstream.contains("\n2. Cut the node identity fallback: "),
            "{upstream}"
        );
        assert!(!upstream.contains("Narrow the binding"), "{upstream}");
        assert!(!upstream.contains("\n3. "), "{upstream}");
        let summary = judge(&c).unwrap().reduction.unwrap().summary;
        assert!(
            summary.contains("; run aws-dedicated-7c0ffee5.sh: "),
            "{summary}"
        );

        // No use observed: the whole grant, on its own resources, and the summary says so.
        let mut unobserved = c.clone();
        unobserved.usage.used_permissions.clear();
        unobserved.usage.used_resources.clear();
        let files = crate::artifacts(&unobserved);
        let policy: serde_json::Value = serde_json::from_str(&files[1].content).unwrap();
        assert_eq!(
            policy["Statement"][0]["Action"],
            serde_json::json!(["s3:GetObject", "s3:ListBucket", "s3:PutObject"])
        );
        assert_eq!(
            policy["Statement"][0]["Resource"],
            serde_json::json!([
                "arn:aws:s3:::acme-artifacts",
                "arn:aws:s3:::acme-artifacts/*"
            ])
        );
        let summary = judge(&unobserved).unwrap().reduction.unwrap().summary;
        assert!(summary.contains("the whole grant (3 permission(s); no use observed, so unused excess can trim it once usage is observed)"), "{summary}");
    }

    #[test]
    fn aws_grant_of_an_agent_on_gke_federates_through_the_gke_issuer() {
        let mut c = aws_node_fallback();
        c.agent = "prod-gke/analytics/Deployment/report-agent".into();
        c.context = gcp_node_fallback().context;
        let files = written(&c);
        let trust = file(&files, "aws-role-trust-7c0ffee5.json");
        let trust: serde_json::Value = serde_json::from_str(trust).unwrap();
        let key = "container.googleapis.com/v1/projects/acme-prod/locations/us-central1/clusters/prod-gke";
        assert_eq!(
            trust["Statement"][0]["Principal"]["Federated"],
            format!("arn:aws:iam::111122223333:oidc-provider/{key}")
        );
        assert_eq!(
            trust["Statement"][0]["Condition"]["StringEquals"][format!("{key}:sub")],
            "system:serviceaccount:analytics:report-agent"
        );
        assert!(file(&files, "aws-dedicated-7c0ffee5.sh").contains(
            "# The cluster is not EKS: its pods get the role through a projected ServiceAccount\n"
        ));
    }

    #[test]
    fn gcp_node_service_account_fallback_gets_a_gsa_with_a_custom_role_of_observed_use() {
        let c = gcp_node_fallback();
        let files = written(&c);
        assert_eq!(
            names(&files),
            [
                "gcp-role-2b4d6f81.yaml",
                "gcp-dedicated-2b4d6f81.sh",
                "upstream-2b4d6f81.txt"
            ]
        );
        let role: serde_json::Value =
            serde_yaml::from_str(file(&files, "gcp-role-2b4d6f81.yaml")).unwrap();
        assert_eq!(
            role,
            serde_json::json!({
                "title": "prod-gke/analytics/Deployment/bq-agent roles/storage.objectViewer carried use",
                "description": "Permissions of roles/storage.objectViewer on //cloudresourcemanager.googleapis.com/projects/acme-prod that prod-gke/analytics/Deployment/bq-agent was observed using, carried to its own service account (scopegraph inherited-overreach)",
                "stage": "GA",
                "includedPermissions": ["storage.objects.get"],
            })
        );
        let script = file(&files, "gcp-dedicated-2b4d6f81.sh");
        let email = "sg-bq-agent-da9c4b28@acme-prod.iam.gserviceaccount.com";
        assert!(script.ends_with(&format!(
            "set -euo pipefail

# 1. The Google service account, in the cluster's project (skipped when it exists).
gcloud iam service-accounts describe {email} --project=acme-prod >/dev/null 2>&1 ||
  gcloud iam service-accounts create sg-bq-agent-da9c4b28 --project=acme-prod --display-name='scopegraph: prod-gke/analytics/Deployment/bq-agent'

# 2. Let ServiceAccount analytics/bq-agent act as it (GKE Workload Identity).
gcloud iam service-accounts add-iam-policy-binding {email} --project=acme-prod --role=roles/iam.workloadIdentityUser --member='serviceAccount:acme-prod.svc.id.goog[analytics/bq-agent]'

# 3. A custom role of the permissions it was observed using.
if gcloud iam roles describe scopegraph_analytics_bq_agent_2b4d6f81 --project=acme-prod >/dev/null 2>&1; then gcloud iam roles update scopegraph_analytics_bq_agent_2b4d6f81 --project=acme-prod --file=\"$(dirname \"$0\")/gcp-role-2b4d6f81.yaml\" --quiet; else gcloud iam roles create scopegraph_analytics_bq_agent_2b4d6f81 --project=acme-prod --file=\"$(dirname \"$0\")/gcp-role-2b4d6f81.yaml\"; fi

# 4. Grant it on the same resource.
gcloud projects add-iam-policy-binding acme-prod --member=serviceAccount:{email} --role=projects/acme-prod/roles/scopegraph_analytics_bq_agent_2b4d6f81 --condition=None

# 5. Federate ServiceAccount analytics/bq-agent to it and restart the pods onto it.
kubectl -n analytics annotate --overwrite serviceaccount bq-agent iam.gke.io/gcp-service-account={email}
kubectl -n analytics rollout restart deployment bq-agent
"
        )), "{script}");

        // No use observed: the same role on a bucket, with the bucket's own command.
        let mut c = gcp_node_fallback();
        c.usage.used_permissions.clear();
        c.resources = strings(&["//storage.googleapis.com/projects/_/buckets/acme-logs"]);
        c.grant.source = "//storage.googleapis.com/projects/_/buckets/acme-logs IAM binding roles/storage.objectViewer".into();
        let files = written(&c);
        assert_eq!(
            names(&files),
            ["gcp-dedicated-2b4d6f81.sh", "upstream-2b4d6f81.txt"]
        );
        assert!(file(&files, "gcp-dedicated-2b4d6f81.sh").contains(&format!(
            "\n# 3. No use observed: the same role as the inherited binding.\n\n# 4. Grant it on the same resource.\n\
             gcloud storage buckets add-iam-policy-binding gs://acme-logs --member=serviceAccount:{email} --role=roles/storage.objectViewer --condition=None\n"
        )));
    }

    /// The node service account's binding limited to one bucket's objects
    /// (quotes, a comma and a line break in the expression).
    fn gcp_condition() -> gcp::Condition {
        gcp::Condition {
            expression:
                "resource.name.startsWith(\"projects/_/buckets/acme-prod-artifacts/\") ||\n\
                         resource.type == \"storage.googleapis.com/Bucket\""
                    .into(),
            title: Some("artifacts bucket, read".into()),
            description: None,
        }
    }

    fn gcp_node_fallback_conditioned() -> Candidate {
        let mut c = gcp_node_fallback();
        c.evidence.push(EvidenceRef {
            kind: gcp::BINDING_CONDITION.into(),
            reference: gcp_condition().reference(),
            summary: "the binding of roles/storage.objectViewer applies only where its condition \
                      \"artifacts bucket, read\" holds: …"
                .into(),
        });
        c
    }

    #[test]
    fn an_inherited_bindings_condition_goes_with_the_dedicated_service_account() {
        let c = gcp_node_fallback_conditioned();
        let files = written(&c);
        assert_eq!(
            names(&files),
            [
                "gcp-role-2b4d6f81.yaml",
                "gcp-condition-2b4d6f81.yaml",
                "gcp-dedicated-2b4d6f81.sh",
                "upstream-2b4d6f81.txt"
            ]
        );
        assert_eq!(
            file(&files, "gcp-condition-2b4d6f81.yaml"),
            "# The IAM condition of the inherited binding //cloudresourcemanager.googleapis.com/projects/acme-prod IAM binding roles/storage.objectViewer
# for gcloud's --condition-from-file, exactly as the binding has it.
expression: \"resource.name.startsWith(\\\"projects/_/buckets/acme-prod-artifacts/\\\") ||\\nresource.type == \\\"storage.googleapis.com/Bucket\\\"\"
title: \"artifacts bucket, read\"
"
        );
        let script = file(&files, "gcp-dedicated-2b4d6f81.sh");
        let email = "sg-bq-agent-da9c4b28@acme-prod.iam.gserviceaccount.com";
        assert!(
            script.contains(&format!(
                "\n# 4. Grant it on the same resource, under the inherited binding's condition.\n\
                 gcloud projects add-iam-policy-binding acme-prod --member=serviceAccount:{email} \
                 --role=projects/acme-prod/roles/scopegraph_analytics_bq_agent_2b4d6f81 \
                 --condition-from-file=\"$(dirname \"$0\")/gcp-condition-2b4d6f81.yaml\"\n\n"
            )),
            "{script}"
        );
        let how = judge(&c).unwrap().reduction.unwrap().summary;
        assert!(
            how.contains(
                " on //cloudresourcemanager.googleapis.com/projects/acme-prod under the inherited \
                 binding's IAM condition (gcp-condition-2b4d6f81.yaml), and annotates"
            ),
            "{how}"
        );

        // A bucket's gcloud command takes it too; a topic's does not: the
        // script says what to grant, under which condition.
        let mut c = gcp_node_fallback_conditioned();
        c.usage.used_permissions.clear();
        c.resources = strings(&["//pubsub.googleapis.com/projects/acme-prod/topics/builds"]);
        c.grant.source = "//pubsub.googleapis.com/projects/acme-prod/topics/builds IAM binding roles/pubsub.subscriber".into();
        let files = written(&c);
        let script = file(&files, "gcp-dedicated-2b4d6f81.sh");
        assert!(
            script.contains(&format!(
                "\n# 4. gcloud's command for the IAM policy of\n\
                 #    //pubsub.googleapis.com/projects/acme-prod/topics/builds\n\
                 #    takes no IAM condition.\n\
                 #    Edit it where it is managed (console, bq, the service's setIamPolicy\n\
                 #    API, Terraform): grant roles/pubsub.subscriber to serviceAccount:{email} \
                 under the condition in gcp-condition-2b4d6f81.yaml.\n"
            )),
            "{script}"
        );
        assert!(!script.contains("gcloud pubsub"), "{script}");
    }

    #[test]
    fn an_unreadable_inherited_condition_gets_no_dedicated_service_account() {
        let mut c = gcp_node_fallback();
        c.evidence.push(EvidenceRef {
            kind: gcp::BINDING_CONDITION.into(),
            reference: "{\"expression\":42}".into(),
            summary: "the binding of roles/storage.objectViewer has a condition scopegraph cannot read whole: {\"expression\":42}".into(),
        });
        let files = written(&c);
        assert_eq!(names(&files), ["upstream-2b4d6f81.txt"]);
        let summary = judge(&c).unwrap().reduction.unwrap().summary;
        assert!(
            summary.contains(
                "no dedicated Google service account written: the binding's IAM condition cannot be read \
                 from its evidence (the binding of roles/storage.objectViewer has a condition scopegraph \
                 cannot read whole: {\"expression\":42})"
            ),
            "{summary}"
        );
    }

    #[test]
    fn azure_kubelet_identity_fallback_gets_a_federated_managed_identity() {
        let c = azure_kubelet();
        let files = written(&c);
        assert_eq!(
            names(&files),
            [
                "azure-workload-patch.yaml",
                "azure-dedicated-9e8d7c6b.sh",
                "upstream-9e8d7c6b.txt"
            ]
        );
        let patch: serde_json::Value =
            serde_yaml::from_str(file(&files, "azure-workload-patch.yaml")).unwrap();
        assert_eq!(
            patch,
            serde_json::json!({"spec": {"template": {"metadata": {"labels": {"azure.workload.identity/use": "true"}}}}})
        );
        let script = file(&files, "azure-dedicated-9e8d7c6b.sh");
        let name = "id-reports-report-agent-a8a3d9fc";
        let rg = format!("--resource-group rg-aks-prod --subscription {SUBSCRIPTION}");
        let scope = &c.resources[0];
        let group = format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-data-prod");
        assert!(script.ends_with(&format!(
            "set -euo pipefail

# 1. The managed identity, in the cluster's resource group (create or update).
az identity create --name {name} {rg}
CLIENT_ID=\"$(az identity show --name {name} {rg} --query clientId --output tsv)\"
PRINCIPAL_ID=\"$(az identity show --name {name} {rg} --query principalId --output tsv)\"

# 2. Trust tokens of ServiceAccount reports/report-agent from the cluster's OIDC issuer.
az identity federated-credential create --name sg-prod-aks-reports-report-agent-a8a3d9fc --identity-name {name} {rg} --issuer {AKS_ISSUER} --subject system:serviceaccount:reports:report-agent --audiences api://AzureADTokenExchange

# 3. No use observed: the same built-in role as the inherited assignment.

# 4. Assign it at the same scope (a new identity or role definition can take a
#    few minutes to replicate; run the script again if it is not found).
az role assignment create --assignee-object-id \"$PRINCIPAL_ID\" --assignee-principal-type ServicePrincipal --role 2a2b9908-6ea1-4ae2-8e65-a410df84e7d1 --scope {scope}

# 5. Federate ServiceAccount reports/report-agent to it and restart the pods onto it.
kubectl -n reports annotate --overwrite serviceaccount report-agent \"azure.workload.identity/client-id=$CLIENT_ID\"
kubectl -n reports patch deployment report-agent --patch-file \"$(dirname \"$0\")/azure-workload-patch.yaml\"
kubectl -n reports rollout restart deployment report-agent
"
        )), "{script}");

        // Observed use narrows it to a custom role, in DataActions as cited.
        let mut c = azure_kubelet();
        c.permissions
            .push("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write".into());
        c.usage.observed_days = 14;
        c.usage.used_permissions =
            strings(&["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"]);
        let files = written(&c);
        assert_eq!(
            names(&files),
            [
                "azure-role-9e8d7c6b.json",
                "azure-workload-patch.yaml",
                "azure-dedicated-9e8d7c6b.sh",
                "upstream-9e8d7c6b.txt"
            ]
        );
        let role: serde_json::Value =
            serde_json::from_str(file(&files, "azure-role-9e8d7c6b.json")).unwrap();
        assert_eq!(
            role,
            serde_json::json!({
                "Name": "scopegraph_reports_report_agent_9e8d7c6b",
                "IsCustom": true,
                "Description": format!("Operations of role assignment {} that prod-aks/reports/Deployment/report-agent carries to its own managed identity (scopegraph inherited-overreach)", c.grant.source),
                "Actions": [],
                "NotActions": [],
                "DataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
                "NotDataActions": [],
                // Azure takes no resource as a custom role's assignable
                // scope: the storage account's resource group.
                "AssignableScopes": [group],
            })
        );
        let script = file(&files, "azure-dedicated-9e8d7c6b.sh");
        assert!(
            script.contains(&format!(
                "\n# 3. A custom role of the carried operations, assignable in {group} (created, or
#    updated from the file if it exists: az then warns that the file has no \"id\"
#    and finds it by name there).
EXISTING_ROLE=\"$(az role definition list --custom-role-only true --name scopegraph_reports_report_agent_9e8d7c6b --scope {group} --query '[].id' -o tsv)\"
if [ -n \"$EXISTING_ROLE\" ]; then az role definition update --role-definition \"@$(dirname \"$0\")/azure-role-9e8d7c6b.json\"; \
else az role definition create --role-definition \"@$(dirname \"$0\")/azure-role-9e8d7c6b.json\"; fi\n"
            )),
            "{script}"
        );
        // The assignment itself stays at the storage account.
        assert!(script.contains(&format!(
            " --role scopegraph_reports_report_agent_9e8d7c6b --scope {scope}\n"
        )));
    }

    const BLOB_CONDITION: &str = "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'reports'))";

    /// The kubelet identity's assignment, limited to container `reports`.
    fn azure_kubelet_conditioned() -> Candidate {
        let mut c = azure_kubelet();
        let condition = azure::Condition {
            expression: BLOB_CONDITION.into(),
            version: Some("2.0".into()),
        };
        c.evidence.push(EvidenceRef {
            kind: azure::ASSIGNMENT_CONDITION.into(),
            reference: condition.reference(),
            summary: "role assignment … applies only where its condition (version 2.0) holds: …"
                .into(),
        });
        c
    }

    #[test]
    fn an_inherited_assignments_condition_goes_with_the_dedicated_identity() {
        let c = azure_kubelet_conditioned();
        let scope = &c.resources[0];
        let files = written(&c);
        let script = file(&files, "azure-dedicated-9e8d7c6b.sh");
        assert!(
            script.contains(&format!(
                "\n# 4. Assign it at the same scope, under the inherited
#    assignment's condition (a new identity or role definition can take a
#    few minutes to replicate; run the script again if it is not found).
az role assignment create --assignee-object-id \"$PRINCIPAL_ID\" --assignee-principal-type ServicePrincipal \
--role 2a2b9908-6ea1-4ae2-8e65-a410df84e7d1 --scope {scope} \
--condition '((!(ActionMatches{{'\\''Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'\\''}})) OR \
(@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals '\\''reports'\\''))' \
--condition-version 2.0\n\n"
            )),
            "{script}"
        );
        let summary = judge(&c).unwrap().reduction.unwrap().summary;
        assert!(
            summary.contains(&format!(
                " at {scope} under the inherited assignment's condition, annotates the ServiceAccount"
            )),
            "{summary}"
        );
        // Narrowed to a custom role: the same condition.
        let mut c = azure_kubelet_conditioned();
        c.usage.observed_days = 14;
        c.usage.used_permissions =
            strings(&["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"]);
        let files = written(&c);
        assert!(file(&files, "azure-dedicated-9e8d7c6b.sh").contains(
            " --role scopegraph_reports_report_agent_9e8d7c6b --scope /subscriptions/7f9c2b1e-4a3d-4c8e-9b21-5d6e7f8a9b0c/resourceGroups/rg-data-prod/providers/Microsoft.Storage/storageAccounts/streportsprod --condition '((!(ActionMatches{"
        ));
    }

    #[test]
    fn what_an_azure_dedicated_identity_cannot_carry_writes_no_script() {
        let cases: [(Candidate, &str); 3] = [
            (
                {
                    let mut c = azure_kubelet();
                    c.evidence.push(EvidenceRef {
                        kind: azure::ASSIGNMENT_CONDITION.into(),
                        reference: "{\"condition\":".into(),
                        summary: "role assignment a applies only where its condition holds: x"
                            .into(),
                    });
                    c
                },
                "no dedicated managed identity written: the role assignment's condition cannot be read \
                 from its evidence (role assignment a applies only where its condition holds: x)",
            ),
            (
                {
                    let mut c = azure_kubelet();
                    c.usage.observed_days = 14;
                    c.usage.used_permissions = c.permissions.clone();
                    c.evidence.push(EvidenceRef {
                        kind: azure::ROLE_CONDITION.into(),
                        reference: "azure-built-in-roles:8b54135c-b56d-4d72-a534-26097cfdc8d8#/permissions/0/condition".into(),
                        summary: "built-in role R: permission block 0 applies only where its condition holds: y".into(),
                    });
                    c
                },
                "no dedicated managed identity written: a custom role cannot carry the condition of the \
                 role's permission block (built-in role R: permission block 0 applies only where its \
                 condition holds: y), so it would grant the block's operations without it",
            ),
            (
                {
                    let mut c = azure_kubelet();
                    c.usage.observed_days = 14;
                    c.usage.used_permissions = c.permissions.clone();
                    c.resources = vec!["/".into()];
                    c
                },
                "no dedicated managed identity written: no custom role can be assignable at / (Azure \
                 takes only a management group, subscription or resource group as a custom role's \
                 AssignableScopes)",
            ),
        ];
        for (c, missing) in cases {
            let files = written(&c);
            assert_eq!(names(&files), ["upstream-9e8d7c6b.txt"], "{missing}");
            let summary = judge(&c).unwrap().reduction.unwrap().summary;
            assert!(summary.ends_with(&format!("; {missing}")), "{summary}");
        }
        // The block's condition goes with the built-in role itself.
        let mut c = azure_kubelet();
        c.evidence.push(EvidenceRef {
            kind: azure::ROLE_CONDITION.into(),
            ..EvidenceRef::default()
        });
        assert!(
            file(&written(&c), "azure-dedicated-9e8d7c6b.sh")
                .contains(" --role 2a2b9908-6ea1-4ae2-8e65-a410df84e7d1 --scope ")
        );
    }

    #[test]
    fn shared_default_service_account_federates_the_new_one() {
        // The demo's support-agent runs as `default`, shared with `web`, and
        // the IAM role default is annotated with is reached by both.
        let mut c = aws_node_fallback();
        c.agent = "prod-eks/support/Deployment/support-agent".into();
        c.grant.mechanisms = strings(&["shared-identity"]);
        c.grant.inherited_from_hop = Some(1);
        c.chain = vec![
            hop(
                "k8s:prod-eks/support/Deployment/support-agent",
                "workload",
                "",
            ),
            hop(
                "k8s:prod-eks/support/ServiceAccount/default",
                "service-account",
                "spec.serviceAccountName",
            ),
            hop(
                "aws:arn:aws:iam::111122223333:role/support-shared",
                "cloud-identity",
                "eks.amazonaws.com/role-arn",
            ),
        ];
        let files = written(&c);
        assert_eq!(
            names(&files),
            [
                "serviceaccount.yaml",
                "workload-patch.yaml",
                "aws-role-trust-7c0ffee5.json",
                "aws-role-policy-7c0ffee5.json",
                "aws-dedicated-7c0ffee5.sh",
                "upstream-7c0ffee5.txt"
            ]
        );
        let trust: serde_json::Value =
            serde_json::from_str(file(&files, "aws-role-trust-7c0ffee5.json")).unwrap();
        assert_eq!(
            trust["Statement"][0]["Condition"]["StringEquals"]["oidc.eks.eu-west-1.amazonaws.com/id/4F1C6A0E2B9D8E7F6A5B4C3D2E1F0A9B:sub"],
            "system:serviceaccount:support:support-agent"
        );
        assert!(file(&files, "aws-dedicated-7c0ffee5.sh").ends_with(
            "# 4. Federate ServiceAccount support/support-agent to it and restart the pods onto it.
kubectl apply -f \"$(dirname \"$0\")/serviceaccount.yaml\"
kubectl -n support annotate --overwrite serviceaccount support-agent eks.amazonaws.com/role-arn=arn:aws:iam::111122223333:role/scopegraph-support-support-agent-160520ea
kubectl -n support patch deployment support-agent --patch-file \"$(dirname \"$0\")/workload-patch.yaml\"
kubectl -n support rollout restart deployment support-agent
"
        ), "{}", file(&files, "aws-dedicated-7c0ffee5.sh"));
    }

    #[test]
    fn missing_cluster_facts_write_no_script_and_say_what_is_missing() {
        let cases = [
            (
                aws_node_fallback(),
                "no dedicated IAM role written: the snapshot has no OIDC issuer for cluster prod-eks (eks:oidc-issuer, gke:oidc-issuer or aks:oidc-issuer; add the cluster's description, e.g. aws eks describe-cluster)",
            ),
            (
                gcp_node_fallback(),
                "no dedicated Google service account written: the snapshot has no workload pool for cluster prod-gke (gke:workload-pool; add the GKE cluster's description with Workload Identity enabled — a cluster outside GKE needs Workload Identity Federation, which scopegraph does not write)",
            ),
            (
                azure_kubelet(),
                "no dedicated managed identity written: the snapshot has no OIDC issuer (aks:oidc-issuer; the cluster needs --enable-oidc-issuer) and no resource group (aks:resource-id) for cluster prod-aks (add the AKS cluster's description, az aks show)",
            ),
        ];
        for (mut c, missing) in cases {
            c.context.clear();
            let files = written(&c);
            assert_eq!(files.len(), 1, "{:?}", names(&files));
            assert!(files[0].0.starts_with("upstream-"));
            assert!(
                files[0].1.contains(&format!(
                    "\n1. Dedicated cloud identity: {missing}. Create one by hand"
                )),
                "{}",
                files[0].1
            );
            let summary = judge(&c).unwrap().reduction.unwrap().summary;
            assert!(summary.ends_with(&format!("; {missing}")), "{summary}");
        }
        // One fact of two: only that one is named.
        let mut c = azure_kubelet();
        c.context.retain(|(k, _)| k != "aks:oidc-issuer");
        let summary = judge(&c).unwrap().reduction.unwrap().summary;
        assert!(summary.contains("the snapshot has no OIDC issuer (aks:oidc-issuer; the cluster needs --enable-oidc-issuer) for cluster prod-aks"), "{summary}");
        // A holder that is not a role has no account to create one in.
        let mut c = aws_node_fallback();
        c.chain.pop();
        assert!(contents(&c).iter().all(|(p, _)| !p.ends_with(".sh")));
    }

    #[test]
    fn identity_names_are_valid_and_derived_from_the_agent_alone() {
        let c = aws_node_fallback();
        let agent = AgentId::parse(&c.agent).unwrap();
        assert_eq!(
            aws_role_name(&c, &agent),
            "scopegraph-analytics-report-agent-9be131c2"
        );
        assert_eq!(gcp_account_id(&c, &agent), "sg-report-agent-9be131c2");
        assert_eq!(
            azure_identity_name(&c, &agent),
            "id-analytics-report-agent-9be131c2"
        );
        // Another grant of the same agent: the same identity.
        let mut other = c.clone();
        other.id = "0000000000000000".into();
        assert_eq!(gcp_account_id(&other, &agent), gcp_account_id(&c, &agent));
        // Long and odd names stay within each cloud's rule.
        let long = format!(
            "prod/{}/Deployment/Agent.V2_{}",
            "n".repeat(70),
            "x".repeat(70)
        );
        let mut c = c;
        c.agent = long;
        let agent = AgentId::parse(&c.agent).unwrap();
        let role = aws_role_name(&c, &agent);
        assert_eq!(role.len(), 64);
        assert!(scopegraph_artifacts::aws::valid_role_name(&role), "{role}");
        let account = gcp_account_id(&c, &agent);
        assert_eq!(
            account,
            format!("sg-agent-v2-{}-{}", "x".repeat(9), short_hash(&[&c.agent]))
        );
        assert!(gcp::valid_account_id(&account), "{account}");
        let identity = azure_identity_name(&c, &agent);
        assert!(
            identity.len() <= 128 && identity.starts_with("id-"),
            "{identity}"
        );
        assert!(
            identity
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        );
    }

    #[test]
    fn odd_names_are_quoted_in_every_script() {
        for mut c in [aws_node_fallback(), gcp_node_fallback(), azure_kubelet()] {
            let cluster = c.agent.split('/').next().unwrap().to_string();
            c.agent = format!("{cluster}/ana lytics/Deployment/it's-$(reboot)");
            c.chain[1].node = format!("k8s:{cluster}/ana lytics/ServiceAccount/it's-$(reboot)");
            for (key, value) in &mut c.context {
                if key.ends_with("oidc-issuer") {
                    value.push_str("/`x`");
                }
            }
            let files = written(&c);
            let script = files.iter().find(|(n, _)| n.ends_with(".sh")).unwrap();
            assert!(script.1.contains("kubectl -n 'ana lytics' annotate --overwrite serviceaccount 'it'\\''s-$(reboot)' "), "{}", script.1);
        }
        let c = azure_kubelet();
        let mut odd = c.clone();
        odd.context[0].1 = "https://issuer.example/it's".into();
        let script = written(&odd)
            .into_iter()
            .find(|(n, _)| n.ends_with(".sh"))
            .unwrap()
            .1;
        assert!(
            script.contains(" --issuer 'https://issuer.example/it'\\''s' "),
            "{script}"
        );
    }
}
