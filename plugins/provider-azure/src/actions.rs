//! Azure RBAC action patterns: wildcard matching as Azure does it, and a
//! permission block's effective operations (`actions` minus `notActions`,
//! `dataActions` minus `notDataActions`) expanded against the catalogue.
//!
//! Azure compares operation strings case-insensitively, and `*` matches any
//! run of characters, `/` included: `*/read` is every read of every
//! provider, `Microsoft.Storage/storageAccounts/*/read` every read below a
//! storage account. `notActions` are not denies: they carve operations out of
//! this block's `actions` only (another assignment may still grant them).

use crate::roles::Operations;
use std::collections::BTreeMap;

/// Azure operation names are a few hundred characters at most; a longer
/// pattern (hand-edited or hostile input) is kept as written rather than
/// matched against every operation.
const MAX_PATTERN_LEN: usize = 1024;

/// Above this many (a, b) position pairs, `globs_intersect` answers "maybe"
/// (true) instead of allocating its table.
const MAX_INTERSECT_CELLS: usize = 1 << 20;

/// Does `pattern` (with `*` wildcards) match `text`? Both must be lowercase.
/// A `*` in `text` is an ordinary character, so `glob_match(p, q)` on two
/// patterns is true only if every operation `q` matches, `p` matches too.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (pattern, text) = (pattern.as_bytes(), text.as_bytes());
    let (mut p, mut t) = (0, 0);
    // Position of the last `*` seen and where in `text` it started matching.
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(t) {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&x) if x == c => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((s, from)) => {
                    // Let the last `*` swallow one more character.
                    p = s + 1;
                    t = from + 1;
                    star = Some((s, from + 1));
                }
                None => return false,
            },
        }
    }
    pattern.iter().skip(p).all(|&c| c == b'*')
}

/// Can two patterns match a common operation? Both must be lowercase.
pub fn globs_intersect(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (n, m) = (a.len(), b.len());
    if (n + 1).saturating_mul(m + 1) > MAX_INTERSECT_CELLS {
        return true;
    }
    let width = m + 1;
    // reach[i * width + j]: can a[i..] and b[j..] match a common string?
    let mut reach = vec![false; (n + 1) * width];
    let get = |reach: &[bool], i: usize, j: usize| -> bool {
        reach.get(i * width + j).copied().unwrap_or(false)
    };
    for i in (0..=n).rev() {
        for j in (0..=m).rev() {
            let value = match (a.get(i), b.get(j)) {
                (None, None) => true,
                (Some(b'*'), next) => {
                    get(&reach, i + 1, j) || (next.is_some() && get(&reach, i, j + 1))
                }
                (next, Some(b'*')) => {
                    get(&reach, i, j + 1) || (next.is_some() && get(&reach, i + 1, j))
                }
                (Some(x), Some(y)) => x == y && get(&reach, i + 1, j + 1),
                _ => false,
            };
            if let Some(cell) = reach.get_mut(i * width + j) {
                *cell = value;
            }
        }
    }
    get(&reach, 0, 0)
}

/// The effective operations of one plane of one permission block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// Catalogue operations granted (catalogue spelling, sorted
    /// case-insensitively), then the patterns kept unexpanded.
    pub permissions: Vec<String>,
    /// One note per pattern kept unexpanded, for the grant's conditions.
    pub notes: Vec<String>,
}

