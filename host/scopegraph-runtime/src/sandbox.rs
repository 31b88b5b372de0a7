//! What a plugin's store holds, and how a failed call becomes a typed error.

use crate::bindings::{host, level, w};
use crate::error::ErrorKind;
use crate::manifest::Limits;
use std::{collections::BTreeMap, sync::Arc};
use wasmtime::{ResourceLimiter, Trap};

/// Log lines a plugin may write per call before the host stops listening.
const LOG_LINES_PER_CALL: u32 = 1_000;
/// Longest log line kept, in bytes.
const LOG_LINE_BYTES: usize = 4_096;
/// Table elements a plugin may grow to (function references; Rust needs few).
const TABLE_ELEMENTS: usize = 100_000;

/// Per-store state: everything the host imports touch.
pub(crate) struct HostState {
    pub(crate) plugin: String,
    pub(crate) config: Arc<BTreeMap<String, String>>,
    pub(crate) memory: MemoryCap,
    pub(crate) panic: Option<(String, String)>,
    pub(crate) log_budget: u32,
}

impl HostState {
    pub(crate) fn new(
        plugin: String,
        config: Arc<BTreeMap<String, String>>,
        limits: Limits,
    ) -> Self {
        HostState {
            plugin,
            config,
            memory: MemoryCap {
                max_bytes: limits.memory_mib.saturating_mul(1 << 20),
                hit: false,
            },
            panic: None,
            log_budget: LOG_LINES_PER_CALL,
        }
    }

    /// Reset what is tracked per call.
    pub(crate) fn begin_call(&mut self) {
        self.memory.hit = false;
        self.panic = None;
        self.log_budget = LOG_LINES_PER_CALL;
    }
}

/// Caps linear memory and remembers that the cap was hit, so the trap that
/// follows (an allocation failure aborts the guest) is reported as what it is.
pub(crate) struct MemoryCap {
    max_bytes: u64,
    pub(crate) hit: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = (desired as u64) <= self.max_bytes;
        if !allowed {
            self.hit = true;
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= TABLE_ELEMENTS)
    }
}

impl w::Host for HostState {}

impl host::Host for HostState {
    fn log(&mut self, lvl: w::Level, message: String) {
        if self.log_budget == 0 {
            return;
        }
        self.log_budget -= 1;
        let mut message = message;
        if message.len() > LOG_LINE_BYTES {
            let mut cut = LOG_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        if self.log_budget == 0 {
            message.push_str(" (further log lines of this call dropped)");
        }
        let plugin = self.plugin.as_str();
        match level(lvl) {
            scopegraph_sdk::Level::Trace => tracing::trace!(plugin, "{message}"),
            scopegraph_sdk::Level::Debug => tracing::debug!(plugin, "{message}"),
            scopegraph_sdk::Level::Info => tracing::info!(plugin, "{message}"),
            scopegraph_sdk::Level::Warn => tracing::warn!(plugin, "{message}"),
            scopegraph_sdk::Level::Error => tracing::error!(plugin, "{message}"),
        }
    }

    fn config(&mut self, key: String) -> Option<String> {
        self.config.get(&key).cloned()
    }

    fn report_panic(&mut self, message: String, location: String) {
        self.panic = Some((message, location));
    }
}

/// Turn a failed call into what the user should read.
pub(crate) fn classify_failure(
    err: &wasmtime::Error,
    state: &HostState,
    limits: Limits,
) -> ErrorKind {
    if let Some((message, location)) = &state.panic {
        return ErrorKind::Panic {
            message: message.clone(),
            location: location.clone(),
        };
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => ErrorKind::OutOfFuel { fuel: limits.fuel },
        Some(Trap::Interrupt) => ErrorKind::Timeout {
            ms: limits.timeout_ms,
        },
        Some(Trap::StackOverflow) => ErrorKind::StackOverflow,
        _ if state.memory.hit => ErrorKind::MemoryLimit {
            mib: limits.memory_mib,
        },
        Some(trap) => ErrorKind::Trap {
            message: trap.to_string(),
        },
        // Not a trap: the host could not lift what the guest returned
        // (invalid UTF-8, an out-of-bounds list...).
        None => ErrorKind::MalformedOutput {
            message: format!("{err:#}"),
        },
    }
}
