//! The documents this provider reads, recognised by content (the same shapes
//! the host's sniffer recognises, plus a few array forms it does not yet
//! class), reduced to the fields the graph needs and where each was found.
//!
//! Parsing is lenient about shape (absent and `null` collections are empty,
//! numbers and strings are both accepted where gcloud prints either) and
//! reports a recognised record it cannot use instead of dropping it.

use scopegraph_sdk::{Diagnostic, Document, EvidenceRef, Level};
use serde_json::Value;

/// Where something was read from: a document and a JSON pointer into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub document: String,
    pub pointer: String,
}

impl Origin {
    pub fn new(document: &str, pointer: impl Into<String>) -> Origin {
        Origin {
            document: document.into(),
            pointer: pointer.into(),
        }
    }

    /// The origin of a child: `suffix` is an already escaped pointer (`/members/2`).
    pub fn child(&self, suffix: &str) -> Origin {
        Origin {
            document: self.document.clone(),
            pointer: format!("{}{suffix}", self.pointer),
        }
    }

    /// `doc-id` or `doc-id#/pointer`, as `evidence-ref.reference` expects.
    pub fn reference(&self) -> String {
        if self.pointer.is_empty() {
            self.document.clone()
        } else {
            format!("{}#{}", self.document, self.pointer)
        }
    }

    pub fn evidence(&self, kind: &str, summary: String) -> EvidenceRef {
        EvidenceRef {
            kind: kind.into(),
            reference: self.reference(),
            summary,
        }
    }
}

/// One JSON pointer reference token (RFC 6901).
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The Workload Identity annotation on a Kubernetes ServiceAccount.
pub const GSA_ANNOTATION: &str = "iam.gke.io/gcp-service-account";

/// A GKE cluster description (`gcloud container clusters describe`).
#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: String,
    pub location: Option<String>,
    /// The project id (or number) from `selfLink`, else from the workload pool.
    pub project: Option<String>,
    /// `workloadIdentityConfig.workloadPool`: `PROJECT.svc.id.goog`, absent
    /// when Workload Identity is disabled.
    pub pool: Option<String>,
    pub node_pools: Vec<NodePool>,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct NodePool {
    pub name: String,
    /// `config.serviceAccount`; `None` for `default` or absent, which mean
    /// the project's default compute service account.
    pub service_account: Option<String>,
    /// `config.workloadMetadataConfig.mode` (or the legacy `nodeMetadata`).
    pub mode: Option<String>,
    /// Whether pods on the pool see the GKE metadata server (Workload
    /// Identity) rather than the node's own identity.
    pub gke_metadata: bool,
    pub oauth_scopes: Vec<String>,
    /// Pointer to `/nodePools/{i}`.
    pub origin: Origin,
}

/// A Kubernetes ServiceAccount.
#[derive(Debug, Clone)]
pub struct KubeServiceAccount {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
    /// The `iam.gke.io/gcp-service-account` annotation, trimmed.
    pub gsa: Option<String>,
    pub origin: Origin,
}

impl KubeServiceAccount {
    pub fn annotation_origin(&self) -> Origin {
        self.origin
            .child(&format!("/metadata/annotations/{}", escape(GSA_ANNOTATION)))
    }
}

/// How an IAM policy document names (or fails to name) its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyForm {
    /// `gcloud … get-iam-policy` output: no resource name.
    Bare,
    /// `{"resource": …, "policy": …}` (also `gcloud asset search-all-iam-policies`).
    Wrapped,
    /// A Cloud Asset Inventory `iam-policy` asset.
    Asset,
}

#[derive(Debug, Clone)]
pub struct RawPolicy {
    pub form: PolicyForm,
    pub resource: Option<String>,
    /// Cloud Asset Inventory `ancestors`, nearest first (`projects/123`, `folders/9`, …).
    pub ancestors: Vec<String>,
    /// `project` of a search result (`projects/123`).
    pub project: Option<String>,
    pub bindings: Vec<Binding>,
    /// Pointer to the policy object.
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub role: String,
    pub members: Vec<String>,
    /// The condition's CEL expression.
    pub condition: Option<String>,
    /// The whole `condition`, exactly as the policy has it, for a rule
    /// that replaces the binding to make the new one under it.
    pub raw_condition: Option<RawCondition>,
    /// Pointer to `/bindings/{i}`.
    pub origin: Origin,
}

/// A binding's `condition` object (`expression`, `title`, `description`),
/// its strings untrimmed: gcloud removes a conditional binding only when
/// given all three exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawCondition {
    Read {
        expression: String,
        title: Option<String>,
        description: Option<String>,
    },
    /// Not an object with a non-blank string `expression` (and strings, if
    /// anything, as `title` and `description`): its JSON text.
    Unreadable(String),
}