/// `allow` minus `deny`, wildcards expanded against `operations`.
///
/// - A wildcard-free entry is an operation: kept (in the catalogue's
///   spelling if the catalogue knows it) unless a `deny` pattern matches it.
/// - A wildcard pattern becomes every catalogue operation it matches, less
///   those a `deny` pattern matches.
/// - A wildcard pattern that matches nothing in the catalogue is kept as
///   written, with a note (listing the `deny` patterns Azure would still
///   subtract from it), unless a `deny` pattern covers it entirely.
///
/// `plane` and `deny_name` (`actions`/`notActions` or
/// `dataActions`/`notDataActions`) only word the notes.
pub fn expand(
    allow: &[String],
    deny: &[String],
    operations: &Operations,
    plane: &str,
    deny_name: &str,
) -> Expansion {
    let deny_lower: Vec<String> = deny.iter().map(|d| d.to_ascii_lowercase()).collect();
    let denied = |operation: &str| deny_lower.iter().any(|d| glob_match(d, operation));
    let mut granted: BTreeMap<String, String> = BTreeMap::new();
    let mut kept: BTreeMap<String, &str> = BTreeMap::new();
    for pattern in allow {
        let lower = pattern.trim().to_ascii_lowercase();
        if lower.is_empty() {
            continue;
        }
        if !lower.contains('*') {
            let name = operations.canonical(&lower).unwrap_or(pattern.trim());
            granted.insert(lower, name.to_string());
            continue;
        }
        let mut matched = false;
        for (operation, name) in operations.iter().filter(|_| lower.len() <= MAX_PATTERN_LEN) {
            if glob_match(&lower, operation) {
                matched = true;
                granted
                    .entry(operation.to_string())
                    .or_insert_with(|| name.to_string());
            }
        }
        if !matched {
            kept.entry(lower).or_insert(pattern.trim());
        }
    }
    granted.retain(|operation, _| !denied(operation));
    let mut expansion = Expansion {
        permissions: granted.into_values().collect(),
        notes: Vec::new(),
    };
    for (lower, pattern) in kept {
        // Covered entirely by a deny pattern: nothing of it remains.
        if denied(&lower) {
            continue;
        }
        let carved: Vec<String> = deny
            .iter()
            .zip(&deny_lower)
            .filter(|(_, d)| globs_intersect(d, &lower))
            .map(|(d, _)| format!("\"{d}\""))
            .collect();
        let mut note = format!(
            "scopegraph: {plane} pattern \"{pattern}\" matches no operation in the catalogue of \
             built-in-role operations; kept unexpanded"
        );
        if !carved.is_empty() {
            note.push_str(&format!(" (less {deny_name} {})", carved.join(", ")));
        }
        expansion.permissions.push(pattern.to_string());
        expansion.notes.push(note);
    }
    expansion
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::catalogue;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn wildcards_match_any_run_of_characters_slashes_included() {
        let cases = [
            ("*", "microsoft.storage/storageaccounts/read", true),
            ("*/read", "microsoft.storage/storageaccounts/read", true),
            ("*/read", "microsoft.storage/storageaccounts/write", false),
            (
                "microsoft.storage/*",
                "microsoft.storage/storageaccounts/blobservices/read",
                true,
            ),
            ("microsoft.storage/*", "microsoft.storagesync/read", false),
            (
                "microsoft.storage/storageaccounts/*/read",
                "microsoft.storage/storageaccounts/blobservices/containers/read",
                true,
            ),
            (
                "microsoft.storage/storageaccounts/*/read",
                "microsoft.storage/storageaccounts/read",
                false,
            ),
            (
                "microsoft.authorization/*/write",
                "microsoft.authorization/roleassignments/write",
                true,
            ),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("", "", true),
            ("x", "", false),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(glob_match(pattern, text), expected, "{pattern} ~ {text}");
        }
    }

    #[test]
    fn a_pattern_covers_another_when_it_matches_its_text() {
        assert!(glob_match("microsoft.foo/*", "microsoft.foo/*/read"));
        assert!(!glob_match("microsoft.foo/*/read", "microsoft.foo/*"));
    }

    #[test]
    fn pattern_intersection() {
        assert!(globs_intersect("microsoft.foo/*", "*/delete"));
        assert!(globs_intersect(
            "microsoft.foo/*/read",
            "microsoft.foo/bar/*"
        ));
        assert!(!globs_intersect("microsoft.foo/*", "microsoft.bar/*"));
        assert!(!globs_intersect(
            "microsoft.foo/*/read",
            "microsoft.foo/*/write"
        ));
        assert!(globs_intersect("*", "anything"));
        assert!(globs_intersect("", ""));
        assert!(!globs_intersect("a", ""));
    }

    #[test]
    fn not_actions_carve_out_of_expanded_wildcards() {
        let contributor = catalogue().by_name("Contributor").unwrap();
        let block = &contributor.permissions[0];
        let expansion = expand(
            &block.actions,
            &block.not_actions,
            &catalogue().actions,
            "actions",
            "notActions",
        );
        assert!(expansion.notes.is_empty());
        let lower: Vec<String> = expansion
            .permissions
            .iter()
            .map(|p| p.to_ascii_lowercase())
            .collect();
        assert!(lower.contains(&"microsoft.storage/storageaccounts/listkeys/action".into()));
        assert!(lower.contains(&"microsoft.authorization/roleassignments/read".into()));
        assert!(!lower.contains(&"microsoft.authorization/roleassignments/write".into()));
        assert!(!lower.contains(&"microsoft.authorization/elevateaccess/action".into()));
        assert!(
            !lower
                .iter()
                .any(|p| p.starts_with("microsoft.authorization/") && p.ends_with("/write"))
        );
    }

    #[test]
    fn unmatched_patterns_are_kept_with_a_note() {
        let expansion = expand(
            &strings(&[
                "Microsoft.StorageCache/caches/*",
                "Microsoft.StorageCache/*/read",
                "Microsoft.Storage/storageAccounts/read",
                "Contoso.Widgets/widgets/read",
            ]),
            &strings(&[
                "Microsoft.StorageCache/caches/delete",
                "Microsoft.StorageCache/*",
            ]),
            &catalogue().actions,
            "actions",
            "notActions",
        );
        // `Microsoft.StorageCache/*` removes every StorageCache pattern.
        assert_eq!(
            expansion.permissions,
            [
                "Contoso.Widgets/widgets/read",
                "Microsoft.Storage/storageAccounts/read"
            ]
        );
        assert!(expansion.notes.is_empty());

        let expansion = expand(
            &strings(&["microsoft.storagecache/caches/*"]),
            &strings(&[
                "Microsoft.StorageCache/caches/delete",
                "*/write",
                "Microsoft.Web/*",
            ]),
            &catalogue().actions,
            "actions",
            "notActions",
        );
        assert_eq!(expansion.permissions, ["microsoft.storagecache/caches/*"]);
        assert_eq!(
            expansion.notes,
            [
                "scopegraph: actions pattern \"microsoft.storagecache/caches/*\" matches no operation in the catalogue of built-in-role operations; kept unexpanded (less notActions \"Microsoft.StorageCache/caches/delete\", \"*/write\")"
            ]
        );
    }

    #[test]
    fn oversized_patterns_are_kept_not_matched() {
        let long = format!("Microsoft.Storage/{}*", "a".repeat(2000));
        let expansion = expand(
            std::slice::from_ref(&long),
            &strings(&["Microsoft.Storage/*/delete"]),
            &catalogue().actions,
            "actions",
            "notActions",
        );
        assert_eq!(expansion.permissions, [long]);
        assert_eq!(expansion.notes.len(), 1);
        assert!(globs_intersect(&"a".repeat(2000), &"b".repeat(2000)));
    }

    #[test]
    fn operations_are_spelled_as_the_catalogue_spells_them_and_deduplicated() {
        let expansion = expand(
            &strings(&[
                "microsoft.resources/subscriptions/resourcegroups/read",
                "Microsoft.Resources/subscriptions/resourceGroups/*",
            ]),
            &[],
            &catalogue().actions,
            "actions",
            "notActions",
        );
        let read = "Microsoft.Resources/subscriptions/resourceGroups/read";
        assert_eq!(
            expansion.permissions.iter().filter(|p| *p == read).count(),
            1
        );
        assert!(expansion.permissions.iter().all(|p| {
            p.to_ascii_lowercase()
                .starts_with("microsoft.resources/subscriptions/resourcegroups/")
        }));
    }
}
