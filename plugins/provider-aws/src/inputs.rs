//! The documents this provider reads, recognised by content (the host's
//! `kind` is only a hint: `list-pod-identity-associations` output, say, is
//! not a class the host sniffs), and the few fields the chains need.
//!
//! Parsing is lenient about shape and strict about meaning: an object this
//! provider recognises but cannot use is reported as a warning and the rest
//! of the snapshot is still read.

use crate::policy::{self, PolicyDocument};
use scopegraph_sdk::{Cloud, Diagnostic, Document, EvidenceRef, Level};
use serde_json::Value;
use std::collections::BTreeMap;

/// Where something was read from, for evidence and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    pub document: String,
    /// JSON pointer inside the document, empty for the whole document.
    pub pointer: String,
}

impl Origin {
    pub fn new(document: &str, pointer: impl Into<String>) -> Origin {
        Origin {
            document: document.into(),
            pointer: pointer.into(),
        }
    }

    /// `doc-id` or `doc-id#/RoleDetailList/3`.
    pub fn reference(&self) -> String {
        if self.pointer.is_empty() {
            self.document.clone()
        } else {
            format!("{}#{}", self.document, self.pointer)
        }
    }

    /// This origin, `suffix` further in (`/AssumeRolePolicyDocument`).
    pub fn at(&self, suffix: &str) -> Origin {
        Origin::new(&self.document, format!("{}{suffix}", self.pointer))
    }

    pub fn evidence(&self, summary: String) -> EvidenceRef {
        EvidenceRef {
            kind: "document".into(),
            reference: self.reference(),
            summary,
        }
    }
}

/// A Kubernetes cluster described by its cloud.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: String,
    pub cloud: Cloud,
    /// EKS only.
    pub arn: Option<String>,
    pub account: Option<String>,
    /// The OIDC issuer, normalised for matching (see [`normalise_issuer`]).
    pub issuer: Option<String>,
    /// The same as spelled (without scheme and trailing slash), for messages.
    pub issuer_display: Option<String>,
    pub origin: Origin,
}

/// An EKS Pod Identity association.
#[derive(Debug, Clone)]
pub struct Association {
    pub cluster: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    pub target_role_arn: Option<String>,
    /// Not `disableSessionTags`: EKS tags the session (and needs
    /// `sts:TagSession`).
    pub session_tags: bool,
    pub arn: String,
    pub origin: Origin,
}

/// A ServiceAccount or Pod that says which role its pods use
/// (`eks.amazonaws.com/role-arn`, or a pod's `AWS_ROLE_ARN`).
#[derive(Debug, Clone)]
pub struct Wiring {
    pub cluster: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    /// `eks.amazonaws.com/audience`, when set on the ServiceAccount.
    pub audience: Option<String>,
    /// `annotation eks.amazonaws.com/role-arn` or `AWS_ROLE_ARN of Pod ns/name`.
    pub how: String,
    pub origin: Origin,
}

/// A Kubernetes Node, for what runs the cluster's pods.
#[derive(Debug, Clone)]
pub struct KubeNode {
    pub cluster: String,
    pub name: String,
    /// An EC2 instance (`spec.providerID` `aws:///...`, not Fargate).
    pub ec2: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrincipalKind {
    Role,
    User,
}

/// An inline policy of a role, user or group.
#[derive(Debug, Clone)]
pub struct InlinePolicy {
    pub name: String,
    pub document: PolicyDocument,
    /// Points at the policy document.
    pub origin: Origin,
}

/// A managed policy attached to a role, user or group.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub arn: String,
    /// Points at the `AttachedManagedPolicies` entry.
    pub origin: Origin,
}

/// An IAM role or user.
#[derive(Debug, Clone)]
pub struct IamPrincipal {
    pub kind: PrincipalKind,
    pub arn: String,
    pub name: String,
    pub id: String,
    pub path: String,
    pub account: String,
    /// Roles only.
    pub trust: Option<PolicyDocument>,
    pub inline: Vec<InlinePolicy>,
    pub attached: Vec<Attachment>,
    /// Users only: group names.
    pub groups: Vec<String>,
    pub boundary: Option<Attachment>,
    pub instance_profiles: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub max_session: Option<String>,
    pub last_used: Option<String>,
    pub origin: Origin,
}