impl RawCondition {
    /// `None` for an absent or `null` condition.
    fn of(binding: &Value) -> Option<RawCondition> {
        let value = binding.get("condition").filter(|c| !c.is_null())?;
        let string = |key: &str| match value.get(key) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(text)) => Some(Some(text.clone())),
            Some(_) => None,
        };
        Some(
            match (
                value.is_object(),
                string("expression"),
                string("title"),
                string("description"),
            ) {
                (true, Some(Some(expression)), Some(title), Some(description))
                    if !expression.trim().is_empty() =>
                {
                    RawCondition::Read {
                        expression,
                        title,
                        description,
                    }
                }
                _ => RawCondition::Unreadable(value.to_string()),
            },
        )
    }
}

/// A role described in the snapshot (`gcloud iam roles describe`).
#[derive(Debug, Clone)]
pub struct RoleDescription {
    pub name: String,
    pub permissions: Vec<String>,
    pub stage: Option<String>,
    pub deleted: bool,
    pub origin: Origin,
}

/// `gcloud projects describe`.
#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    pub number: Option<String>,
    pub origin: Origin,
}

/// `child` sits directly under `parent` (relative names, `projects/acme-data`,
/// `folders/9`, `organizations/1`; a project may be named by its number).
#[derive(Debug, Clone)]
pub struct ParentLink {
    pub child: String,
    pub parent: String,
    pub origin: Origin,
}

/// `gcloud iam service-accounts list|describe`.
#[derive(Debug, Clone)]
pub struct AccountRecord {
    pub email: String,
    pub project: Option<String>,
    pub unique_id: Option<String>,
    pub disabled: bool,
    pub origin: Origin,
}

/// What a workload identity pool provider trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderTrust {
    /// `oidc.issuerUri` (as spelled) and `oidc.allowedAudiences`.
    Oidc {
        issuer: String,
        audiences: Vec<String>,
    },
    /// `aws.accountId`.
    Aws { account: String },
    /// `saml`, `x509` or no trust block: named for messages.
    Other(String),
}

/// A workload identity pool provider (`gcloud iam workload-identity-pools
/// providers list|describe --format=json`).
#[derive(Debug, Clone)]
pub struct PoolProvider {
    /// `projects/NUM/locations/global/workloadIdentityPools/POOL/providers/PROV`.
    pub name: String,
    /// The project as the name spells it (a number in gcloud's output).
    pub project: String,
    pub location: String,
    pub pool: String,
    pub state: Option<String>,
    pub disabled: bool,
    /// `attributeMapping`, sorted by key; empty when absent.
    pub mapping: Vec<(String, String)>,
    pub condition: Option<String>,
    pub trust: ProviderTrust,
    pub origin: Origin,
}

