//! Kubernetes objects as read from documents: the few fields the identity
//! graph needs, typed, plus where each object was found.
//!
//! Parsing is lenient about shape (absent and `null` collections are empty,
//! unknown fields are ignored) and strict about meaning: a recognised object
//! that cannot be read is reported, never dropped silently.

use scopegraph_sdk::{Diagnostic, Document, EvidenceRef, Level};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;

/// The API group of Kubescape's storage objects.
pub const KUBESCAPE_GROUP: &str = "spdx.softwarecomposition.kubescape.io";

/// The kinds this provider understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Pod,
    ReplicaSet,
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    ServiceAccount,
    Role,
    ClusterRole,
    RoleBinding,
    ClusterRoleBinding,
    NetworkPolicy,
    /// Kubescape's learned network neighbours of a workload.
    NetworkNeighborhood,
    /// Kubescape's learned behaviour of a workload (syscalls, execs...).
    ApplicationProfile,
    /// Kubescape's names for external address ranges.
    KnownServer,
}

impl Kind {
    /// The kind for `kind` in API group `group`; other groups may reuse the
    /// names (Crossplane's `Role`, say), so the group must match too.
    fn recognise(group: &str, kind: &str) -> Option<Kind> {
        let kind = match kind {
            "Pod" => Kind::Pod,
            "ReplicaSet" => Kind::ReplicaSet,
            "Deployment" => Kind::Deployment,
            "StatefulSet" => Kind::StatefulSet,
            "DaemonSet" => Kind::DaemonSet,
            "Job" => Kind::Job,
            "CronJob" => Kind::CronJob,
            "ServiceAccount" => Kind::ServiceAccount,
            "Role" => Kind::Role,
            "ClusterRole" => Kind::ClusterRole,
            "RoleBinding" => Kind::RoleBinding,
            "ClusterRoleBinding" => Kind::ClusterRoleBinding,
            "NetworkPolicy" => Kind::NetworkPolicy,
            "NetworkNeighborhood" => Kind::NetworkNeighborhood,
            "ApplicationProfile" => Kind::ApplicationProfile,
            "KnownServer" => Kind::KnownServer,
            _ => return None,
        };
        let expected: &[&str] = match kind {
            Kind::Pod | Kind::ServiceAccount => &[""],
            // `extensions` served these before `apps` existed.
            Kind::ReplicaSet | Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet => {
                &["apps", "extensions"]
            }
            Kind::Job | Kind::CronJob => &["batch"],
            Kind::Role | Kind::ClusterRole | Kind::RoleBinding | Kind::ClusterRoleBinding => {
                &["rbac.authorization.k8s.io"]
            }
            Kind::NetworkPolicy => &["networking.k8s.io"],
            Kind::NetworkNeighborhood | Kind::ApplicationProfile | Kind::KnownServer => {
                &[KUBESCAPE_GROUP]
            }
        };
        expected.contains(&group).then_some(kind)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::Job => "Job",
            Kind::CronJob => "CronJob",
            Kind::ServiceAccount => "ServiceAccount",
            Kind::Role => "Role",
            Kind::ClusterRole => "ClusterRole",
            Kind::RoleBinding => "RoleBinding",
            Kind::ClusterRoleBinding => "ClusterRoleBinding",
            Kind::NetworkPolicy => "NetworkPolicy",
            Kind::NetworkNeighborhood => "NetworkNeighborhood",
            Kind::ApplicationProfile => "ApplicationProfile",
            Kind::KnownServer => "KnownServer",
        }
    }

    pub fn is_namespaced(self) -> bool {
        !matches!(
            self,
            Kind::ClusterRole | Kind::ClusterRoleBinding | Kind::KnownServer
        )
    }
}

/// Where an object was read from, for evidence and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub document: String,
    /// JSON pointer to the object inside a `List`, empty for a whole document.
    pub pointer: String,
}

impl Origin {
    /// `doc-id` or `doc-id#/items/3`, as `evidence-ref.reference` expects.
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

    /// Evidence pointing inside the object, `pointer` relative to it (`/rules/2`).
    pub fn evidence_at(&self, kind: &str, pointer: &str, summary: String) -> EvidenceRef {
        let reference = format!("{}#{}{pointer}", self.document, self.pointer);
        EvidenceRef {
            kind: kind.into(),
            reference,
            summary,
        }
    }
}

/// One recognised object.
#[derive(Debug, Clone)]
pub struct Object {
    pub cluster: String,
    pub kind: Kind,
    pub name: String,
    /// Empty for cluster-scoped kinds.
    pub namespace: String,
    pub meta: Meta,
    pub body: Body,
    pub origin: Origin,
}