impl IamPrincipal {
    pub fn node_id(&self) -> String {
        format!("aws:{}", self.arn)
    }

    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            PrincipalKind::Role => "role",
            PrincipalKind::User => "user",
        }
    }
}

#[derive(Debug, Clone)]
pub struct IamGroup {
    pub name: String,
    pub arn: String,
    pub account: String,
    pub inline: Vec<InlinePolicy>,
    pub attached: Vec<Attachment>,
}

/// A managed policy from the `Policies` list: its default version.
#[derive(Debug, Clone)]
pub struct ManagedPolicy {
    pub arn: String,
    pub name: String,
    pub document: PolicyDocument,
    /// Points at the default version's `Document`.
    pub origin: Origin,
}

/// Everything read from the snapshot.
#[derive(Debug, Default)]
pub struct Inputs {
    pub clusters: Vec<Cluster>,
    pub associations: Vec<Association>,
    pub wirings: Vec<Wiring>,
    pub nodes: Vec<KubeNode>,
    /// By ARN; the first copy of a principal exported twice wins.
    pub principals: BTreeMap<String, IamPrincipal>,
    /// By account, then name (users name their groups by name).
    pub groups: BTreeMap<(String, String), IamGroup>,
    pub policies: BTreeMap<String, ManagedPolicy>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Inputs {
    fn diagnostic(&mut self, level: Level, source: &str, message: String) {
        self.diagnostics.push(Diagnostic {
            level,
            source: source.into(),
            message,
        });
    }

    fn warn(&mut self, source: &str, message: String) {
        self.diagnostic(Level::Warn, source, message);
    }
}

fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn items(value: Option<&Value>) -> &[Value] {
    value
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The account id of an ARN (`arn:aws:iam::111122223333:role/x`).
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`).
pub fn arn_partition(arn: &str) -> &str {
    arn.split(':').nth(1).unwrap_or("aws")
}

pub use scopegraph_sdk::spelling::{display_issuer, normalise_issuer};

/// Read every document into `inputs`.
pub fn read(documents: &[Document]) -> Inputs {
    let mut inputs = Inputs::default();
    for document in documents {
        let Ok(root) = serde_json::from_str::<Value>(&document.content) else {
            continue;
        };
        read_document(document, &root, &mut inputs);
    }
    inputs
}

fn read_document(document: &Document, root: &Value, inputs: &mut Inputs) {
    if !root.is_object() {
        return;
    }
    if str_at(root, "apiVersion").is_some() && str_at(root, "kind").is_some() {
        read_kubernetes(document, root, inputs);
    } else if let Some(cluster) = root
        .get("cluster")
        .filter(|c| str_at(c, "arn").is_some_and(|a| a.contains(":eks:")))
    {
        read_eks(document, cluster, inputs);
    } else if let Some(association) = root.get("association").filter(|a| a.is_object()) {
        read_association(document, association, "/association".into(), inputs);
    } else if let Some(list) = root.get("associations").and_then(Value::as_array) {
        read_association_list(document, list, inputs);
    } else if ["UserDetailList", "RoleDetailList", "GroupDetailList"]
        .iter()
        .any(|k| root.get(k).is_some())
    {
        read_authorization_details(document, root, inputs);
    } else if root.get("nodePools").is_some()
        || str_at(root, "selfLink").is_some_and(|s| s.contains("container.googleapis.com"))
    {
        read_gke(document, root, inputs);
    } else if str_at(root, "type")
        .is_some_and(|t| t.eq_ignore_ascii_case("Microsoft.ContainerService/ManagedClusters"))
        || root.get("oidcIssuerProfile").is_some()
    {
        read_aks(document, root, inputs);
    }
}

fn read_eks(document: &Document, cluster: &Value, inputs: &mut Inputs) {
    let Some(name) = str_at(cluster, "name") else {
        inputs.warn(
            &document.id,
            "EKS cluster description without cluster.name; skipped".into(),
        );
        return;
    };
    let arn = str_at(cluster, "arn").map(String::from);
    let spelled = cluster
        .pointer("/identity/oidc/issuer")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let issuer = spelled.map(normalise_issuer);
    if issuer.is_none() {
        inputs.diagnostic(
            Level::Info,
            &document.id,
            format!("EKS cluster {name} has no OIDC issuer: no IRSA trust can name it"),
        );
    }
    inputs.clusters.push(Cluster {
        name: name.into(),
        cloud: Cloud::Aws,
        account: arn.as_deref().and_then(arn_account).map(String::from),
        arn,
        issuer,
        issuer_display: spelled.map(display_issuer),
        origin: Origin::new(&document.id, "/cluster"),
    });
}

/// GKE's issuer is `https://container.googleapis.com/v1/projects/{project}/locations/{location}/clusters/{name}`,
/// built from the description since `gcloud` does not print it.
fn read_gke(document: &Document, root: &Value, inputs: &mut Inputs) {
    let Some(name) = str_at(root, "name") else {
        return;
    };
    let self_link = str_at(root, "selfLink").unwrap_or_default();
    let segment = |key: &str| {
        let mut parts = self_link.split('/');
        parts.find(|p| *p == key)?;
        parts.next().filter(|s| !s.is_empty()).map(String::from)
    };
    let project = segment("projects").or_else(|| {
        root.pointer("/workloadIdentityConfig/workloadPool")
            .and_then(Value::as_str)
            .and_then(|pool| pool.strip_suffix(".svc.id.goog"))
            .map(String::from)
    });
    let location = str_at(root, "location")
        .map(String::from)
        .or_else(|| segment("locations"))
        .or_else(|| segment("zones"))
        .or_else(|| str_at(root, "zone").map(String::from));
    let spelled = match (&project, &location) {
        (Some(project), Some(location)) => Some(format!(
            "container.googleapis.com/v1/projects/{project}/locations/{location}/clusters/{name}"
        )),
        _ => {
            inputs.diagnostic(
                Level::Info,
                &document.id,
                format!(
                    "GKE cluster {name}: project or location unknown, so its OIDC issuer is too"
                ),
            );
            None
        }
    };
    inputs.clusters.push(Cluster {
        name: name.into(),
        cloud: Cloud::Gcp,
        arn: None,
        account: None,
        issuer: spelled.as_deref().map(normalise_issuer),
        issuer_display: spelled,
        origin: Origin::new(&document.id, ""),
    });
}

fn read_aks(document: &Document, root: &Value, inputs: &mut Inputs) {
    let Some(name) = str_at(root, "name") else {
        return;
    };
    let spelled = root
        .pointer("/oidcIssuerProfile/issuerUrl")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    inputs.clusters.push(Cluster {
        name: name.into(),
        cloud: Cloud::Azure,
        arn: None,
        account: None,
        issuer: spelled.map(normalise_issuer),
        issuer_display: spelled.map(display_issuer),
        origin: Origin::new(&document.id, ""),
    });
}

fn read_association(document: &Document, value: &Value, pointer: String, inputs: &mut Inputs) {
    let field = |key: &str| str_at(value, key).map(String::from);
    let arn = field("associationArn").unwrap_or_default();
    let (Some(namespace), Some(service_account)) = (field("namespace"), field("serviceAccount"))
    else {
        inputs.warn(
            &document.id,
            format!("Pod Identity association {arn} at {pointer} names no namespace or serviceAccount; skipped"),
        );
        return;
    };
    let cluster = field("clusterName")
        .or_else(|| document.context("cluster").map(String::from))
        .unwrap_or_else(|| "default".into());
    let Some(role_arn) = field("roleArn") else {
        inputs.warn(
            &document.id,
            format!(
                "Pod Identity association {arn} ({namespace}/{service_account} in cluster {cluster}) has no roleArn \
                 (list-pod-identity-associations output does not carry it): export it with \
                 `aws eks describe-pod-identity-association`; no chain derived"
            ),
        );
        return;
    };
    inputs.associations.push(Association {
        cluster,
        namespace,
        service_account,
        role_arn,
        target_role_arn: field("targetRoleArn"),
        session_tags: value.get("disableSessionTags").and_then(Value::as_bool) != Some(true),
        arn,
        origin: Origin::new(&document.id, pointer),
    });
}

fn read_association_list(document: &Document, list: &[Value], inputs: &mut Inputs) {
    for (i, item) in list.iter().enumerate() {
        read_association(document, item, format!("/associations/{i}"), inputs);
    }
}

// ---------------------------------------------------------------- Kubernetes

fn read_kubernetes(document: &Document, root: &Value, inputs: &mut Inputs) {
    let api_version = str_at(root, "apiVersion").unwrap_or_default();
    let kind = str_at(root, "kind").unwrap_or_default();
    if let Some(list) = root.get("items").and_then(Value::as_array) {
        let item_kind = kind.strip_suffix("List").unwrap_or_default();
        for (i, item) in list.iter().enumerate() {
            let item_api = str_at(item, "apiVersion").unwrap_or(api_version);
            let Some(item_kind) =
                str_at(item, "kind").or(Some(item_kind).filter(|k| !k.is_empty()))
            else {
                continue;
            };
            read_kubernetes_object(
                document,
                item,
                item_api,
                item_kind,
                format!("/items/{i}"),
                inputs,
            );
        }
    } else if root.get("items").is_none() {
        read_kubernetes_object(document, root, api_version, kind, String::new(), inputs);
    }
}

fn read_kubernetes_object(
    document: &Document,
    object: &Value,
    api_version: &str,
    kind: &str,
    pointer: String,
    inputs: &mut Inputs,
) {
    // Core group only: other groups may reuse these names.
    if api_version != "v1" || !matches!(kind, "ServiceAccount" | "Pod" | "Node") {
        return;
    }
    let cluster = document.context("cluster").unwrap_or("default").to_string();
    let Some(name) = object.pointer("/metadata/name").and_then(Value::as_str) else {
        return;
    };
    let namespace = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .or_else(|| document.context("namespace"))
        .unwrap_or("default")
        .to_string();
    let origin = Origin::new(&document.id, pointer);
    match kind {
        "ServiceAccount" => {
            let annotation = |key: &str| {
                object
                    .pointer("/metadata/annotations")
                    .and_then(|a| a.get(key))
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
            };
            if let Some(role_arn) = annotation("eks.amazonaws.com/role-arn") {
                inputs.wirings.push(Wiring {
                    cluster,
                    namespace,
                    service_account: name.into(),
                    role_arn,
                    audience: annotation("eks.amazonaws.com/audience"),
                    how: "annotation eks.amazonaws.com/role-arn".into(),
                    origin: origin.at("/metadata/annotations"),
                });
            }
        }
        "Pod" => read_pod(object, &cluster, &namespace, name, &origin, inputs),
        _ => {
            let provider_id = object
                .pointer("/spec/providerID")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let fargate = object
                .pointer("/metadata/labels")
                .and_then(|l| l.get("eks.amazonaws.com/compute-type"))
                .and_then(Value::as_str)
                == Some("fargate");
            inputs.nodes.push(KubeNode {
                cluster,
                name: name.into(),
                ec2: provider_id.starts_with("aws://") && !fargate,
            });
        }
    }
}

/// A pod whose containers set `AWS_ROLE_ARN` (what the IRSA webhook injects,
/// or what an operator configures by hand on a cluster without the webhook)
/// uses that role through its ServiceAccount's token.
fn read_pod(
    pod: &Value,
    cluster: &str,
    namespace: &str,
    name: &str,
    origin: &Origin,
    inputs: &mut Inputs,
) {
    let spec = pod.get("spec").unwrap_or(&Value::Null);
    let service_account = str_at(spec, "serviceAccountName")
        .or_else(|| str_at(spec, "serviceAccount"))
        .unwrap_or("default");
    for group in ["containers", "initContainers"] {
        for (c, container) in items(spec.get(group)).iter().enumerate() {
            for (e, env) in items(container.get("env")).iter().enumerate() {
                if str_at(env, "name") != Some("AWS_ROLE_ARN") {
                    continue;
                }
                let Some(role_arn) = str_at(env, "value") else {
                    continue;
                };
                let wiring = Wiring {
                    cluster: cluster.into(),
                    namespace: namespace.into(),
                    service_account: service_account.into(),
                    role_arn: role_arn.trim().into(),
                    audience: None,
                    how: format!("AWS_ROLE_ARN of Pod {namespace}/{name}"),
                    origin: origin.at(&format!("/spec/{group}/{c}/env/{e}")),
                };
                let duplicate = inputs.wirings.iter().any(|w| {
                    w.cluster == wiring.cluster
                        && w.namespace == wiring.namespace
                        && w.service_account == wiring.service_account
                        && w.role_arn == wiring.role_arn
                        && w.how == wiring.how
                });
                if !duplicate {
                    inputs.wirings.push(wiring);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------- IAM

fn read_authorization_details(document: &Document, root: &Value, inputs: &mut Inputs) {
    for (i, policy) in items(root.get("Policies")).iter().enumerate() {
        read_managed_policy(document, policy, i, inputs);
    }
    for (i, group) in items(root.get("GroupDetailList")).iter().enumerate() {
        let origin = Origin::new(&document.id, format!("/GroupDetailList/{i}"));
        let (Some(name), Some(arn)) = (str_at(group, "GroupName"), str_at(group, "Arn")) else {
            inputs.warn(
                &document.id,
                format!(
                    "group at {} has no GroupName or Arn; skipped",
                    origin.pointer
                ),
            );
            continue;
        };
        let account = arn_account(arn).unwrap_or_default().to_string();
        let inline = inline_policies(document, group, "GroupPolicyList", &origin, inputs);
        let attached = attachments(group, &origin);
        inputs
            .groups
            .entry((account.clone(), name.into()))
            .or_insert(IamGroup {
                name: name.into(),
                arn: arn.into(),
                account,
                inline,
                attached,
            });
    }
    for (list, kind) in [
        ("RoleDetailList", PrincipalKind::Role),
        ("UserDetailList", PrincipalKind::User),
    ] {
        for (i, value) in items(root.get(list)).iter().enumerate() {
            let origin = Origin::new(&document.id, format!("/{list}/{i}"));
            if let Some(principal) = read_principal(document, value, kind, origin, inputs) {
                if let Some(first) = inputs.principals.get(&principal.arn) {
                    let message = format!(
                        "{} appears again at {} (first at {}); the first copy is used",
                        principal.arn,
                        principal.origin.reference(),
                        first.origin.reference()
                    );
                    inputs.diagnostic(Level::Info, &document.id, message);
                    continue;
                }
                inputs.principals.insert(principal.arn.clone(), principal);
            }
        }
    }
}

fn read_managed_policy(document: &Document, policy: &Value, i: usize, inputs: &mut Inputs) {
    let Some(arn) = str_at(policy, "Arn") else {
        inputs.warn(
            &document.id,
            format!("policy at /Policies/{i} has no Arn; skipped"),
        );
        return;
    };
    let versions = items(policy.get("PolicyVersionList"));
    let default_id = str_at(policy, "DefaultVersionId");
    let chosen = versions
        .iter()
        .position(|v| v.get("IsDefaultVersion").and_then(Value::as_bool) == Some(true))
        .or_else(|| {
            versions
                .iter()
                .position(|v| default_id.is_some() && str_at(v, "VersionId") == default_id)
        });
    let Some((index, version)) = chosen.and_then(|i| versions.get(i).map(|v| (i, v))) else {
        inputs.warn(
            &document.id,
            format!("policy {arn} has no default version in PolicyVersionList; its permissions are unknown"),
        );
        return;
    };
    let origin = Origin::new(
        &document.id,
        format!("/Policies/{i}/PolicyVersionList/{index}/Document"),
    );
    match version.get("Document").map(policy::parse_document) {
        Some(Ok(parsed)) => {
            inputs.policies.entry(arn.into()).or_insert(ManagedPolicy {
                arn: arn.into(),
                name: str_at(policy, "PolicyName").unwrap_or(arn).into(),
                document: parsed,
                origin,
            });
        }
        Some(Err(err)) => inputs.warn(
            &document.id,
            format!(
                "policy {arn}: unreadable document at {} ({err}); its permissions are unknown",
                origin.pointer
            ),
        ),
        None => inputs.warn(
            &document.id,
            format!(
                "policy {arn}: the default version has no Document; its permissions are unknown"
            ),
        ),
    }
}

fn inline_policies(
    document: &Document,
    value: &Value,
    list: &str,
    origin: &Origin,
    inputs: &mut Inputs,
) -> Vec<InlinePolicy> {
    let mut out = Vec::new();
    for (i, policy) in items(value.get(list)).iter().enumerate() {
        let at = origin.at(&format!("/{list}/{i}/PolicyDocument"));
        let name = str_at(policy, "PolicyName")
            .unwrap_or("(unnamed)")
            .to_string();
        match policy.get("PolicyDocument").map(policy::parse_document) {
            Some(Ok(parsed)) => out.push(InlinePolicy {
                name,
                document: parsed,
                origin: at,
            }),
            Some(Err(err)) => inputs.warn(
                &document.id,
                format!(
                    "inline policy {name} at {}: unreadable ({err}); its permissions are unknown",
                    at.pointer
                ),
            ),
            None => inputs.warn(
                &document.id,
                format!(
                    "inline policy {name} at {} has no PolicyDocument",
                    at.pointer
                ),
            ),
        }
    }
    out
}

fn attachments(value: &Value, origin: &Origin) -> Vec<Attachment> {
    items(value.get("AttachedManagedPolicies"))
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            Some(Attachment {
                arn: str_at(a, "PolicyArn")?.into(),
                origin: origin.at(&format!("/AttachedManagedPolicies/{i}")),
            })
        })
        .collect()
}

fn read_principal(
    document: &Document,
    value: &Value,
    kind: PrincipalKind,
    origin: Origin,
    inputs: &mut Inputs,
) -> Option<IamPrincipal> {
    let (name_key, id_key, list_key) = match kind {
        PrincipalKind::Role => ("RoleName", "RoleId", "RolePolicyList"),
        PrincipalKind::User => ("UserName", "UserId", "UserPolicyList"),
    };
    let (Some(arn), Some(name)) = (str_at(value, "Arn"), str_at(value, name_key)) else {
        inputs.warn(
            &document.id,
            format!(
                "entry at {} has no Arn or {name_key}; skipped",
                origin.pointer
            ),
        );
        return None;
    };
    let trust = match (kind, value.get("AssumeRolePolicyDocument")) {
        (PrincipalKind::User, _) => None,
        (PrincipalKind::Role, None) => {
            inputs.warn(
                &document.id,
                format!(
                    "role {arn} has no AssumeRolePolicyDocument: nothing can be shown to assume it"
                ),
            );
            None
        }
        (PrincipalKind::Role, Some(doc)) => match policy::parse_document(doc) {
            Ok(parsed) => Some(parsed),
            Err(err) => {
                inputs.warn(
                    &document.id,
                    format!("role {arn}: unreadable trust policy ({err}); nothing can be shown to assume it"),
                );
                None
            }
        },
    };
    let inline = inline_policies(document, value, list_key, &origin, inputs);
    let attached = attachments(value, &origin);
    let boundary = value
        .get("PermissionsBoundary")
        .and_then(|b| str_at(b, "PermissionsBoundaryArn"))
        .map(|arn| Attachment {
            arn: arn.into(),
            origin: origin.at("/PermissionsBoundary"),
        });
    let tags = items(value.get("Tags"))
        .iter()
        .filter_map(|t| {
            Some((
                str_at(t, "Key")?.to_string(),
                t.get("Value")?.as_str()?.to_string(),
            ))
        })
        .collect();
    let groups = items(value.get("GroupList"))
        .iter()
        .filter_map(|g| g.as_str().map(String::from))
        .collect();
    let instance_profiles = items(value.get("InstanceProfileList"))
        .iter()
        .filter_map(|p| str_at(p, "InstanceProfileName").map(String::from))
        .collect();
    Some(IamPrincipal {
        kind,
        arn: arn.into(),
        name: name.into(),
        id: str_at(value, id_key).unwrap_or_default().into(),
        path: str_at(value, "Path").unwrap_or("/").into(),
        account: arn_account(arn).unwrap_or_default().into(),
        trust,
        inline,
        attached,
        groups,
        boundary,
        instance_profiles,
        tags,
        max_session: value
            .get("MaxSessionDuration")
            .and_then(Value::as_u64)
            .map(|s| s.to_string()),
        last_used: value
            .pointer("/RoleLastUsed/LastUsedDate")
            .and_then(Value::as_str)
            .map(String::from),
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(content: &str) -> Document {
        Document {
            id: "d".into(),
            source: "d.json".into(),
            kind: "json".into(),
            context: vec![("cluster".into(), "c".into())],
            content: content.into(),
        }
    }

    #[test]
    fn gke_issuers_are_built_from_the_description() {
        let inputs = read(&[document(
            r#"{"name": "g", "selfLink": "https://container.googleapis.com/v1/projects/p/zones/europe-west1-b/clusters/g", "nodePools": []}"#,
        )]);
        assert_eq!(
            inputs.clusters[0].issuer.as_deref(),
            Some("container.googleapis.com/v1/projects/p/locations/europe-west1-b/clusters/g")
        );
        let inputs = read(&[document(
            r#"{"name": "g", "location": "us-central1", "nodePools": [], "workloadIdentityConfig": {"workloadPool": "acme.svc.id.goog"}}"#,
        )]);
        assert_eq!(
            inputs.clusters[0].issuer.as_deref(),
            Some("container.googleapis.com/v1/projects/acme/locations/us-central1/clusters/g")
        );
    }

    #[test]
    fn unusable_documents_are_ignored_or_reported_never_fatal() {
        for content in [
            "[]",
            "42",
            "not json",
            r#"{"cluster": {"arn": "arn:aws:eks:r:1:cluster/x"}}"#,
            r#"{"association": {"associationArn": "a"}}"#,
            r#"{"RoleDetailList": [1, {"Arn": 2}, {"Arn": "arn:aws:iam::1:role/r", "RoleName": "r", "AssumeRolePolicyDocument": "%zz"}], "Policies": [{"Arn": "p", "PolicyVersionList": null}]}"#,
            r#"{"apiVersion": "v1", "kind": "List", "items": [1, {"kind": "Pod"}, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"env": [{"name": "AWS_ROLE_ARN"}]}]}}]}"#,
        ] {
            let inputs = read(&[document(content)]);
            assert!(
                inputs.wirings.is_empty() && inputs.associations.is_empty(),
                "{content}"
            );
        }
        let inputs = read(&[document(
            r#"{"RoleDetailList": [{"Arn": "arn:aws:iam::1:role/r", "RoleName": "r", "AssumeRolePolicyDocument": "%zz"}]}"#,
        )]);
        assert_eq!(inputs.principals.len(), 1);
        assert!(inputs.principals["arn:aws:iam::1:role/r"].trust.is_none());
        assert_eq!(inputs.diagnostics.len(), 1);
        assert!(
            inputs.diagnostics[0]
                .message
                .contains("unreadable trust policy")
        );
    }

    #[test]
    fn association_lists_without_roles_are_diagnosed() {
        let inputs = read(&[document(
            r#"{"associations": [{"clusterName": "prod-eks", "namespace": "ml", "serviceAccount": "trainer",
                "associationArn": "arn:aws:eks:eu-west-1:1:podidentityassociation/prod-eks/a-1", "associationId": "a-1"}]}"#,
        )]);
        assert!(inputs.associations.is_empty());
        assert_eq!(inputs.diagnostics.len(), 1);
        assert_eq!(inputs.diagnostics[0].level, Level::Warn);
        assert!(
            inputs.diagnostics[0]
                .message
                .contains("(ml/trainer in cluster prod-eks) has no roleArn")
        );
    }
}