impl PoolProvider {
    /// The expression `key` (`google.subject`, `attribute.namespace`) maps from.
    pub fn mapped(&self, key: &str) -> Option<&str> {
        self.mapping
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// An EKS or AKS cluster description, read for its OIDC issuer (GKE
/// clusters are [`Cluster`]s).
#[derive(Debug, Clone)]
pub struct ForeignCluster {
    /// The name the host gives the documents beside the description:
    /// `cluster.name` (EKS), `name` (AKS).
    pub name: String,
    /// `EKS` or `AKS`.
    pub platform: &'static str,
    /// The issuer as spelled; `None` when the cluster has none.
    pub issuer: Option<String>,
    /// Pointer to the issuer field.
    pub origin: Origin,
}

/// An AWS IAM role or user from `aws iam get-account-authorization-details`,
/// so that an ARN without its path can be matched to the role's node.
#[derive(Debug, Clone)]
pub struct AwsPrincipal {
    pub arn: String,
    pub account: String,
    /// `role` or `user`.
    pub kind: &'static str,
    pub name: String,
    pub origin: Origin,
}

/// Everything read from the snapshot.
#[derive(Debug, Default)]
pub struct Inputs {
    pub clusters: Vec<Cluster>,
    pub pool_providers: Vec<PoolProvider>,
    pub foreign_clusters: Vec<ForeignCluster>,
    pub aws_principals: Vec<AwsPrincipal>,
    pub service_accounts: Vec<KubeServiceAccount>,
    pub policies: Vec<RawPolicy>,
    pub roles: Vec<RoleDescription>,
    pub projects: Vec<Project>,
    pub parents: Vec<ParentLink>,
    pub accounts: Vec<AccountRecord>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Inputs {
    fn warn(&mut self, document: &Document, message: String) {
        self.diagnostics.push(Diagnostic {
            level: Level::Warn,
            source: document.id.clone(),
            message,
        });
    }
}

/// Read every document; documents of no recognised shape are ignored.
pub fn read(documents: &[Document]) -> Inputs {
    let mut inputs = Inputs::default();
    for document in documents {
        let Ok(value) = serde_json::from_str::<Value>(&document.content) else {
            // Not JSON: not for this provider (the host converts YAML first).
            continue;
        };
        read_value(document, &value, &mut inputs);
    }
    inputs
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A field gcloud prints as a string or a number (`projectNumber`).
fn text_or_number(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn has(value: &Value, key: &str) -> bool {
    value.get(key).is_some_and(|v| !v.is_null())
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn strings(value: &Value, key: &str) -> Vec<String> {
    array(value, key)
        .iter()
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn read_value(document: &Document, value: &Value, inputs: &mut Inputs) {
    if let Some(items) = value.as_array() {
        if is_ancestor_list(items) {
            read_ancestor_list(document, items, "", inputs);
            return;
        }
        // `gcloud … list --format=json` and JSON exports of records.
        for (index, item) in items.iter().enumerate() {
            if item.is_object() {
                read_object(document, item, format!("/{index}"), inputs);
            }
        }
        return;
    }
    if value.is_object() {
        read_object(document, value, String::new(), inputs);
    }
}

fn read_object(document: &Document, value: &Value, pointer: String, inputs: &mut Inputs) {
    let origin = Origin::new(&document.id, pointer);
    if text(value, "apiVersion").is_some() && text(value, "kind").is_some() {
        read_kubernetes(document, value, origin, inputs);
    } else if let Some(parts) = text(value, "name").and_then(pool_provider_name) {
        read_pool_provider(document, value, parts, origin, inputs);
    } else if let Some(cluster) = value
        .get("cluster")
        .filter(|c| text(c, "arn").is_some_and(|a| a.contains(":eks:")))
    {
        read_eks(document, cluster, origin.child("/cluster"), inputs);
    } else if text(value, "type")
        .is_some_and(|t| t.eq_ignore_ascii_case("Microsoft.ContainerService/ManagedClusters"))
        || has(value, "oidcIssuerProfile")
    {
        read_aks(value, origin, inputs);
    } else if has(value, "RoleDetailList") || has(value, "UserDetailList") {
        read_authorization_details(value, origin, inputs);
    } else if is_cluster(value) {
        read_cluster(document, value, origin, inputs);
    } else if has(value, "resource") && value.get("policy").is_some_and(Value::is_object) {
        let Some(policy) = value.get("policy") else {
            return;
        };
        let policy_origin = origin.child("/policy");
        read_policy(
            document,
            policy,
            RawPolicy {
                form: PolicyForm::Wrapped,
                resource: text(value, "resource").map(String::from),
                ancestors: Vec::new(),
                project: text(value, "project").map(String::from),
                bindings: Vec::new(),
                origin: policy_origin,
            },
            inputs,
        );
    } else if let Some((key, policy)) = asset_policy(value) {
        let ancestors = strings(value, "ancestors");
        read_policy(
            document,
            policy,
            RawPolicy {
                form: PolicyForm::Asset,
                resource: text(value, "name").map(String::from),
                ancestors,
                project: None,
                bindings: Vec::new(),
                origin: origin.child(&format!("/{key}")),
            },
            inputs,
        );
    } else if value.get("bindings").is_some_and(Value::is_array)
        && (has(value, "etag") || has(value, "version"))
    {
        read_policy(
            document,
            value,
            RawPolicy {
                form: PolicyForm::Bare,
                resource: None,
                ancestors: Vec::new(),
                project: None,
                bindings: Vec::new(),
                origin,
            },
            inputs,
        );
    } else if has(value, "includedPermissions") || (is_role_name(value) && has(value, "stage")) {
        read_role(document, value, origin, inputs);
    } else if has(value, "projectId") && has(value, "projectNumber") {
        read_project(document, value, origin, inputs);
    } else if let Some(ancestors) = value.get("ancestor").and_then(Value::as_array) {
        // The `projects.getAncestry` API response.
        let items: Vec<Value> = ancestors
            .iter()
            .map(|a| a.get("resourceId").cloned().unwrap_or(Value::Null))
            .collect();
        if is_ancestor_list(&items) {
            read_ancestor_list(document, &items, &origin.pointer, inputs);
        } else {
            inputs.warn(
                document,
                format!(
                    "ancestry at {} has entries without resourceId.type/id; skipped",
                    origin.reference()
                ),
            );
        }
    } else if text(value, "name").is_some_and(|n| n.starts_with("folders/")) {
        if let (Some(name), Some(parent)) = (text(value, "name"), text(value, "parent")) {
            inputs.parents.push(ParentLink {
                child: name.into(),
                parent: parent.into(),
                origin,
            });
        }
    } else if let Some(email) = text(value, "email")
        && (has(value, "uniqueId")
            || text(value, "name").is_some_and(|n| n.contains("/serviceAccounts/")))
    {
        inputs.accounts.push(AccountRecord {
            email: email.to_ascii_lowercase(),
            project: text(value, "projectId").map(String::from),
            unique_id: text_or_number(value, "uniqueId"),
            disabled: value.get("disabled").and_then(Value::as_bool) == Some(true),
            origin,
        });
    }
}

/// `projects/P/locations/L/workloadIdentityPools/POOL/providers/PROV` →
/// `(P, L, POOL)`.
pub fn pool_provider_name(name: &str) -> Option<(&str, &str, &str)> {
    let mut parts = name.split('/');
    let (
        Some("projects"),
        Some(project),
        Some("locations"),
        Some(location),
        Some("workloadIdentityPools"),
        Some(pool),
        Some("providers"),
        Some(provider),
        None,
    ) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    )
    else {
        return None;
    };
    [project, location, pool, provider]
        .iter()
        .all(|p| !p.is_empty())
        .then_some((project, location, pool))
}

fn read_pool_provider(
    document: &Document,
    value: &Value,
    (project, location, pool): (&str, &str, &str),
    origin: Origin,
    inputs: &mut Inputs,
) {
    let name = text(value, "name").unwrap_or_default().to_string();
    let trust = if let Some(oidc) = value.get("oidc").filter(|o| o.is_object()) {
        match text(oidc, "issuerUri") {
            Some(issuer) => ProviderTrust::Oidc {
                issuer: issuer.to_string(),
                audiences: strings(oidc, "allowedAudiences"),
            },
            None => {
                inputs.warn(
                    document,
                    format!("workload identity pool provider {name} has an oidc block without issuerUri; it is matched to no cluster"),
                );
                ProviderTrust::Other("oidc without issuerUri".into())
            }
        }
    } else if let Some(aws) = value.get("aws").filter(|a| a.is_object()) {
        match text_or_number(aws, "accountId") {
            Some(account) => ProviderTrust::Aws { account },
            None => {
                inputs.warn(
                    document,
                    format!("workload identity pool provider {name} has an aws block without accountId; it is matched to no role"),
                );
                ProviderTrust::Other("aws without accountId".into())
            }
        }
    } else if has(value, "saml") {
        ProviderTrust::Other("saml".into())
    } else if has(value, "x509") {
        ProviderTrust::Other("x509".into())
    } else {
        ProviderTrust::Other("no oidc or aws block".into())
    };
    let mut mapping: Vec<(String, String)> = value
        .get("attributeMapping")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.trim().to_string(), v.as_str()?.trim().to_string())))
                .collect()
        })
        .unwrap_or_default();
    mapping.sort();
    inputs.pool_providers.push(PoolProvider {
        name,
        project: project.into(),
        location: location.into(),
        pool: pool.into(),
        state: text(value, "state").map(String::from),
        disabled: value.get("disabled").and_then(Value::as_bool) == Some(true),
        mapping,
        condition: text(value, "attributeCondition").map(String::from),
        trust,
        origin,
    });
}

/// `aws eks describe-cluster --name C`: `{"cluster": {"name", "arn", "identity": {"oidc": {"issuer"}}}}`.
fn read_eks(document: &Document, cluster: &Value, origin: Origin, inputs: &mut Inputs) {
    let Some(name) = text(cluster, "name").or_else(|| document.context("cluster")) else {
        return;
    };
    inputs.foreign_clusters.push(ForeignCluster {
        name: name.into(),
        platform: "EKS",
        issuer: cluster
            .pointer("/identity/oidc/issuer")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from),
        origin: origin.child("/identity/oidc/issuer"),
    });
}

