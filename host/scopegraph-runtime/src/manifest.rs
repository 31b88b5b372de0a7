//! `plugin.toml`: what a plugin says about itself, checked before any of its
//! code is compiled.

use crate::error::{ErrorKind, PluginError};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The WIT package version this host implements.
pub const API_VERSION: &str = "0.1.0";

/// Whether a plugin resolves identity chains or judges candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    Provider,
    Classifier,
}

impl PluginKind {
    /// The interface of the WIT package a plugin of this kind must export.
    pub fn interface(self) -> &'static str {
        match self {
            PluginKind::Provider => "provider",
            PluginKind::Classifier => "classifier",
        }
    }
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.interface())
    }
}

/// Limits a plugin asks for; the host clamps them to its own maxima.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Limits {
    /// Fuel per call (roughly one unit per wasm instruction).
    pub fuel: u64,
    /// Linear memory cap in MiB.
    pub memory_mib: u64,
    /// Wall-clock deadline per call in milliseconds.
    pub timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 2_000_000_000,
            memory_mib: 256,
            timeout_ms: 10_000,
        }
    }
}

impl Limits {
    /// The most any plugin gets, whatever its manifest asks for.
    pub const MAX: Limits = Limits {
        fuel: 50_000_000_000,
        memory_mib: 4096,
        timeout_ms: 120_000,
    };

    /// `self`, with each limit lowered to the host's maximum.
    pub fn clamped(self) -> Limits {
        Limits {
            fuel: self.fuel.min(Self::MAX.fuel),
            memory_mib: self.memory_mib.min(Self::MAX.memory_mib),
            timeout_ms: self.timeout_ms.min(Self::MAX.timeout_ms),
        }
    }
}

/// A parsed, validated `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Manifest {
    /// Stable identifier, `[a-z0-9-]+`.
    pub id: String,
    pub version: semver::Version,
    pub kind: PluginKind,
    /// The version of the `scopegraph:plugin` WIT package the plugin was built against.
    pub api_version: semver::Version,
    /// The component file, relative to the manifest.
    pub component: String,
    /// Hex sha256 of the component file; a mismatch refuses the load.
    pub sha256: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub limits: Limits,
    /// Values the plugin reads with `config(key)`.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

impl Manifest {
    /// Parse and check a manifest; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Manifest, PluginError> {
        let manifest: Manifest = toml::from_str(text).map_err(|err| {
            PluginError::unnamed(
                origin,
                ErrorKind::BadManifest {
                    message: err.to_string(),
                },
            )
        })?;
        manifest.check(origin)?;
        Ok(manifest)
    }

    fn check(&self, origin: &str) -> Result<(), PluginError> {
        let bad =
            |message: String| PluginError::unnamed(origin, ErrorKind::BadManifest { message });
        let id_ok = !self.id.is_empty()
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !id_ok {
            return Err(bad(format!(
                "id {:?} must be non-empty and use only a-z, 0-9 and '-'",
                self.id
            )));
        }
        let hex_ok = self.sha256.len() == 64 && self.sha256.chars().all(|c| c.is_ascii_hexdigit());
        if !hex_ok {
            return Err(bad(format!(
                "sha256 {:?} is not 64 hex digits",
                self.sha256
            )));
        }
        if self.component.contains("..") || self.component.starts_with('/') {
            return Err(bad(format!(
                "component {:?} must be a file next to the manifest",
                self.component
            )));
        }
        Ok(())
    }

    /// `id@version`, the way errors and findings name a plugin.
    pub fn label(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }
}

/// Whether a plugin built against `found` runs on this host. Before 1.0 the
/// minor version is the breaking one, as cargo reads it.
pub fn api_compatible(found: &semver::Version) -> bool {
    semver::VersionReq::parse(&format!("^{API_VERSION}"))
        .map(|req| req.matches(found))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "unused-excess"
version = "0.1.0"
kind = "classifier"
api-version = "0.1.0"
component = "classifier_unused_excess.wasm"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
[limits]
fuel = 100
[config]
min-observed-days = "7"
"#;

    #[test]
    fn parses_a_manifest_and_defaults_missing_limits() {
        let m = Manifest::parse(GOOD, "plugin.toml").unwrap();
        assert_eq!(m.kind, PluginKind::Classifier);
        assert_eq!(m.limits.fuel, 100);
        assert_eq!(m.limits.memory_mib, Limits::default().memory_mib);
        assert_eq!(
            m.config.get("min-observed-days").map(String::as_str),
            Some("7")
        );
        assert_eq!(m.label(), "unused-excess@0.1.0");
    }

    #[test]
    fn rejects_unknown_fields_and_bad_ids() {
        let err = Manifest::parse(&GOOD.replace("kind =", "knd ="), "p.toml").unwrap_err();
        assert!(err.to_string().contains("p.toml"), "{err}");
        let err = Manifest::parse(
            &GOOD.replace("unused-excess\"", "Unused Excess\""),
            "p.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("a-z, 0-9"), "{err}");
        let err = Manifest::parse(&GOOD.replace("\"classifier_", "\"../classifier_"), "p.toml")
            .unwrap_err();
        assert!(err.to_string().contains("next to the manifest"), "{err}");
    }

    #[test]
    fn api_compatibility_follows_pre_1_0_semver() {
        let v = |s: &str| semver::Version::parse(s).unwrap();
        assert!(api_compatible(&v("0.1.0")));
        assert!(api_compatible(&v("0.1.7")));
        assert!(!api_compatible(&v("0.2.0")));
        assert!(!api_compatible(&v("1.0.0")));
    }

    #[test]
    fn limits_are_clamped_to_the_host_maximum() {
        let asked = Limits {
            fuel: u64::MAX,
            memory_mib: 1 << 20,
            timeout_ms: 1,
        };
        assert_eq!(
            asked.clamped(),
            Limits {
                fuel: Limits::MAX.fuel,
                memory_mib: 4096,
                timeout_ms: 1
            }
        );
    }
}
