//! The Entra ID principals of the snapshot, and their `cloud-identity` nodes.
//!
//! A user-assigned managed identity appears twice in a full export: in
//! `az identity list` (resource id, client id, principal id) and in
//! `az ad sp list` (as a service principal of type `ManagedIdentity`, whose
//! `appId` is the client id and `id` the principal id). Both describe the
//! node `azure:{principalId}`; the first record read gives a key its value.

use crate::azure::{AzureRecords, Identity, ServicePrincipal};
use crate::output::{Output, principal_id};
use scopegraph_sdk::{Cloud, Node};
use std::collections::HashMap;

/// A managed identity or service principal the snapshot describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Object id, lowercase.
    pub object_id: String,
    pub name: String,
    pub client_id: Option<String>,
    pub tenant_id: Option<String>,
    /// The managed identity's resource id.
    pub resource_id: Option<String>,
}

impl Principal {
    pub fn node_id(&self) -> String {
        principal_id(&self.object_id)
    }
}

/// Principals by object id, client (app) id and resource id.
#[derive(Debug, Default)]
pub struct Directory {
    principals: Vec<Principal>,
    by_object: HashMap<String, usize>,
    by_client: HashMap<String, usize>,
    by_resource: HashMap<String, usize>,
}

impl Directory {
    /// Index every identity and service principal, and emit their nodes.
    pub fn build(records: &AzureRecords, out: &mut Output) -> Directory {
        let mut directory = Directory::default();
        for identity in &records.identities {
            directory.add_identity(identity);
            out.node(identity_node(identity));
        }
        for sp in &records.service_principals {
            directory.add_service_principal(sp);
            out.node(service_principal_node(sp));
        }
        directory
    }

    fn add(&mut self, principal: Principal) {
        let index = match self.by_object.get(&principal.object_id) {
            Some(&index) => {
                // The same principal from another export: fill what is missing.
                if let Some(existing) = self.principals.get_mut(index) {
                    existing.client_id = existing.client_id.take().or(principal.client_id);
                    existing.tenant_id = existing.tenant_id.take().or(principal.tenant_id);
                    existing.resource_id = existing.resource_id.take().or(principal.resource_id);
                }
                index
            }
            None => {
                let index = self.principals.len();
                self.by_object.insert(principal.object_id.clone(), index);
                self.principals.push(principal);
                index
            }
        };
        let Some(principal) = self.principals.get(index) else {
            return;
        };
        if let Some(client) = &principal.client_id {
            self.by_client
                .entry(client.to_ascii_lowercase())
                .or_insert(index);
        }
        if let Some(resource) = &principal.resource_id {
            self.by_resource
                .entry(resource.to_ascii_lowercase())
                .or_insert(index);
        }
    }

    fn add_identity(&mut self, identity: &Identity) {
        self.add(Principal {
            object_id: identity.principal_id.to_ascii_lowercase(),
            name: identity.name.clone(),
            client_id: Some(identity.client_id.clone()),
            tenant_id: identity.tenant_id.clone(),
            resource_id: Some(identity.resource_id.clone()).filter(|r| !r.is_empty()),
        });
    }

    fn add_service_principal(&mut self, sp: &ServicePrincipal) {
        self.add(Principal {
            object_id: sp.object_id.to_ascii_lowercase(),
            name: sp.display_name.clone(),
            client_id: Some(sp.app_id.clone()),
            tenant_id: None,
            resource_id: sp.resource_id.clone(),
        });
    }

    /// Add a principal known from elsewhere (the kubelet identity).
    pub fn add_known(&mut self, principal: Principal) {
        self.add(principal);
    }

    pub fn by_object(&self, object_id: &str) -> Option<&Principal> {
        self.by_object
            .get(&object_id.to_ascii_lowercase())
            .and_then(|&i| self.principals.get(i))
    }

    /// The managed identity or application with this client id (`appId`).
    pub fn by_client_id(&self, client_id: &str) -> Option<&Principal> {
        self.by_client
            .get(&client_id.to_ascii_lowercase())
            .and_then(|&i| self.principals.get(i))
    }

    /// The managed identity with this resource id (compared case-insensitively, as ARM does).
    pub fn by_resource_id(&self, resource_id: &str) -> Option<&Principal> {
        self.by_resource
            .get(&resource_id.to_ascii_lowercase())
            .and_then(|&i| self.principals.get(i))
    }
}

fn attribute(key: &str, value: &str) -> Option<(String, String)> {
    (!value.is_empty()).then(|| (key.to_string(), value.to_string()))
}

fn identity_node(identity: &Identity) -> Node {
    let attributes = [
        attribute("client-id", &identity.client_id),
        attribute("resource-id", &identity.resource_id),
        attribute("type", &identity.resource_type),
        attribute(
            "tenant-id",
            identity.tenant_id.as_deref().unwrap_or_default(),
        ),
        attribute(
            "resource-group",
            identity.resource_group.as_deref().unwrap_or_default(),
        ),
        attribute("present", "true"),
    ];
    Node {
        id: principal_id(&identity.principal_id),
        kind: "cloud-identity".into(),
        cloud: Cloud::Azure,
        name: identity.name.clone(),
        attributes: attributes.into_iter().flatten().collect(),
        evidence: vec![identity.origin.evidence(
            "document",
            format!("managed identity {} (az identity list)", identity.name),
        )],
    }
}

fn service_principal_node(sp: &ServicePrincipal) -> Node {
    let attributes = [
        attribute("client-id", &sp.app_id),
        attribute("resource-id", sp.resource_id.as_deref().unwrap_or_default()),
        attribute("type", &sp.principal_type),
        attribute("present", "true"),
    ];
    Node {
        id: principal_id(&sp.object_id),
        kind: "cloud-identity".into(),
        cloud: Cloud::Azure,
        name: sp.display_name.clone(),
        attributes: attributes.into_iter().flatten().collect(),
        evidence: vec![sp.origin.evidence(
            "document",
            format!(
                "service principal {} of type {} (az ad sp list)",
                sp.display_name, sp.principal_type
            ),
        )],
    }
}