/// `az aks show`: `name`, `oidcIssuerProfile.issuerUrl`.
fn read_aks(value: &Value, origin: Origin, inputs: &mut Inputs) {
    let Some(name) = text(value, "name") else {
        return;
    };
    inputs.foreign_clusters.push(ForeignCluster {
        name: name.into(),
        platform: "AKS",
        issuer: value
            .pointer("/oidcIssuerProfile/issuerUrl")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from),
        origin: origin.child("/oidcIssuerProfile/issuerUrl"),
    });
}

/// The roles and users of `aws iam get-account-authorization-details`.
fn read_authorization_details(value: &Value, origin: Origin, inputs: &mut Inputs) {
    for (list, kind, name_key) in [
        ("RoleDetailList", "role", "RoleName"),
        ("UserDetailList", "user", "UserName"),
    ] {
        for (index, item) in array(value, list).iter().enumerate() {
            let (Some(arn), Some(name)) = (text(item, "Arn"), text(item, name_key)) else {
                continue;
            };
            let Some(account) = arn.split(':').nth(4).filter(|a| !a.is_empty()) else {
                continue;
            };
            inputs.aws_principals.push(AwsPrincipal {
                arn: arn.into(),
                account: account.into(),
                kind,
                name: name.into(),
                origin: origin.child(&format!("/{list}/{index}")),
            });
        }
    }
}

