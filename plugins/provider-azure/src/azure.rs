//! Azure documents as read from `az … -o json`: the few fields the identity
//! graph needs, typed, plus where each record was found.
//!
//! Parsing is lenient about shape (absent and `null` fields are empty,
//! unknown fields are ignored) and strict about meaning: a record of a
//! recognised document that cannot be used is reported as a warning and
//! skipped; the rest of the document is still read.

use crate::output::{Origin, Output};
use crate::roles::{PermissionBlock, RoleDefinition, guid_of, nullable};
use scopegraph_sdk::Document;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What a document is, for this provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `az aks show`.
    AksCluster,
    /// `az identity list`.
    Identities,
    /// `az identity federated-credential list`, `az ad app federated-credential list`.
    FederatedCredentials,
    /// `az ad sp list`.
    ServicePrincipals,
    /// `az role assignment list`.
    RoleAssignments,
    /// `az role definition list`.
    RoleDefinitions,
    /// Microsoft Graph `GET /groups?$expand=members` (`az rest`).
    GroupMembers,
    /// `kubectl get … -o json`.
    Kubernetes,
}

fn has(value: &Value, key: &str) -> bool {
    value.get(key).is_some()
}

/// The host's class names (`document.kind`); any other kind (a host that
/// did not sniff, a test) is recognised by content with the host's rules.
pub fn classify(document: &Document, value: &Value) -> Option<Class> {
    match document.kind.as_str() {
        "azure/aks-cluster" => return Some(Class::AksCluster),
        "azure/identities" => return Some(Class::Identities),
        "azure/federated-credentials" => return Some(Class::FederatedCredentials),
        "azure/service-principals" => return Some(Class::ServicePrincipals),
        "azure/role-assignments" => return Some(Class::RoleAssignments),
        "azure/role-definitions" => return Some(Class::RoleDefinitions),
        "azure/group-members" => return Some(Class::GroupMembers),
        kind if kind == "kubernetes" || kind.starts_with("kubernetes/") => {
            return Some(Class::Kubernetes);
        }
        _ => {}
    }
    if let Some(items) = value.as_array() {
        let first = items.first()?;
        return if has(first, "roleDefinitionId") && has(first, "principalId") {
            Some(Class::RoleAssignments)
        } else if has(first, "roleName") && has(first, "permissions") {
            Some(Class::RoleDefinitions)
        } else if has(first, "issuer") && has(first, "subject") && has(first, "audiences") {
            Some(Class::FederatedCredentials)
        } else if has(first, "clientId") && has(first, "principalId") {
            Some(Class::Identities)
        } else if has(first, "appId") && has(first, "servicePrincipalType") {
            Some(Class::ServicePrincipals)
        } else {
            None
        };
    }
    let str_field = |key: &str| value.get(key).and_then(Value::as_str);
    if str_field("@odata.context").is_some_and(|c| c.contains("#groups"))
        && value.get("value").is_some_and(Value::is_array)
    {
        return Some(Class::GroupMembers);
    }
    if let (Some(api_version), Some(_)) = (str_field("apiVersion"), str_field("kind")) {
        return (!api_version.starts_with("audit.k8s.io/")).then_some(Class::Kubernetes);
    }
    str_field("type")
        .is_some_and(|t| t.eq_ignore_ascii_case("Microsoft.ContainerService/ManagedClusters"))
        .then_some(Class::AksCluster)
}