impl Object {
    /// `Deployment analytics/report-agent`, `ClusterRole view`.
    pub fn display(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind.as_str(), self.name)
        } else {
            format!("{} {}/{}", self.kind.as_str(), self.namespace, self.name)
        }
    }
}

#[derive(Debug, Clone)]
pub enum Body {
    /// Pods and their controllers; `template` is the pod spec they run
    /// (for a Pod, its own), absent when the object carries none.
    Workload {
        template: Option<PodTemplate>,
    },
    ServiceAccount {
        automount_token: Option<bool>,
    },
    Role {
        rules: Vec<Rule>,
        aggregation: Option<AggregationRule>,
    },
    Binding {
        role_ref: Option<RoleRef>,
        subjects: Vec<Subject>,
    },
    NetworkPolicy {
        pod_selector: LabelSelector,
        /// Whether the policy restricts egress of the pods it selects.
        restricts_egress: bool,
    },
    /// Observed behaviour, as Kubescape records it.
    Profile(crate::runtime::Profile),
    KnownServers(Vec<crate::runtime::KnownServer>),
}

/// `null` and absent collections mean the same thing to the API server.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub name: Option<String>,
    pub namespace: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub managed_fields: Vec<ManagedField>,
    pub creation_timestamp: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub owner_references: Vec<OwnerReference>,
}