fn is_role_name(value: &Value) -> bool {
    text(value, "name").is_some_and(|n| n.starts_with("roles/") || n.contains("/roles/"))
}

fn is_cluster(value: &Value) -> bool {
    let self_link = text(value, "selfLink").unwrap_or_default();
    if self_link.contains("/nodePools/") {
        // `gcloud container node-pools describe`: a pool without its cluster.
        return false;
    }
    has(value, "nodePools") || self_link.contains("container.googleapis.com")
}

/// The IAM policy of a Cloud Asset Inventory asset (camelCase from
/// `gcloud asset list`, snake_case in `gcloud asset export` files).
fn asset_policy(value: &Value) -> Option<(&'static str, &Value)> {
    if !(has(value, "assetType") || has(value, "asset_type")) {
        return None;
    }
    ["iamPolicy", "iam_policy"]
        .into_iter()
        .find_map(|key| value.get(key).filter(|p| p.is_object()).map(|p| (key, p)))
}

fn is_ancestor_list(items: &[Value]) -> bool {
    !items.is_empty()
        && items.iter().all(|item| {
            item.as_object().is_some_and(|o| o.len() == 2)
                && text(item, "id").is_some()
                && text(item, "type").is_some()
        })
}

/// `[{"id": "acme-data", "type": "project"}, {"id": "9", "type": "folder"}, …]`,
/// nearest first (`gcloud projects get-ancestors --format=json`).
fn read_ancestor_list(document: &Document, items: &[Value], pointer: &str, inputs: &mut Inputs) {
    let names: Vec<Option<String>> = items
        .iter()
        .map(|item| {
            let id = text(item, "id")?;
            let collection = match text(item, "type")? {
                "project" => "projects",
                "folder" => "folders",
                "organization" => "organizations",
                _ => return None,
            };
            Some(format!("{collection}/{id}"))
        })
        .collect();
    let mut previous: Option<&String> = None;
    for (index, name) in names.iter().enumerate() {
        let Some(name) = name else {
            inputs.warn(
                document,
                format!("ancestry entry {index} has an unknown type; the chain stops there"),
            );
            return;
        };
        if let Some(child) = previous {
            inputs.parents.push(ParentLink {
                child: child.clone(),
                parent: name.clone(),
                origin: Origin::new(&document.id, format!("{pointer}/{index}")),
            });
        }
        previous = Some(name);
    }
}

fn read_kubernetes(document: &Document, value: &Value, origin: Origin, inputs: &mut Inputs) {
    let api_version = text(value, "apiVersion").unwrap_or_default();
    let kind = text(value, "kind").unwrap_or_default();
    if kind == "ServiceAccount" && api_version == "v1" {
        read_service_account(document, value, origin, inputs);
        return;
    }
    if kind == "List" || (kind == "ServiceAccountList" && api_version == "v1") {
        for (index, item) in array(value, "items").iter().enumerate() {
            let typed = kind == "ServiceAccountList";
            let item_kind = text(item, "kind");
            let item_version = text(item, "apiVersion");
            let is_account = if typed {
                item_kind.is_none_or(|k| k == "ServiceAccount")
            } else {
                item_kind == Some("ServiceAccount") && item_version == Some("v1")
            };
            if is_account {
                let item_origin = origin.child(&format!("/items/{index}"));
                read_service_account(document, item, item_origin, inputs);
            }
        }
    }
}

fn read_service_account(document: &Document, value: &Value, origin: Origin, inputs: &mut Inputs) {
    let metadata = value.get("metadata").cloned().unwrap_or(Value::Null);
    let Some(name) = text(&metadata, "name") else {
        inputs.warn(
            document,
            format!(
                "ServiceAccount at {} has no metadata.name; skipped",
                origin.reference()
            ),
        );
        return;
    };
    let namespace = text(&metadata, "namespace")
        .or_else(|| document.context("namespace"))
        .unwrap_or("default");
    let gsa = metadata
        .get("annotations")
        .and_then(|a| a.get(GSA_ANNOTATION))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase);
    inputs.service_accounts.push(KubeServiceAccount {
        cluster: document.context("cluster").unwrap_or("default").to_string(),
        namespace: namespace.to_string(),
        name: name.to_string(),
        uid: text(&metadata, "uid").map(String::from),
        gsa,
        origin,
    });
}

