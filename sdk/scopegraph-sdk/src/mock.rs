//! A native stand-in for the host, so a plugin's `cargo test` runs without wasm.
//!
//! ```
//! use scopegraph_sdk::{mock::MockHost, Level};
//!
//! let (value, logs) = MockHost::new()
//!     .with_config("min-observed-days", "7")
//!     .run(|| {
//!         scopegraph_sdk::info!("hello");
//!         scopegraph_sdk::config("min-observed-days")
//!     });
//! assert_eq!(value.as_deref(), Some("7"));
//! assert_eq!(logs, vec![(Level::Info, "hello".to_string())]);
//! ```

use crate::Level;
use std::{cell::RefCell, collections::BTreeMap};

thread_local! {
    static CURRENT: RefCell<MockHost> = RefCell::new(MockHost::new());
}

/// Configuration and a log sink for plugin code running natively.
#[derive(Debug, Clone, Default)]
pub struct MockHost {
    config: BTreeMap<String, String>,
    logs: Vec<(Level, String)>,
}

impl MockHost {
    pub fn new() -> Self {
        Self::default()
    }

    /// Set a configuration value, as a user would in the plugin's manifest.
    pub fn with_config(mut self, key: &str, value: &str) -> Self {
        self.config.insert(key.to_string(), value.to_string());
        self
    }

    /// Run `f` with this host installed on the current thread; returns its
    /// result and every line it logged.
    pub fn run<R>(self, f: impl FnOnce() -> R) -> (R, Vec<(Level, String)>) {
        let previous = CURRENT.with(|cell| cell.replace(self));
        let result = f();
        let finished = CURRENT.with(|cell| cell.replace(previous));
        (result, finished.logs)
    }
}

#[allow(dead_code)] // unused when building for wasm
pub(crate) fn log(level: Level, message: &str) {
    CURRENT.with(|cell| cell.borrow_mut().logs.push((level, message.to_string())));
}

#[allow(dead_code)]
pub(crate) fn config(key: &str) -> Option<String> {
    CURRENT.with(|cell| cell.borrow().config.get(key).cloned())
}