impl Meta {
    /// The owner that manages this object (at most one has `controller: true`).
    pub fn controller(&self) -> Option<&OwnerReference> {
        self.owner_references
            .iter()
            .find(|o| o.controller == Some(true))
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

/// One `metadata.managedFields` entry: who wrote the object, with what.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ManagedField {
    #[serde(default)]
    pub manager: String,
    #[serde(default)]
    pub operation: String,
}

impl Meta {
    /// Who manages the object, as far as its metadata says: a Helm release,
    /// the `app.kubernetes.io/managed-by` label, a GitOps tool's tracking
    /// annotation, or the field managers that applied it.
    pub fn owner(&self) -> Option<String> {
        let annotation = |k: &str| self.annotations.get(k).filter(|v| !v.is_empty());
        if let Some(release) = annotation("meta.helm.sh/release-name") {
            let namespace = annotation("meta.helm.sh/release-namespace")
                .map(|ns| format!(" in namespace {ns}"))
                .unwrap_or_default();
            return Some(format!("Helm release {release}{namespace}"));
        }
        if let Some(app) = annotation("argocd.argoproj.io/tracking-id")
            .map(|id| id.split(':').next().unwrap_or(id).to_string())
            .or_else(|| self.labels.get("argocd.argoproj.io/instance").cloned())
        {
            return Some(format!("Argo CD application {app}"));
        }
        if let Some(name) = self.labels.get("kustomize.toolkit.fluxcd.io/name") {
            return Some(format!("Flux Kustomization {name}"));
        }
        if let Some(manager) = self.labels.get("app.kubernetes.io/managed-by") {
            let instance = self
                .labels
                .get("app.kubernetes.io/instance")
                .map(|i| format!(" ({i})"))
                .unwrap_or_default();
            return Some(format!(
                "{manager}{instance}, per app.kubernetes.io/managed-by"
            ));
        }
        let mut managers: Vec<&str> = self
            .managed_fields
            .iter()
            .filter(|f| f.operation == "Apply" || f.operation == "Update")
            .map(|f| f.manager.as_str())
            .filter(|m| !m.is_empty())
            .collect();
        managers.dedup();
        (!managers.is_empty()).then(|| format!("field manager {}", managers.join(", ")))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    pub controller: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    pub service_account_name: Option<String>,
    /// Deprecated alias of `serviceAccountName`, still accepted by the API.
    pub service_account: Option<String>,
    pub automount_service_account_token: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub security_context: SecurityContext,
    #[serde(default, deserialize_with = "nullable")]
    pub containers: Vec<Container>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityContext {
    pub seccomp_profile: Option<SeccompProfile>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SeccompProfile {
    /// `Unconfined`, `RuntimeDefault` or `Localhost`.
    #[serde(default, rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub security_context: SecurityContext,
}

impl PodSpec {
    pub fn service_account(&self) -> Option<&str> {
        [&self.service_account_name, &self.service_account]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .find(|name| !name.is_empty())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplate {
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "nullable")]
    pub spec: PodSpec,
    /// The controller's `spec.selector` (not part of the template itself):
    /// the stable way to select its pods, unlike template labels that
    /// change with every release.
    #[serde(skip)]
    pub selector: Option<LabelSelector>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    #[serde(default, deserialize_with = "nullable")]
    pub api_groups: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub resources: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub verbs: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub resource_names: Vec<String>,
    #[serde(default, deserialize_with = "nullable", rename = "nonResourceURLs")]
    pub non_resource_urls: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationRule {
    #[serde(default, deserialize_with = "nullable")]
    pub cluster_role_selectors: Vec<LabelSelector>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub match_labels: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub match_expressions: Vec<SelectorRequirement>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SelectorRequirement {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub operator: String,
    #[serde(default, deserialize_with = "nullable")]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    pub namespace: Option<String>,
}

// The raw shapes of each kind's body, before they are folded into `Body`.

#[derive(Deserialize)]
struct RawPod {
    #[serde(default, deserialize_with = "nullable")]
    spec: PodSpec,
}

#[derive(Deserialize)]
struct RawController {
    #[serde(default, deserialize_with = "nullable")]
    spec: RawControllerSpec,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawControllerSpec {
    template: Option<PodTemplate>,
    job_template: Option<RawJobTemplate>,
    selector: Option<LabelSelector>,
}

#[derive(Deserialize)]
struct RawJobTemplate {
    #[serde(default, deserialize_with = "nullable")]
    spec: RawJobSpec,
}

#[derive(Default, Deserialize)]
struct RawJobSpec {
    template: Option<PodTemplate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawServiceAccount {
    automount_service_account_token: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRole {
    #[serde(default, deserialize_with = "nullable")]
    rules: Vec<Rule>,
    aggregation_rule: Option<AggregationRule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBinding {
    role_ref: Option<RoleRef>,
    #[serde(default, deserialize_with = "nullable")]
    subjects: Vec<Subject>,
}

#[derive(Deserialize)]
struct RawNetworkPolicy {
    #[serde(default, deserialize_with = "nullable")]
    spec: RawNetworkPolicySpec,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNetworkPolicySpec {
    #[serde(default, deserialize_with = "nullable")]
    pod_selector: LabelSelector,
    policy_types: Option<Vec<String>>,
    egress: Option<Value>,
}

/// What one document yields.
#[derive(Debug, Default)]
pub struct Parsed {
    pub objects: Vec<Object>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    fn warn(&mut self, document: &Document, message: String) {
        self.diagnostics.push(Diagnostic {
            level: Level::Warn,
            source: document.id.clone(),
            message,
        });
    }
}

/// The API group of an `apiVersion`: `apps/v1` -> `apps`, `v1` -> ``.
fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

fn str_field<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Read the Kubernetes objects of one document; anything that is not a
/// Kubernetes object (no `apiVersion` and `kind`) yields nothing, quietly.
pub fn parse(document: &Document) -> Parsed {
    let mut parsed = Parsed::default();
    let Ok(root) = serde_json::from_str::<Value>(&document.content) else {
        return parsed;
    };
    let (Some(api_version), Some(kind)) =
        (str_field(&root, "apiVersion"), str_field(&root, "kind"))
    else {
        return parsed;
    };
    let items = root.get("items");
    // `List` (kubectl get) or a typed list (`PodList`, straight from the API);
    // a kind that merely ends in `List` but has no `items` array is an object.
    let is_list = kind == "List"
        || (kind.ends_with("List") && matches!(items, Some(Value::Array(_) | Value::Null)));
    if !is_list {
        read_object(
            document,
            &root,
            api_version,
            kind,
            String::new(),
            &mut parsed,
        );
        return parsed;
    }
    let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
    let Some(items) = items.and_then(Value::as_array) else {
        if !matches!(items, None | Some(Value::Null)) {
            parsed.warn(
                document,
                format!("{kind}: `items` is not an array; nothing read"),
            );
        }
        return parsed;
    };
    for (index, item) in items.iter().enumerate() {
        if !item.is_object() {
            parsed.warn(
                document,
                format!("{kind} item {index} is not an object; skipped"),
            );
            continue;
        }
        // Items of a typed list usually omit their own apiVersion and kind.
        let item_api = str_field(item, "apiVersion").unwrap_or(api_version);
        match str_field(item, "kind").or(item_kind) {
            Some(k) => read_object(
                document,
                item,
                item_api,
                k,
                format!("/items/{index}"),
                &mut parsed,
            ),
            None => parsed.warn(
                document,
                format!("{kind} item {index} has no kind; skipped"),
            ),
        }
    }
    parsed
}

fn read_object(
    document: &Document,
    object: &Value,
    api_version: &str,
    kind: &str,
    pointer: String,
    parsed: &mut Parsed,
) {
    let Some(kind) = Kind::recognise(api_group(api_version), kind) else {
        return;
    };
    let origin = Origin {
        document: document.id.clone(),
        pointer,
    };
    let at = if origin.pointer.is_empty() {
        String::new()
    } else {
        format!(" at {}", origin.pointer)
    };
    let meta = match object.get("metadata").map(Option::<Meta>::deserialize) {
        None => Meta::default(),
        Some(Ok(meta)) => meta.unwrap_or_default(),
        Some(Err(err)) => {
            parsed.warn(
                document,
                format!(
                    "{}{at}: unreadable metadata ({err}); skipped",
                    kind.as_str()
                ),
            );
            return;
        }
    };
    let Some(name) = meta.name.clone().filter(|n| !n.is_empty()) else {
        parsed.warn(
            document,
            format!("{}{at} has no metadata.name; skipped", kind.as_str()),
        );
        return;
    };
    let body = match read_body(kind, object, &meta) {
        Ok(body) => body,
        Err(err) => {
            parsed.warn(
                document,
                format!("{} {name}{at} is malformed ({err}); skipped", kind.as_str()),
            );
            return;
        }
    };
    // Manifests applied without a namespace land in the context's namespace.
    let namespace = if kind.is_namespaced() {
        meta.namespace
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| document.context("namespace").map(String::from))
            .unwrap_or_else(|| "default".into())
    } else {
        String::new()
    };
    parsed.objects.push(Object {
        cluster: document.context("cluster").unwrap_or("default").to_string(),
        kind,
        name,
        namespace,
        meta,
        body,
        origin,
    });
}

fn read_body(kind: Kind, object: &Value, meta: &Meta) -> Result<Body, serde_json::Error> {
    Ok(match kind {
        Kind::Pod => {
            let pod = RawPod::deserialize(object)?;
            Body::Workload {
                template: Some(PodTemplate {
                    metadata: meta.clone(),
                    spec: pod.spec,
                    selector: None,
                }),
            }
        }
        Kind::ReplicaSet | Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet | Kind::Job => {
            let spec = RawController::deserialize(object)?.spec;
            Body::Workload {
                template: spec.template.map(|mut t| {
                    t.selector = spec.selector;
                    t
                }),
            }
        }
        Kind::CronJob => {
            let cron = RawController::deserialize(object)?;
            Body::Workload {
                template: cron.spec.job_template.and_then(|job| job.spec.template),
            }
        }
        Kind::ServiceAccount => Body::ServiceAccount {
            automount_token: RawServiceAccount::deserialize(object)?
                .automount_service_account_token,
        },
        Kind::Role | Kind::ClusterRole => {
            let role = RawRole::deserialize(object)?;
            Body::Role {
                rules: role.rules,
                aggregation: role.aggregation_rule,
            }
        }
        Kind::RoleBinding | Kind::ClusterRoleBinding => {
            let binding = RawBinding::deserialize(object)?;
            Body::Binding {
                role_ref: binding.role_ref,
                subjects: binding.subjects,
            }
        }
        Kind::NetworkPolicy => {
            let spec = RawNetworkPolicy::deserialize(object)?.spec;
            // Without `policyTypes`, a policy restricts egress when it has
            // an `egress` section (even an empty one: deny all).
            let restricts_egress = match &spec.policy_types {
                Some(types) => types.iter().any(|t| t == "Egress"),
                None => spec.egress.is_some(),
            };
            Body::NetworkPolicy {
                pod_selector: spec.pod_selector,
                restricts_egress,
            }
        }
        Kind::NetworkNeighborhood | Kind::ApplicationProfile => {
            Body::Profile(crate::runtime::Profile::read(kind, object, meta)?)
        }
        Kind::KnownServer => Body::KnownServers(crate::runtime::KnownServer::read(object)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::document;

    fn names(parsed: &Parsed) -> Vec<(Kind, &str, &str, &str)> {
        parsed
            .objects
            .iter()
            .map(|o| {
                (
                    o.kind,
                    o.namespace.as_str(),
                    o.name.as_str(),
                    o.origin.pointer.as_str(),
                )
            })
            .collect()
    }

    fn warnings(parsed: &Parsed) -> Vec<&str> {
        parsed
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect()
    }

    #[test]
    fn typed_list_items_take_their_kind_from_the_list() {
        let parsed = parse(&document(
            "d",
            r#"{"apiVersion": "v1", "kind": "PodList", "items": [
                {"metadata": {"name": "a", "namespace": "ns"}, "spec": {"serviceAccountName": "sa"}},
                {"metadata": {"name": "b", "namespace": "ns"}}]}"#,
        ));
        assert_eq!(
            names(&parsed),
            [
                (Kind::Pod, "ns", "a", "/items/0"),
                (Kind::Pod, "ns", "b", "/items/1")
            ]
        );
        assert_eq!(parsed.objects[0].origin.reference(), "d#/items/0");
        assert_eq!(parsed.objects[0].cluster, "c");
        let Body::Workload {
            template: Some(template),
        } = &parsed.objects[0].body
        else {
            panic!()
        };
        assert_eq!(template.spec.service_account(), Some("sa"));
    }

    #[test]
    fn rbac_lists_carry_their_api_version_to_items() {
        let parsed = parse(&document(
            "d",
            r#"{"apiVersion": "rbac.authorization.k8s.io/v1beta1", "kind": "ClusterRoleList", "items": [
                {"metadata": {"name": "r"}, "rules": null}]}"#,
        ));
        assert_eq!(names(&parsed), [(Kind::ClusterRole, "", "r", "/items/0")]);
    }

    #[test]
    fn single_objects_default_their_namespace() {
        let mut doc = document(
            "d",
            r#"{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}}"#,
        );
        assert_eq!(
            names(&parse(&doc)),
            [(Kind::ServiceAccount, "default", "sa", "")]
        );
        doc.context.push(("namespace".into(), "team".into()));
        assert_eq!(
            names(&parse(&doc)),
            [(Kind::ServiceAccount, "team", "sa", "")]
        );
    }

    #[test]
    fn other_kinds_groups_and_non_kubernetes_documents_yield_nothing() {
        for content in [
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}"#,
            r#"{"apiVersion": "iam.aws.crossplane.io/v1beta1", "kind": "Role", "metadata": {"name": "x"}}"#,
            r#"{"kind": "Pod", "metadata": {"name": "x"}}"#,
            r#"{"apiVersion": "v1", "kind": "List", "items": []}"#,
            r#"{"apiVersion": "v1", "kind": "PodList", "items": null}"#,
            r#"{"Records": []}"#,
            "key: value",
        ] {
            let parsed = parse(&document("d", content));
            assert!(
                parsed.objects.is_empty() && parsed.diagnostics.is_empty(),
                "{content}"
            );
        }
    }

    #[test]
    fn unusable_objects_are_reported_and_the_rest_read() {
        let parsed = parse(&document(
            "d",
            r#"{"apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": {"name": "rb", "namespace": "ns"}, "subjects": "everyone"},
                {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "ns"}},
                {"metadata": {"name": "no-kind"}},
                42,
                {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"a": 1}, "name": "p"}},
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ok", "namespace": "ns"}}]}"#,
        ));
        assert_eq!(
            names(&parsed),
            [(Kind::ServiceAccount, "ns", "ok", "/items/5")]
        );
        let warnings = warnings(&parsed);
        assert_eq!(warnings.len(), 5, "{warnings:?}");
        assert!(
            warnings[0].starts_with("RoleBinding rb at /items/0 is malformed"),
            "{}",
            warnings[0]
        );
        assert_eq!(warnings[1], "Pod at /items/1 has no metadata.name; skipped");
        assert_eq!(warnings[2], "List item 2 has no kind; skipped");
        assert_eq!(warnings[3], "List item 3 is not an object; skipped");
        assert!(
            warnings[4].starts_with("Pod at /items/4: unreadable metadata"),
            "{}",
            warnings[4]
        );
        assert!(
            parsed
                .diagnostics
                .iter()
                .all(|d| d.level == Level::Warn && d.source == "d")
        );
    }

    #[test]
    fn cron_jobs_expose_the_pod_template_of_their_job_template() {
        let parsed = parse(&document(
            "d",
            r#"{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "ns"},
                "spec": {"jobTemplate": {"spec": {"template": {"spec": {"serviceAccountName": "exporter"}}}}}}"#,
        ));
        let Some(Body::Workload {
            template: Some(template),
        }) = parsed.objects.first().map(|o| &o.body)
        else {
            panic!("{parsed:?}")
        };
        assert_eq!(template.spec.service_account(), Some("exporter"));
    }
}