/// `https://container.googleapis.com/v1/projects/P/locations/L/clusters/C`
/// (or `/zones/Z/`): `(P, L, C)`.
pub fn parse_cluster_url(url: &str) -> Option<(&str, &str, &str)> {
    let path = url.split_once("/projects/")?.1;
    let mut segments = path.split('/');
    let project = segments.next()?;
    let collection = segments.next()?;
    if collection != "locations" && collection != "zones" {
        return None;
    }
    let location = segments.next()?;
    if segments.next()? != "clusters" {
        return None;
    }
    let cluster = segments.next()?;
    (!project.is_empty() && !location.is_empty() && !cluster.is_empty())
        .then_some((project, location, cluster))
}

fn read_cluster(document: &Document, value: &Value, origin: Origin, inputs: &mut Inputs) {
    let Some(name) = text(value, "name").or_else(|| document.context("cluster")) else {
        inputs.warn(
            document,
            "GKE cluster description without a name; skipped".into(),
        );
        return;
    };
    let identity = value.get("workloadIdentityConfig");
    let pool = identity
        .and_then(|c| text(c, "workloadPool").or_else(|| text(c, "identityNamespace")))
        .map(String::from);
    let link = text(value, "selfLink").and_then(parse_cluster_url);
    let project = link.map(|(project, _, _)| project.to_string()).or_else(|| {
        pool.as_deref()
            .and_then(|p| p.strip_suffix(".svc.id.goog"))
            .map(String::from)
    });
    let location = text(value, "location")
        .or_else(|| text(value, "zone"))
        .or(link.map(|(_, location, _)| location))
        .map(String::from);
    let mut node_pools = Vec::new();
    for (index, pool_value) in array(value, "nodePools").iter().enumerate() {
        let pool_origin = origin.child(&format!("/nodePools/{index}"));
        let Some(pool_name) = text(pool_value, "name") else {
            inputs.warn(
                document,
                format!(
                    "node pool at {} has no name; skipped",
                    pool_origin.reference()
                ),
            );
            continue;
        };
        let config = pool_value.get("config").cloned().unwrap_or(Value::Null);
        let metadata = config.get("workloadMetadataConfig");
        let mode = metadata.and_then(|m| text(m, "mode"));
        let legacy = metadata.and_then(|m| text(m, "nodeMetadata"));
        let gke_metadata = match mode {
            Some(mode) => mode == "GKE_METADATA",
            None => legacy == Some("GKE_METADATA_SERVER"),
        };
        node_pools.push(NodePool {
            name: pool_name.to_string(),
            service_account: text(&config, "serviceAccount")
                .filter(|sa| *sa != "default")
                .map(str::to_ascii_lowercase),
            mode: mode.or(legacy).map(String::from),
            gke_metadata,
            oauth_scopes: strings(&config, "oauthScopes"),
            origin: pool_origin,
        });
    }
    inputs.clusters.push(Cluster {
        name: name.to_string(),
        location,
        project,
        pool,
        node_pools,
        origin,
    });
}

fn read_policy(document: &Document, policy: &Value, mut raw: RawPolicy, inputs: &mut Inputs) {
    for (index, binding) in array(policy, "bindings").iter().enumerate() {
        let origin = raw.origin.child(&format!("/bindings/{index}"));
        let Some(role) = text(binding, "role") else {
            inputs.warn(
                document,
                format!("IAM binding at {} has no role; skipped", origin.reference()),
            );
            continue;
        };
        let condition = binding
            .get("condition")
            .and_then(|c| text(c, "expression"))
            .map(String::from);
        let raw_condition = RawCondition::of(binding);
        if let Some(RawCondition::Unreadable(text)) = &raw_condition {
            inputs.warn(
                document,
                format!(
                    "IAM binding at {} has a condition scopegraph cannot read whole ({text}): \
                     no rule replaces its grants",
                    origin.reference()
                ),
            );
        }
        raw.bindings.push(Binding {
            role: role.to_string(),
            members: array(binding, "members")
                .iter()
                .map(|m| m.as_str().unwrap_or_default().trim().to_string())
                .collect(),
            condition,
            raw_condition,
            origin,
        });
    }
    inputs.policies.push(raw);
}

