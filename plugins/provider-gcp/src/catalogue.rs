//! The predefined-role catalogue: every `roles/…` GCP publishes, with the
//! permissions it includes, embedded at build time and decoded on first use.
//!
//! The text is written by `catalogue/generate.py` (see its docstring for the
//! format and `catalogue/README.md` for provenance): a front-coded sorted
//! permission table, then one line per role listing runs of permission
//! indices in base 36. Decoding the table takes a few milliseconds; roles
//! are decoded one at a time, when a binding names them.

use std::collections::HashMap;
use std::sync::OnceLock;

const TEXT: &str = include_str!("../catalogue/predefined-roles.txt");

/// The decoded permission table and the still-encoded role lines.
#[derive(Debug)]
pub struct Catalogue {
    permissions: Vec<String>,
    roles: HashMap<&'static str, &'static str>,
}

/// The embedded catalogue, or why it could not be read (a build defect:
/// a unit test decodes every role).
pub fn get() -> Result<&'static Catalogue, &'static str> {
    static CATALOGUE: OnceLock<Result<Catalogue, String>> = OnceLock::new();
    CATALOGUE
        .get_or_init(|| parse(TEXT))
        .as_ref()
        .map_err(String::as_str)
}

impl Catalogue {
    /// The permissions of predefined role `name` (`roles/bigquery.dataViewer`),
    /// sorted; `None` for a role the catalogue does not know.
    pub fn role(&self, name: &str) -> Option<Result<Vec<&str>, String>> {
        let runs = self.roles.get(name)?;
        Some(self.decode(name, runs))
    }

    pub fn role_count(&self) -> usize {
        self.roles.len()
    }

    pub fn permission_count(&self) -> usize {
        self.permissions.len()
    }

    /// Every role name, sorted (for tests and tools).
    pub fn role_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.roles.keys().copied().collect();
        names.sort_unstable();
        names
    }

    fn decode(&self, name: &str, runs: &str) -> Result<Vec<&str>, String> {
        let mut permissions = Vec::new();
        let mut position = 0usize;
        for run in runs.split(' ').filter(|r| !r.is_empty()) {
            let (delta, extra) = match run.split_once('+') {
                Some((delta, extra)) => (delta, base36(extra)),
                None => (run, Some(0)),
            };
            let (Some(delta), Some(extra)) = (base36(delta), extra) else {
                return Err(format!("role {name}: bad run {run:?}"));
            };
            let start = position
                .checked_add(delta)
                .ok_or_else(|| format!("role {name}: index overflow"))?;
            let end = start
                .checked_add(extra)
                .ok_or_else(|| format!("role {name}: index overflow"))?;
            let slice = self
                .permissions
                .get(start..=end)
                .ok_or_else(|| format!("role {name}: index {end} out of range"))?;
            permissions.extend(slice.iter().map(String::as_str));
            position = end;
        }
        Ok(permissions)
    }
}

fn base36(text: &str) -> Option<usize> {
    usize::from_str_radix(text, 36).ok()
}

fn parse(text: &'static str) -> Result<Catalogue, String> {
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let count = header(lines.next(), "permissions")?;
    let mut permissions: Vec<String> = Vec::with_capacity(count);
    for _ in 0..count {
        let line = lines.next().ok_or("permission table is truncated")?;
        let (shared, suffix) = line
            .split_once(' ')
            .ok_or_else(|| format!("bad permission line {line:?}"))?;
        let shared: usize = shared
            .parse()
            .map_err(|_| format!("bad permission line {line:?}"))?;
        let previous = permissions.last().map(String::as_str).unwrap_or_default();
        let prefix = previous
            .get(..shared)
            .ok_or_else(|| format!("bad prefix length in {line:?}"))?;
        permissions.push(format!("{prefix}{suffix}"));
    }
    let count = header(lines.next(), "roles")?;
    let mut roles = HashMap::with_capacity(count);
    for _ in 0..count {
        let line = lines.next().ok_or("role table is truncated")?;
        let (name, runs) = line
            .split_once('\t')
            .ok_or_else(|| format!("bad role line {line:?}"))?;
        roles.insert(name, runs);
    }
    if lines.next().is_some() {
        return Err("trailing lines after the role table".into());
    }
    Ok(Catalogue { permissions, roles })
}

fn header(line: Option<&str>, word: &str) -> Result<usize, String> {
    line.and_then(|l| l.strip_prefix(word))
        .and_then(|rest| rest.trim().parse().ok())
        .ok_or_else(|| format!("expected a `{word} N` line"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_decodes_within_the_table() {
        let catalogue = get().unwrap();
        assert_eq!(catalogue.role_count(), 2461);
        assert_eq!(catalogue.permission_count(), 13790);
        let mut total = 0;
        for name in catalogue.role_names() {
            let permissions = catalogue.role(name).unwrap().unwrap();
            assert!(permissions.windows(2).all(|w| w[0] < w[1]), "{name}");
            total += permissions.len();
        }
        // Distinct (role, permission) pairs in the source data set.
        assert_eq!(total, 165_179);
    }

    #[test]
    fn roles_expand_to_their_permissions() {
        let catalogue = get().unwrap();
        let viewer = catalogue
            .role("roles/bigquery.dataViewer")
            .unwrap()
            .unwrap();
        assert_eq!(viewer.len(), 23);
        assert!(viewer.contains(&"bigquery.tables.getData"));
        assert_eq!(viewer.first(), Some(&"bigquery.datasets.get"));
        let wi = catalogue
            .role("roles/iam.workloadIdentityUser")
            .unwrap()
            .unwrap();
        assert_eq!(
            wi,
            [
                "iam.serviceAccounts.get",
                "iam.serviceAccounts.getAccessToken",
                "iam.serviceAccounts.getOpenIdToken",
                "iam.serviceAccounts.list"
            ]
        );
        assert!(catalogue.role("roles/does.notExist").is_none());
    }

    #[test]
    fn malformed_text_is_an_error_not_a_panic() {
        for text in [
            "",
            "permissions 2\n0 a.b.c\n",
            "permissions 1\n9 a.b.c\nroles 0\n",
            "permissions 1\n0 a.b.c\nroles 1\nroles/x\t0+5\n",
            "permissions 1\n0 a\nroles 0\nextra\n",
        ] {
            let catalogue = parse(text);
            let role_error = catalogue
                .as_ref()
                .ok()
                .and_then(|c| c.role("roles/x"))
                .is_some_and(|r| r.is_err());
            assert!(catalogue.is_err() || role_error, "{text:?}");
        }
    }
}
