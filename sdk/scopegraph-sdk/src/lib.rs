//! Write scopegraph plugins in Rust.
//!
//! A plugin is one crate built as a WebAssembly component. Implement
//! [`Classifier`] (a category rule) or [`Provider`] (an identity-chain
//! mechanism), export it with [`export_classifier!`] or [`export_provider!`],
//! and build with `cargo build --release --target wasm32-unknown-unknown`
//! (the linker `wasm-component-ld` turns the output into a component; see the
//! plugin author's guide in the repository README).
//!
//! ```
//! use scopegraph_sdk::{Category, Candidate, Classifier, PluginError, Verdict};
//!
//! pub struct NoDeleteRule;
//!
//! impl Classifier for NoDeleteRule {
//!     fn classify(batch: Vec<Candidate>) -> Result<Vec<Verdict>, PluginError> {
//!         Ok(batch
//!             .into_iter()
//!             .filter(|c| c.permissions.iter().any(|p| p.ends_with(":delete")))
//!             .map(|c| Verdict {
//!                 category: Some(Category::UnusedExcess),
//!                 rationale: "agents never delete".into(),
//!                 candidate: c.id,
//!                 ..Verdict::default()
//!             })
//!             .collect())
//!     }
//! }
//!
//! scopegraph_sdk::export_classifier!(NoDeleteRule);
//! ```
//!
//! Natively (`cargo test`), the host functions ([`log`], [`config`]) are
//! served by the [`mock`] host, so rules are tested like any Rust code; the
//! `scopegraph-testkit` crate then runs the real `.wasm` under production
//! limits.

pub mod mock;
mod model;
pub mod spelling;

pub use model::*;

/// A classifier: one category rule, or an organisation's own rule.
pub trait Classifier {
    /// Judge a batch of candidates; at most one verdict per candidate.
    fn classify(batch: Vec<Candidate>) -> Result<Vec<Verdict>, PluginError>;
}

/// A provider: derives identity-graph pieces from input documents.
pub trait Provider {
    /// Derive nodes, edges and grants from the documents this provider
    /// recognises; ignore the others.
    fn resolve(documents: Vec<Document>) -> Result<ProviderOutput, PluginError>;
}

/// Write a line to the host's log.
pub fn log(level: Level, message: &str) {
    backend::log(level, message);
}

/// A configuration value the user set for this plugin, if any.
pub fn config(key: &str) -> Option<String> {
    backend::config(key)
}

/// `log!(Level::Info, "...", args)`; see also [`info!`], [`warn!`]...
#[macro_export]
macro_rules! log {
    ($level:expr, $($arg:tt)+) => {
        $crate::log($level, &::std::format!($($arg)+))
    };
}

#[macro_export]
macro_rules! trace { ($($arg:tt)+) => { $crate::log!($crate::Level::Trace, $($arg)+) }; }
#[macro_export]
macro_rules! debug { ($($arg:tt)+) => { $crate::log!($crate::Level::Debug, $($arg)+) }; }
#[macro_export]
macro_rules! info { ($($arg:tt)+) => { $crate::log!($crate::Level::Info, $($arg)+) }; }
#[macro_export]
macro_rules! warn { ($($arg:tt)+) => { $crate::log!($crate::Level::Warn, $($arg)+) }; }
#[macro_export]
macro_rules! error { ($($arg:tt)+) => { $crate::log!($crate::Level::Error, $($arg)+) }; }

include!(concat!(env!("OUT_DIR"), "/export_macros.rs"));

#[cfg(not(target_arch = "wasm32"))]
use mock as backend;

#[cfg(target_arch = "wasm32")]
mod guest;
#[cfg(target_arch = "wasm32")]
use guest as backend;

/// Used by the export macros; not part of the API.
#[doc(hidden)]
#[cfg(target_arch = "wasm32")]
pub mod __private {
    pub use crate::guest::{classify, resolve, wit};
    pub use wit_bindgen;
}