fn read_role(document: &Document, value: &Value, origin: Origin, inputs: &mut Inputs) {
    let Some(name) = text(value, "name") else {
        inputs.warn(
            document,
            format!(
                "role at {} has no name; its permissions cannot be matched to bindings",
                origin.reference()
            ),
        );
        return;
    };
    inputs.roles.push(RoleDescription {
        name: name.to_string(),
        permissions: strings(value, "includedPermissions"),
        stage: text(value, "stage").map(String::from),
        deleted: value.get("deleted").and_then(Value::as_bool) == Some(true),
        origin,
    });
}

fn read_project(document: &Document, value: &Value, origin: Origin, inputs: &mut Inputs) {
    let Some(id) = text(value, "projectId") else {
        inputs.warn(document, "project without a projectId; skipped".into());
        return;
    };
    let parent = match value.get("parent") {
        // gcloud (Cloud Resource Manager v1): {"type": "folder", "id": "9"}.
        Some(parent @ Value::Object(_)) => {
            match (text(parent, "type"), text_or_number(parent, "id")) {
                (Some("folder"), Some(id)) => Some(format!("folders/{id}")),
                (Some("organization"), Some(id)) => Some(format!("organizations/{id}")),
                _ => None,
            }
        }
        // Cloud Resource Manager v3: "folders/9".
        Some(Value::String(parent)) if !parent.trim().is_empty() => Some(parent.trim().into()),
        _ => None,
    };
    if let Some(parent) = parent {
        inputs.parents.push(ParentLink {
            child: format!("projects/{id}"),
            parent,
            origin: origin.child("/parent"),
        });
    }
    inputs.projects.push(Project {
        id: id.to_string(),
        number: text_or_number(value, "projectNumber"),
        origin,
    });
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
    fn cluster_urls_name_project_location_and_cluster() {
        assert_eq!(
            parse_cluster_url(
                "https://container.googleapis.com/v1/projects/acme/locations/us-central1/clusters/prod"
            ),
            Some(("acme", "us-central1", "prod"))
        );
        assert_eq!(
            parse_cluster_url(
                "https://container.googleapis.com/v1/projects/acme/zones/us-central1-a/clusters/dev"
            ),
            Some(("acme", "us-central1-a", "dev"))
        );
        assert_eq!(parse_cluster_url("https://example.com/projects/x"), None);
    }

    #[test]
    fn binding_conditions_are_read_whole_and_untrimmed() {
        // `gcloud projects get-iam-policy --format=json`: a condition whose
        // expression holds quotes, commas and line breaks (a Terraform
        // heredoc's trailing one included), one without a description, one
        // null, and three that cannot be read whole.
        let inputs = read(&[document(
            r#"{"bindings": [
                {"condition": {"description": "Reports, Q4 only", "expression": "resource.name.startsWith(\"projects/_/buckets/acme-reports\") ||\n  request.time < timestamp('2027-01-01T00:00:00Z'), \"x\"\n", "title": " reports-q4 "}, "members": ["user:a@x.com"], "role": "roles/storage.objectViewer"},
                {"condition": {"expression": "true", "title": "always"}, "members": ["user:a@x.com"], "role": "roles/browser"},
                {"condition": null, "members": ["user:a@x.com"], "role": "roles/viewer"},
                {"condition": {"title": "no expression"}, "members": ["user:a@x.com"], "role": "roles/r1"},
                {"condition": {"expression": "true", "title": 7}, "members": ["user:a@x.com"], "role": "roles/r2"},
                {"condition": "request.time < timestamp('2027-01-01T00:00:00Z')", "members": ["user:a@x.com"], "role": "roles/r3"}
            ], "etag": "BwYm1d0aZ7o=", "version": 3}"#,
        )]);
        let bindings = &inputs.policies[0].bindings;
        let conditions: Vec<Option<RawCondition>> =
            bindings.iter().map(|b| b.raw_condition.clone()).collect();
        let read = |expression: &str, title: &str, description: Option<&str>| {
            Some(RawCondition::Read {
                expression: expression.into(),
                title: Some(title.into()),
                description: description.map(String::from),
            })
        };
        assert_eq!(
            conditions,
            [
                read(
                    "resource.name.startsWith(\"projects/_/buckets/acme-reports\") ||\n  \
                     request.time < timestamp('2027-01-01T00:00:00Z'), \"x\"\n",
                    " reports-q4 ",
                    Some("Reports, Q4 only")
                ),
                read("true", "always", None),
                None,
                Some(RawCondition::Unreadable(
                    r#"{"title":"no expression"}"#.into()
                )),
                Some(RawCondition::Unreadable(
                    r#"{"expression":"true","title":7}"#.into()
                )),
                Some(RawCondition::Unreadable(
                    r#""request.time < timestamp('2027-01-01T00:00:00Z')""#.into()
                )),
            ]
        );
        // The expression the via strings show is trimmed, as before.
        assert_eq!(
            bindings[0].condition.as_deref(),
            Some(
                "resource.name.startsWith(\"projects/_/buckets/acme-reports\") ||\n  \
                 request.time < timestamp('2027-01-01T00:00:00Z'), \"x\""
            )
        );
        let warnings: Vec<&str> = inputs
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            warnings,
            [
                "IAM binding at d#/bindings/3 has a condition scopegraph cannot read whole \
                 ({\"title\":\"no expression\"}): no rule replaces its grants",
                "IAM binding at d#/bindings/4 has a condition scopegraph cannot read whole \
                 ({\"expression\":\"true\",\"title\":7}): no rule replaces its grants",
                "IAM binding at d#/bindings/5 has a condition scopegraph cannot read whole \
                 (\"request.time < timestamp('2027-01-01T00:00:00Z')\"): no rule replaces its grants",
            ]
        );
    }

    #[test]
    fn every_shape_is_recognised_by_content() {
        let inputs = read(&[
            document(
                r#"[{"id": "p", "type": "project"}, {"id": "9", "type": "folder"}, {"id": "1", "type": "organization"}]"#,
            ),
            document(
                r#"{"ancestor": [{"resourceId": {"type": "project", "id": "q"}}, {"resourceId": {"type": "organization", "id": "1"}}]}"#,
            ),
            document(
                r#"{"name": "folders/9", "parent": "organizations/1", "displayName": "data"}"#,
            ),
            document(
                r#"{"projectId": "p", "projectNumber": 42, "parent": {"type": "folder", "id": "9"}}"#,
            ),
            document(
                r#"[{"email": "A@p.iam.gserviceaccount.com", "uniqueId": "7", "projectId": "p"}]"#,
            ),
            document(
                r#"{"bindings": [{"role": "roles/viewer", "members": ["user:a@x.com"]}, {"members": []}], "etag": "x"}"#,
            ),
            document(
                r#"{"asset_type": "storage.googleapis.com/Bucket", "name": "//storage.googleapis.com/b", "iam_policy": {"bindings": []}, "ancestors": ["projects/42"]}"#,
            ),
            document(
                r#"{"name": "projects/p/roles/r", "includedPermissions": ["a.b.c"], "stage": "GA"}"#,
            ),
            document(
                r#"{"apiVersion": "v1", "kind": "ServiceAccountList", "items": [{"metadata": {"name": "k", "namespace": "n", "annotations": {"iam.gke.io/gcp-service-account": " G@p.iam.gserviceaccount.com "}}}]}"#,
            ),
            document(
                r#"{"name": "np", "selfLink": "https://container.googleapis.com/v1/projects/p/locations/l/clusters/c/nodePools/np", "config": {}}"#,
            ),
            document("not json"),
        ]);
        let parents: Vec<(&str, &str)> = inputs
            .parents
            .iter()
            .map(|l| (l.child.as_str(), l.parent.as_str()))
            .collect();
        assert_eq!(
            parents,
            [
                ("projects/p", "folders/9"),
                ("folders/9", "organizations/1"),
                ("projects/q", "organizations/1"),
                ("folders/9", "organizations/1"),
                ("projects/p", "folders/9"),
            ]
        );
        assert_eq!(inputs.parents[0].origin.reference(), "d#/1");
        assert_eq!(inputs.projects[0].number.as_deref(), Some("42"));
        assert_eq!(inputs.accounts[0].email, "a@p.iam.gserviceaccount.com");
        assert_eq!(inputs.accounts[0].origin.reference(), "d#/0");
        assert_eq!(inputs.policies.len(), 2);
        assert_eq!(inputs.policies[0].bindings.len(), 1);
        assert_eq!(inputs.policies[1].form, PolicyForm::Asset);
        assert_eq!(inputs.policies[1].origin.pointer, "/iam_policy");
        assert_eq!(inputs.roles[0].permissions, ["a.b.c"]);
        let ksa = &inputs.service_accounts[0];
        assert_eq!(ksa.gsa.as_deref(), Some("g@p.iam.gserviceaccount.com"));
        assert_eq!(
            ksa.annotation_origin().reference(),
            "d#/items/0/metadata/annotations/iam.gke.io~1gcp-service-account"
        );
        assert!(inputs.clusters.is_empty(), "a node pool is not a cluster");
        let warnings: Vec<&str> = inputs
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            warnings,
            ["IAM binding at d#/bindings/1 has no role; skipped"]
        );
    }
}
