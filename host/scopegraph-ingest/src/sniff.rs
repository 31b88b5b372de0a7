//! Recognise a document by its content: the shapes `kubectl`, `aws`,
//! `gcloud`, `az` and the log pipelines actually emit.

use serde_json::Value;

/// What a parsed document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentClass {
    /// Configuration for the provider plugins; the string names the format.
    Config(&'static str),
    /// Activity records (audit logs, traces, behaviour profiles).
    Activity(&'static str),
    /// A `scopegraph.yaml` declaring agents.
    DeclaredWork,
    /// An empty list (`[]`, `{"items": []}` is a Kubernetes List and not empty).
    Empty,
    Unknown,
}

fn has(value: &Value, key: &str) -> bool {
    value.get(key).is_some()
}

fn str_field<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

pub fn sniff(value: &Value) -> DocumentClass {
    use DocumentClass::*;
    if let Some(items) = value.as_array() {
        return match items.first() {
            None => Empty,
            Some(first) => match sniff_array_item(first) {
                Unknown => Unknown,
                class => class,
            },
        };
    }
    if !value.is_object() {
        return Unknown;
    }
    if let (Some(api_version), Some(_)) = (str_field(value, "apiVersion"), str_field(value, "kind"))
    {
        if api_version.starts_with("audit.k8s.io/") {
            return Activity("kubernetes-audit");
        }
        // Kubescape's NetworkNeighborhood / ApplicationProfile / KnownServer
        // objects are Kubernetes objects too: the Kubernetes provider reads
        // them beside the workloads they describe.
        return Config("kubernetes");
    }
    if value.get("agents").and_then(Value::as_array).is_some() {
        return DeclaredWork;
    }
    if value.get("Records").and_then(Value::as_array).is_some()
        || (has(value, "eventSource") && has(value, "eventName"))
    {
        return Activity("cloudtrail");
    }
    if has(value, "protoPayload") {
        return Activity("gcp-audit");
    }
    if has(value, "resourceSpans") {
        return Activity("otel-traces");
    }
    if is_azure_activity(value) {
        return Activity("azure-activity");
    }
    if value
        .get("cluster")
        .is_some_and(|c| str_field(c, "arn").is_some_and(|a| a.contains(":eks:")))
    {
        return Config("aws/eks-cluster");
    }
    if value
        .get("associations")
        .and_then(Value::as_array)
        .is_some()
    {
        return Config("aws/eks-pod-identity-associations");
    }
    if value
        .get("association")
        .is_some_and(|a| has(a, "associationArn"))
    {
        return Config("aws/eks-pod-identity-association");
    }
    if has(value, "UserDetailList") || has(value, "RoleDetailList") || has(value, "GroupDetailList")
    {
        return Config("aws/iam-authorization-details");
    }
    if has(value, "OpenIDConnectProviderList") {
        return Config("aws/oidc-providers");
    }
    if has(value, "Url") && has(value, "ClientIDList") {
        return Config("aws/oidc-provider");
    }
    if is_gke_cluster(value) {
        return Config("gcp/gke-cluster");
    }
    if str_field(value, "type")
        .is_some_and(|t| t.eq_ignore_ascii_case("Microsoft.ContainerService/ManagedClusters"))
    {
        return Config("azure/aks-cluster");
    }
    // Microsoft Graph `GET /groups?$expand=members` (through `az rest`).
    if str_field(value, "@odata.context").is_some_and(|c| c.contains("#groups"))
        && value.get("value").and_then(Value::as_array).is_some()
    {
        return Config("azure/group-members");
    }
    if has(value, "resource") && value.get("policy").is_some_and(|p| has(p, "bindings")) {
        return Config("gcp/resource-iam-policy");
    }
    if (has(value, "assetType") && has(value, "iamPolicy"))
        || (has(value, "asset_type") && has(value, "iam_policy"))
    {
        return Config("gcp/asset-iam-policy");
    }
    if value.get("bindings").and_then(Value::as_array).is_some()
        && (has(value, "etag") || has(value, "version"))
    {
        return Config("gcp/iam-policy");
    }
    if has(value, "includedPermissions") {
        return Config("gcp/role");
    }
    if is_pool_provider(value) {
        return Config("gcp/workload-identity-pool-provider");
    }
    if has(value, "projectId") && has(value, "projectNumber") {
        return Config("gcp/project");
    }
    if value.get("ancestor").and_then(Value::as_array).is_some() {
        return Config("gcp/ancestry");
    }
    Unknown
}

fn sniff_array_item(item: &Value) -> DocumentClass {
    use DocumentClass::*;
    if has(item, "roleDefinitionId") && has(item, "principalId") {
        Config("azure/role-assignments")
    } else if has(item, "roleName") && has(item, "permissions") {
        Config("azure/role-definitions")
    } else if has(item, "issuer") && has(item, "subject") && has(item, "audiences") {
        Config("azure/federated-credentials")
    } else if has(item, "clientId") && has(item, "principalId") {
        Config("azure/identities")
    } else if has(item, "appId") && has(item, "servicePrincipalType") {
        Config("azure/service-principals")
    } else if (has(item, "assetType") && has(item, "iamPolicy"))
        || (has(item, "asset_type") && has(item, "iam_policy"))
    {
        Config("gcp/asset-iam-policy")
    } else if is_pool_provider(item) {
        Config("gcp/workload-identity-pool-providers")
    } else if has(item, "email") && has(item, "uniqueId") {
        Config("gcp/service-accounts")
    } else if has(item, "projectId") && has(item, "projectNumber") {
        Config("gcp/project")
    } else if is_ancestor(item) {
        Config("gcp/ancestry")
    } else if is_azure_activity(item) {
        Activity("azure-activity")
    } else if has(item, "protoPayload") {
        Activity("gcp-audit")
    } else if has(item, "eventSource") && has(item, "eventName") {
        Activity("cloudtrail")
    } else {
        Unknown
    }
}

/// `gcloud projects get-ancestors --format=json` entries: `{"id": "…", "type": "project"}`.
fn is_ancestor(item: &Value) -> bool {
    item.as_object().is_some_and(|o| o.len() == 2)
        && str_field(item, "id").is_some()
        && str_field(item, "type")
            .is_some_and(|t| matches!(t, "organization" | "folder" | "project"))
}

/// `gcloud iam workload-identity-pools providers describe|list --format=json`:
/// `name` is `projects/N/locations/L/workloadIdentityPools/POOL/providers/P`.
fn is_pool_provider(value: &Value) -> bool {
    let Some(name) = str_field(value, "name") else {
        return false;
    };
    let parts: Vec<&str> = name.split('/').collect();
    matches!(
        parts.as_slice(),
        [
            "projects",
            _,
            "locations",
            _,
            "workloadIdentityPools",
            _,
            "providers",
            _
        ]
    ) && ["oidc", "aws", "saml", "x509", "attributeMapping"]
        .iter()
        .any(|key| has(value, key))
}

fn is_azure_activity(value: &Value) -> bool {
    has(value, "operationName")
        && (has(value, "resourceId") || has(value, "callerIpAddress") || has(value, "caller"))
        && (has(value, "time") || has(value, "eventTimestamp") || has(value, "category"))
}

fn is_gke_cluster(value: &Value) -> bool {
    has(value, "nodePools")
        || str_field(value, "selfLink").is_some_and(|s| s.contains("container.googleapis.com"))
}

/// The cluster a description document names, if it is one.
pub fn cluster_name(value: &Value) -> Option<String> {
    let name = match sniff(value) {
        DocumentClass::Config("aws/eks-cluster") => {
            value.get("cluster").and_then(|c| str_field(c, "name"))
        }
        DocumentClass::Config("gcp/gke-cluster" | "azure/aks-cluster") => str_field(value, "name"),
        _ => None,
    };
    name.map(String::from)
}