/// A string field that is present and not empty.
fn text(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The last segment of an ARM resource id.
pub fn last_segment(resource_id: &str) -> &str {
    resource_id
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

// ---------------------------------------------------------------- AKS clusters

/// An AKS cluster (`az aks show`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The cluster name: what the host names the cluster of the Kubernetes
    /// documents beside or below this one.
    pub name: String,
    pub resource_id: String,
    /// `oidcIssuerProfile.issuerUrl`, verbatim (AKS issuers end in `/`).
    pub issuer: Option<String>,
    /// `securityProfile.workloadIdentity.enabled`: the webhook is installed.
    pub workload_identity: bool,
    pub kubelet: Option<Kubelet>,
    pub node_resource_group: String,
    pub origin: Origin,
}

/// `identityProfile.kubeletidentity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kubelet {
    pub client_id: String,
    pub object_id: String,
    pub resource_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCluster {
    name: Option<String>,
    id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    oidc_issuer_profile: RawOidcIssuer,
    #[serde(default, deserialize_with = "nullable")]
    security_profile: RawSecurityProfile,
    #[serde(default, deserialize_with = "nullable")]
    identity_profile: RawIdentityProfile,
    node_resource_group: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOidcIssuer {
    enabled: Option<bool>,
    issuer_url: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSecurityProfile {
    #[serde(default, deserialize_with = "nullable")]
    workload_identity: RawEnabled,
}

#[derive(Default, Deserialize)]
struct RawEnabled {
    enabled: Option<bool>,
}

#[derive(Default, Deserialize)]
struct RawIdentityProfile {
    kubeletidentity: Option<RawUserAssigned>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawUserAssigned {
    client_id: Option<String>,
    object_id: Option<String>,
    resource_id: Option<String>,
}

// ---------------------------------------------------------------- identities

/// A user-assigned managed identity (`az identity list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub resource_id: String,
    pub name: String,
    pub client_id: String,
    pub principal_id: String,
    pub tenant_id: Option<String>,
    pub resource_type: String,
    pub resource_group: Option<String>,
    pub origin: Origin,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawIdentity {
    id: Option<String>,
    name: Option<String>,
    client_id: Option<String>,
    principal_id: Option<String>,
    tenant_id: Option<String>,
    #[serde(rename = "type")]
    resource_type: Option<String>,
    resource_group: Option<String>,
}

/// A service principal (`az ad sp list`): an application's, or a managed identity's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePrincipal {
    pub object_id: String,
    pub app_id: String,
    pub display_name: String,
    /// `Application`, `ManagedIdentity`, `Legacy`, `SocialIdp`.
    pub principal_type: String,
    /// For managed identities: the identity's resource id (from `alternativeNames`).
    pub resource_id: Option<String>,
    pub origin: Origin,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawServicePrincipal {
    /// Microsoft Graph spelling (az 2.37 and later).
    id: Option<String>,
    /// Azure AD Graph spelling (older az).
    object_id: Option<String>,
    app_id: Option<String>,
    display_name: Option<String>,
    service_principal_type: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    alternative_names: Vec<String>,
}

// ---------------------------------------------------------------- federated credentials

/// Whom a federated credential belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialOwner {
    /// A user-assigned managed identity, named by the credential's own id.
    ManagedIdentity { resource_id: String, name: String },
    /// An app registration: the output of `az ad app federated-credential
    /// list` does not name the application, so the candidates are the
    /// GUIDs in the document's source path (lowercase).
    Application { path_guids: Vec<String> },
}

/// A federated identity credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedCredential {
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
    pub owner: CredentialOwner,
    pub origin: Origin,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCredential {
    id: Option<String>,
    name: Option<String>,
    issuer: Option<String>,
    subject: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    audiences: Vec<String>,
}

const CREDENTIALS_SEGMENT: &str = "/federatedidentitycredentials/";
const USER_ASSIGNED: &str = "/providers/microsoft.managedidentity/userassignedidentities/";

/// `/subscriptions/S/resourceGroups/RG/providers/Microsoft.ManagedIdentity/
/// userAssignedIdentities/IDENTITY/federatedIdentityCredentials/NAME` ->
/// the identity's resource id and name.
fn managed_identity_of(credential_id: &str) -> Option<(String, String)> {
    let lower = credential_id.to_ascii_lowercase();
    let at = lower.find(CREDENTIALS_SEGMENT)?;
    if !lower.contains(USER_ASSIGNED) {
        return None;
    }
    let identity = credential_id.get(..at)?;
    let name = last_segment(identity);
    (!name.is_empty()).then(|| (identity.to_string(), name.to_string()))
}

/// Every GUID (8-4-4-4-12 hex digits) in `text`, lowercase.
pub fn guids_in(text: &str) -> Vec<String> {
    const DASHES: [usize; 4] = [8, 13, 18, 23];
    let bytes = text.as_bytes();
    let mut found: Vec<String> = Vec::new();
    let mut start = 0;
    while let Some(window) = bytes.get(start..start + 36) {
        let is_guid = window.iter().enumerate().all(|(i, &c)| {
            if DASHES.contains(&i) {
                c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
        let bounded = |at: Option<&u8>| at.is_none_or(|c| !c.is_ascii_alphanumeric());
        let standalone = bounded(start.checked_sub(1).and_then(|i| bytes.get(i)))
            && bounded(bytes.get(start + 36));
        if is_guid && standalone {
            let guid = String::from_utf8_lossy(window).to_ascii_lowercase();
            if !found.contains(&guid) {
                found.push(guid);
            }
            start += 36;
        } else {
            start += 1;
        }
    }
    found
}

// ---------------------------------------------------------------- RBAC

/// A role assignment (`az role assignment list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignment {
    pub id: String,
    pub principal_id: String,
    /// `ServicePrincipal`, `User`, `Group`, `ForeignGroup`, `Device`.
    pub principal_type: String,
    pub principal_name: Option<String>,
    pub role_definition_id: String,
    pub role_definition_name: Option<String>,
    pub scope: String,
    /// The ABAC condition, in Azure's condition language.
    pub condition: Option<String>,
    /// `conditionVersion` of the condition (`2.0`).
    pub condition_version: Option<String>,
    /// `createdBy`: the object id of whoever made the assignment.
    pub created_by: Option<String>,
    pub origin: Origin,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAssignment {
    id: Option<String>,
    principal_id: Option<String>,
    principal_type: Option<String>,
    principal_name: Option<String>,
    role_definition_id: Option<String>,
    role_definition_name: Option<String>,
    scope: Option<String>,
    condition: Option<String>,
    condition_version: Option<String>,
    created_by: Option<String>,
}

const ASSIGNMENTS_SEGMENT: &str = "/providers/microsoft.authorization/roleassignments/";

/// A role definition from the snapshot (`az role definition list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRole {
    pub definition: RoleDefinition,
    /// `CustomRole` or `BuiltInRole`.
    pub role_type: String,
    pub origin: Origin,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoleDefinition {
    id: Option<String>,
    name: Option<String>,
    role_name: Option<String>,
    role_type: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    permissions: Vec<PermissionBlock>,
}

// ---------------------------------------------------------------- reading

/// Every Azure record of the snapshot, in document order.
#[derive(Debug, Default)]
pub struct AzureRecords {
    pub clusters: Vec<Cluster>,
    pub identities: Vec<Identity>,
    pub service_principals: Vec<ServicePrincipal>,
    pub credentials: Vec<FederatedCredential>,
    pub assignments: Vec<RoleAssignment>,
    pub roles: Vec<SnapshotRole>,
    pub groups: Vec<crate::groups::Group>,
}

impl AzureRecords {
    /// Read one Azure document of class `class` (not `Kubernetes`).
    pub fn read(&mut self, document: &Document, value: &Value, class: Class, out: &mut Output) {
        match class {
            Class::AksCluster => self.read_cluster(document, value, out),
            Class::Identities => for_each_item(
                document,
                value,
                "managed identity",
                out,
                |item, origin, out| self.read_identity(item, origin, out),
            ),
            Class::ServicePrincipals => for_each_item(
                document,
                value,
                "service principal",
                out,
                |item, origin, out| self.read_service_principal(item, origin, out),
            ),
            Class::FederatedCredentials => {
                let path_guids = guids_in(&document.source);
                for_each_item(
                    document,
                    value,
                    "federated credential",
                    out,
                    |item, origin, out| self.read_credential(item, origin, &path_guids, out),
                )
            }
            Class::RoleAssignments => for_each_item(
                document,
                value,
                "role assignment",
                out,
                |item, origin, out| self.read_assignment(item, origin, out),
            ),
            Class::GroupMembers => self
                .groups
                .extend(crate::groups::read(document, value, out)),
            Class::RoleDefinitions => for_each_item(
                document,
                value,
                "role definition",
                out,
                |item, origin, out| self.read_role(item, origin, out),
            ),
            Class::Kubernetes => {}
        }
    }

    fn read_cluster(&mut self, document: &Document, value: &Value, out: &mut Output) {
        let origin = Origin::new(&document.id, String::new());
        let Some(raw) = decode::<RawCluster>(value, "AKS cluster", &origin, out) else {
            return;
        };
        let Some(name) = text(raw.name).or_else(|| document.context("cluster").map(String::from))
        else {
            out.warn(
                &document.id,
                "AKS cluster description without a name; skipped".into(),
            );
            return;
        };
        let issuer = text(raw.oidc_issuer_profile.issuer_url)
            .filter(|_| raw.oidc_issuer_profile.enabled != Some(false));
        let kubelet = raw.identity_profile.kubeletidentity.and_then(|k| {
            match (text(k.object_id), text(k.client_id)) {
                (Some(object_id), client_id) => Some(Kubelet {
                    client_id: client_id.unwrap_or_default(),
                    object_id,
                    resource_id: text(k.resource_id).unwrap_or_default(),
                }),
                (None, _) => None,
            }
        });
        self.clusters.push(Cluster {
            name,
            resource_id: text(raw.id).unwrap_or_default(),
            issuer,
            workload_identity: raw.security_profile.workload_identity.enabled == Some(true),
            kubelet,
            node_resource_group: text(raw.node_resource_group).unwrap_or_default(),
            origin,
        });
    }

    fn read_identity(&mut self, item: &Value, origin: Origin, out: &mut Output) {
        let Some(raw) = decode::<RawIdentity>(item, "managed identity", &origin, out) else {
            return;
        };
        let (Some(client_id), Some(principal_id)) = (text(raw.client_id), text(raw.principal_id))
        else {
            skip(
                out,
                &origin,
                "managed identity",
                "has no clientId or principalId",
            );
            return;
        };
        let resource_id = text(raw.id).unwrap_or_default();
        let name = text(raw.name).unwrap_or_else(|| last_segment(&resource_id).to_string());
        self.identities.push(Identity {
            name,
            client_id,
            principal_id,
            tenant_id: text(raw.tenant_id),
            resource_type: text(raw.resource_type)
                .unwrap_or_else(|| "Microsoft.ManagedIdentity/userAssignedIdentities".into()),
            resource_group: text(raw.resource_group),
            resource_id,
            origin,
        });
    }

    fn read_service_principal(&mut self, item: &Value, origin: Origin, out: &mut Output) {
        let Some(raw) = decode::<RawServicePrincipal>(item, "service principal", &origin, out)
        else {
            return;
        };
        let (Some(object_id), Some(app_id)) =
            (text(raw.id).or(text(raw.object_id)), text(raw.app_id))
        else {
            skip(out, &origin, "service principal", "has no id or appId");
            return;
        };
        let resource_id = raw
            .alternative_names
            .iter()
            .find(|n| n.to_ascii_lowercase().starts_with("/subscriptions/"))
            .cloned();
        self.service_principals.push(ServicePrincipal {
            display_name: text(raw.display_name).unwrap_or_else(|| app_id.clone()),
            object_id,
            app_id,
            principal_type: text(raw.service_principal_type).unwrap_or_default(),
            resource_id,
            origin,
        });
    }

    fn read_credential(
        &mut self,
        item: &Value,
        origin: Origin,
        path_guids: &[String],
        out: &mut Output,
    ) {
        let Some(raw) = decode::<RawCredential>(item, "federated credential", &origin, out) else {
            return;
        };
        let (Some(issuer), Some(subject)) = (raw.issuer, raw.subject) else {
            skip(
                out,
                &origin,
                "federated credential",
                "has no issuer or subject",
            );
            return;
        };
        let id = text(raw.id).unwrap_or_default();
        let owner = match managed_identity_of(&id) {
            Some((resource_id, name)) => CredentialOwner::ManagedIdentity { resource_id, name },
            None => CredentialOwner::Application {
                path_guids: path_guids.to_vec(),
            },
        };
        self.credentials.push(FederatedCredential {
            name: text(raw.name).unwrap_or_else(|| last_segment(&id).to_string()),
            id,
            // Compared exactly, as Azure does: not trimmed, not normalised.
            issuer,
            subject,
            audiences: raw.audiences,
            owner,
            origin,
        });
    }

    fn read_assignment(&mut self, item: &Value, origin: Origin, out: &mut Output) {
        let Some(raw) = decode::<RawAssignment>(item, "role assignment", &origin, out) else {
            return;
        };
        let (Some(id), Some(principal_id), Some(role_definition_id)) = (
            text(raw.id),
            text(raw.principal_id),
            text(raw.role_definition_id),
        ) else {
            skip(
                out,
                &origin,
                "role assignment",
                "has no id, principalId or roleDefinitionId",
            );
            return;
        };
        // Older exports may lack `scope`; the assignment id starts with it.
        let scope = text(raw.scope).or_else(|| {
            let at = id.to_ascii_lowercase().find(ASSIGNMENTS_SEGMENT)?;
            let scope = id.get(..at)?;
            Some(if scope.is_empty() {
                "/".into()
            } else {
                scope.into()
            })
        });
        let Some(scope) = scope else {
            skip(out, &origin, "role assignment", "has no scope");
            return;
        };
        self.assignments.push(RoleAssignment {
            id,
            principal_id,
            principal_type: text(raw.principal_type).unwrap_or_default(),
            principal_name: text(raw.principal_name),
            role_definition_id,
            role_definition_name: text(raw.role_definition_name),
            scope,
            condition: text(raw.condition),
            condition_version: text(raw.condition_version),
            created_by: text(raw.created_by),
            origin,
        });
    }

    fn read_role(&mut self, item: &Value, origin: Origin, out: &mut Output) {
        let Some(raw) = decode::<RawRoleDefinition>(item, "role definition", &origin, out) else {
            return;
        };
        let guid = text(raw.name)
            .filter(|n| guids_in(n).len() == 1 && n.len() == 36)
            .map(|n| n.to_ascii_lowercase())
            .or_else(|| text(raw.id).map(|id| guid_of(&id)))
            .filter(|g| !g.is_empty());
        let (Some(guid), Some(name)) = (guid, text(raw.role_name)) else {
            skip(out, &origin, "role definition", "has no id or roleName");
            return;
        };
        self.roles.push(SnapshotRole {
            definition: RoleDefinition {
                guid,
                name,
                permissions: raw.permissions,
            },
            role_type: text(raw.role_type).unwrap_or_default(),
            origin,
        });
    }
}

/// Call `read` on every object of an `az … list` array (or on the document
/// itself when it is a single object, as `az … show` prints it).
fn for_each_item(
    document: &Document,
    value: &Value,
    what: &str,
    out: &mut Output,
    mut read: impl FnMut(&Value, Origin, &mut Output),
) {
    match value {
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let origin = Origin::new(&document.id, format!("/{index}"));
                if item.is_object() {
                    read(item, origin, out);
                } else {
                    skip(out, &origin, what, "is not an object");
                }
            }
        }
        Value::Object(_) => read(value, Origin::new(&document.id, String::new()), out),
        _ => out.warn(
            &document.id,
            format!("expected a list of {what}s; nothing read"),
        ),
    }
}

fn decode<T: DeserializeOwned>(
    value: &Value,
    what: &str,
    origin: &Origin,
    out: &mut Output,
) -> Option<T> {
    match T::deserialize(value) {
        Ok(raw) => Some(raw),
        Err(err) => {
            skip(out, origin, what, &format!("is malformed ({err})"));
            None
        }
    }
}

fn skip(out: &mut Output, origin: &Origin, what: &str, why: &str) {
    let at = if origin.pointer.is_empty() {
        String::new()
    } else {
        format!(" at {}", origin.pointer)
    };
    out.warn(&origin.document, format!("{what}{at} {why}; skipped"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::document;

    fn read(content: &str) -> (AzureRecords, Vec<String>) {
        let doc = document("d", content);
        let value: Value = serde_json::from_str(content).unwrap();
        let class = classify(&doc, &value).unwrap();
        let mut records = AzureRecords::default();
        let mut out = Output::default();
        records.read(&doc, &value, class, &mut out);
        let messages = out
            .finish()
            .diagnostics
            .into_iter()
            .map(|d| d.message)
            .collect();
        (records, messages)
    }

    #[test]
    fn classifies_like_the_host() {
        let cases = [
            (
                r#"[{"roleDefinitionId": "/x", "principalId": "y"}]"#,
                Some(Class::RoleAssignments),
            ),
            (
                r#"[{"roleName": "r", "permissions": []}]"#,
                Some(Class::RoleDefinitions),
            ),
            (
                r#"[{"issuer": "i", "subject": "s", "audiences": []}]"#,
                Some(Class::FederatedCredentials),
            ),
            (
                r#"[{"clientId": "c", "principalId": "p"}]"#,
                Some(Class::Identities),
            ),
            (
                r#"[{"appId": "a", "servicePrincipalType": "Application"}]"#,
                Some(Class::ServicePrincipals),
            ),
            (
                r#"{"name": "aks", "type": "Microsoft.ContainerService/ManagedClusters"}"#,
                Some(Class::AksCluster),
            ),
            (
                r#"{"apiVersion": "v1", "kind": "List", "items": []}"#,
                Some(Class::Kubernetes),
            ),
            (
                r#"{"apiVersion": "audit.k8s.io/v1", "kind": "Event"}"#,
                None,
            ),
            (
                r#"[{"eventSource": "s3.amazonaws.com", "eventName": "GetObject"}]"#,
                None,
            ),
            ("[]", None),
            ("42", None),
        ];
        for (content, expected) in cases {
            let value: Value = serde_json::from_str(content).unwrap();
            assert_eq!(
                classify(&document("d", content), &value),
                expected,
                "{content}"
            );
        }
        let mut doc = document("d", "{}");
        doc.kind = "azure/role-assignments".into();
        assert_eq!(classify(&doc, &Value::Null), Some(Class::RoleAssignments));
    }

    #[test]
    fn credentials_name_their_managed_identity_or_not() {
        let (records, messages) = read(
            r#"[{"audiences": ["api://AzureADTokenExchange"], "issuer": "https://i/", "subject": "system:serviceaccount:a:b",
                 "id": "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x/federatedIdentityCredentials/fic",
                 "name": "fic"},
                {"audiences": [], "issuer": "https://i/", "subject": "repo:o/r:ref:refs/heads/main",
                 "id": "0f0e0d0c-0b0a-4908-8706-050403020100", "name": "gh"},
                {"audiences": null, "issuer": null, "subject": "x", "id": "y"},
                "junk"]"#,
        );
        assert_eq!(records.credentials.len(), 2);
        assert_eq!(
            records.credentials[0].owner,
            CredentialOwner::ManagedIdentity {
                resource_id: "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x".into(),
                name: "id-x".into()
            }
        );
        assert_eq!(
            records.credentials[1].owner,
            CredentialOwner::Application { path_guids: vec![] }
        );
        assert_eq!(records.credentials[1].origin.reference(), "d#/1");
        assert_eq!(
            messages,
            [
                "federated credential at /2 has no issuer or subject; skipped",
                "federated credential at /3 is not an object; skipped"
            ]
        );
    }

    #[test]
    fn guids_are_found_in_paths() {
        assert_eq!(
            guids_in("snap/apps/5C1B7D3E-2F4A-4B6C-8D9E-0A1B2C3D4E5F/fic.json"),
            ["5c1b7d3e-2f4a-4b6c-8d9e-0a1b2c3d4e5f"]
        );
        assert!(guids_in("x5c1b7d3e-2f4a-4b6c-8d9e-0a1b2c3d4e5f").is_empty());
        assert!(guids_in("no guid here").is_empty());
        assert!(guids_in("").is_empty());
    }

    #[test]
    fn assignments_without_scope_take_it_from_their_id() {
        let (records, messages) = read(
            r#"[{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/a",
                 "principalId": "p", "roleDefinitionId": "/x/acdd72a7-3385-48ef-bd42-f606fba81ae7"},
                {"id": "/providers/Microsoft.Authorization/roleAssignments/b",
                 "principalId": "p", "roleDefinitionId": "/x/r", "scope": null},
                {"principalId": "p", "roleDefinitionId": "/x/r"},
                {"id": "c", "principalId": 7, "roleDefinitionId": "/x/r"}]"#,
        );
        let scopes: Vec<&str> = records
            .assignments
            .iter()
            .map(|a| a.scope.as_str())
            .collect();
        assert_eq!(scopes, ["/subscriptions/s/resourceGroups/rg", "/"]);
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages[1].starts_with("role assignment at /3 is malformed"),
            "{}",
            messages[1]
        );
    }

    #[test]
    fn clusters_without_oidc_have_no_issuer() {
        let (records, _) = read(
            r#"{"name": "a", "type": "Microsoft.ContainerService/ManagedClusters",
                "oidcIssuerProfile": {"enabled": false, "issuerUrl": "https://stale/"},
                "securityProfile": null, "identityProfile": null}"#,
        );
        assert_eq!(records.clusters[0].issuer, None);
        assert!(!records.clusters[0].workload_identity);
        assert_eq!(records.clusters[0].kubelet, None);
    }
}
