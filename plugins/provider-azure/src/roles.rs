//! Role definitions, and the embedded catalogue of Azure's built-in roles and
//! operations (see `catalogue/README.md`), decoded once on first use.

use serde::{Deserialize, Deserializer};
use std::collections::HashMap;
use std::sync::OnceLock;

/// `null` and absent collections mean the same thing to Azure Resource Manager.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// One entry of a role definition's `permissions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionBlock {
    #[serde(default, deserialize_with = "nullable")]
    pub actions: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub not_actions: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub data_actions: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub not_data_actions: Vec<String>,
    #[serde(default)]
    pub condition: Option<String>,
}

/// A role definition, built-in or custom.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleDefinition {
    /// The GUID that ends a `roleDefinitionId`, lowercase.
    pub guid: String,
    /// `roleName`.
    pub name: String,
    pub permissions: Vec<PermissionBlock>,
}

/// The GUID at the end of a `roleDefinitionId`
/// (`/subscriptions/S/providers/Microsoft.Authorization/roleDefinitions/GUID`), lowercase.
pub fn guid_of(role_definition_id: &str) -> String {
    role_definition_id
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Operation names of one plane (control or data), as the catalogue spells them.
#[derive(Debug, Default)]
pub struct Operations {
    names: Vec<String>,
    /// `names`, lowercase, same order: Azure compares operations case-insensitively.
    lower: Vec<String>,
    index: HashMap<String, usize>,
}

impl Operations {
    fn new(text: &str) -> Operations {
        let mut operations = Operations::default();
        for name in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let lower = name.to_ascii_lowercase();
            if operations.index.contains_key(&lower) {
                continue;
            }
            operations
                .index
                .insert(lower.clone(), operations.names.len());
            operations.names.push(name.to_string());
            operations.lower.push(lower);
        }
        operations
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The catalogue's spelling of `operation`, if it knows it.
    pub fn canonical(&self, operation: &str) -> Option<&str> {
        self.index
            .get(&operation.to_ascii_lowercase())
            .and_then(|&i| self.names.get(i))
            .map(String::as_str)
    }

    /// (lowercase, catalogue spelling) of every operation.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.lower
            .iter()
            .zip(&self.names)
            .map(|(l, n)| (l.as_str(), n.as_str()))
    }
}

/// The built-in roles and the operations they mention.
#[derive(Debug, Default)]
pub struct Catalogue {
    roles: Vec<RoleDefinition>,
    by_guid: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
    pub actions: Operations,
    pub data_actions: Operations,
    /// Lines of `roles.jsonl` that could not be decoded (a generator bug; tested to be zero).
    pub unreadable_lines: usize,
}

#[derive(Deserialize)]
struct CatalogueRole {
    id: String,
    name: String,
    #[serde(default)]
    permissions: Vec<PermissionBlock>,
}

const ROLES: &str = include_str!("../catalogue/roles.jsonl");
const ACTIONS: &str = include_str!("../catalogue/actions.txt");
const DATA_ACTIONS: &str = include_str!("../catalogue/data-actions.txt");

static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();

/// The embedded catalogue, decoded on first use.
pub fn catalogue() -> &'static Catalogue {
    CATALOGUE.get_or_init(|| Catalogue::decode(ROLES, ACTIONS, DATA_ACTIONS))
}

impl Catalogue {
    fn decode(roles: &str, actions: &str, data_actions: &str) -> Catalogue {
        let mut catalogue = Catalogue {
            actions: Operations::new(actions),
            data_actions: Operations::new(data_actions),
            ..Catalogue::default()
        };
        for line in roles.lines().filter(|l| !l.trim().is_empty()) {
            let Ok(role) = serde_json::from_str::<CatalogueRole>(line) else {
                catalogue.unreadable_lines += 1;
                continue;
            };
            let index = catalogue.roles.len();
            let guid = role.id.to_ascii_lowercase();
            catalogue.by_guid.entry(guid.clone()).or_insert(index);
            catalogue
                .by_name
                .entry(role.name.to_lowercase())
                .or_insert(index);
            catalogue.roles.push(RoleDefinition {
                guid,
                name: role.name,
                permissions: role.permissions,
            });
        }
        catalogue
    }

    pub fn roles(&self) -> &[RoleDefinition] {
        &self.roles
    }

    /// A built-in role by the GUID of its `roleDefinitionId`.
    pub fn by_guid(&self, guid: &str) -> Option<&RoleDefinition> {
        self.by_guid
            .get(&guid.to_ascii_lowercase())
            .and_then(|&i| self.roles.get(i))
    }

    /// A built-in role by `roleName` (Azure role names are unique, case-insensitively).
    pub fn by_name(&self, name: &str) -> Option<&RoleDefinition> {
        self.by_name
            .get(&name.to_lowercase())
            .and_then(|&i| self.roles.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalogue_decodes_completely() {
        let catalogue = catalogue();
        assert_eq!(catalogue.unreadable_lines, 0);
        assert_eq!(catalogue.roles().len(), 928);
        assert_eq!(catalogue.actions.len(), 3172);
        assert_eq!(catalogue.data_actions.len(), 848);
    }

    #[test]
    fn roles_are_found_by_guid_and_by_name() {
        let reader = catalogue()
            .by_guid("2A2B9908-6EA1-4AE2-8E65-A410DF84E7D1")
            .unwrap();
        assert_eq!(reader.name, "Storage Blob Data Reader");
        assert_eq!(
            reader.permissions[0].data_actions,
            ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"]
        );
        let contributor = catalogue().by_name("contributor").unwrap();
        assert_eq!(contributor.guid, "b24988ac-6180-42a0-ab88-20f7382dd24c");
        assert!(catalogue().by_name("Contributor (legacy)").is_none());
    }

    #[test]
    fn operations_keep_one_spelling_per_name() {
        let actions = &catalogue().actions;
        assert_eq!(
            actions.canonical("microsoft.resources/subscriptions/resourcegroups/read"),
            Some("Microsoft.Resources/subscriptions/resourceGroups/read")
        );
        assert_eq!(actions.canonical("Contoso.Widgets/widgets/read"), None);
    }

    #[test]
    fn guids_come_from_the_end_of_role_definition_ids() {
        assert_eq!(
            guid_of(
                "/subscriptions/7f9c2b1e-4a3d-4c8e-9b21-5d6e7f8a9b0c/providers/Microsoft.Authorization/roleDefinitions/ACDD72A7-3385-48EF-BD42-F606FBA81AE7"
            ),
            "acdd72a7-3385-48ef-bd42-f606fba81ae7"
        );
        assert_eq!(
            guid_of("acdd72a7-3385-48ef-bd42-f606fba81ae7"),
            "acdd72a7-3385-48ef-bd42-f606fba81ae7"
        );
        assert_eq!(guid_of(""), "");
    }
}
