//! Every way a plugin can fail, each naming the plugin and what it hit.

use std::fmt;

/// A plugin failed to load or to run. Always names the plugin (`id@version`,
/// or the manifest path when the manifest itself is unreadable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plugin {plugin}: {kind}")]
pub struct PluginError {
    plugin: String,
    kind: ErrorKind,
}

impl PluginError {
    pub(crate) fn new(plugin: impl Into<String>, kind: ErrorKind) -> Self {
        PluginError {
            plugin: plugin.into(),
            kind,
        }
    }

    /// For failures before the manifest could name the plugin.
    pub(crate) fn unnamed(origin: &str, kind: ErrorKind) -> Self {
        Self::new(origin, kind)
    }

    /// `id@version` of the plugin, or where it was loaded from.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// A short, stable name for the failure (`out-of-fuel`, `panic`, ...).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The manifest could not be read or is invalid.
    BadManifest { message: String },
    /// A file could not be read.
    Io { path: String, message: String },
    /// The component's sha256 differs from the manifest's.
    IntegrityMismatch { expected: String, actual: String },
    /// The plugin targets a WIT package version this host does not implement.
    BadApiVersion { found: String, supported: String },
    /// The component imports interfaces outside `scopegraph:plugin/*`.
    ForbiddenImports { imports: Vec<String> },
    /// The component does not export the interface its manifest's kind requires.
    WrongKind {
        expected: String,
        exports: Vec<String>,
    },
    /// The bytes are not a valid component.
    Compile { message: String },
    /// The call used up its fuel (CPU budget).
    OutOfFuel { fuel: u64 },
    /// The call ran past its wall-clock deadline.
    Timeout { ms: u64 },
    /// The guest tried to grow its memory past the cap.
    MemoryLimit { mib: u64 },
    /// The guest exhausted its stack.
    StackOverflow,
    /// The guest panicked; message and location come from the SDK's panic hook.
    Panic { message: String, location: String },
    /// The guest trapped for another reason.
    Trap { message: String },
    /// The plugin returned its own error.
    Reported { message: String },
    /// The plugin returned data that breaks the ABI's rules.
    MalformedOutput { message: String },
}

impl ErrorKind {
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::BadManifest { .. } => "bad-manifest",
            ErrorKind::Io { .. } => "io",
            ErrorKind::IntegrityMismatch { .. } => "integrity-mismatch",
            ErrorKind::BadApiVersion { .. } => "bad-api-version",
            ErrorKind::ForbiddenImports { .. } => "forbidden-imports",
            ErrorKind::WrongKind { .. } => "wrong-kind",
            ErrorKind::Compile { .. } => "compile",
            ErrorKind::OutOfFuel { .. } => "out-of-fuel",
            ErrorKind::Timeout { .. } => "timeout",
            ErrorKind::MemoryLimit { .. } => "memory-limit",
            ErrorKind::StackOverflow => "stack-overflow",
            ErrorKind::Panic { .. } => "panic",
            ErrorKind::Trap { .. } => "trap",
            ErrorKind::Reported { .. } => "reported",
            ErrorKind::MalformedOutput { .. } => "malformed-output",
        }
    }

    /// What the user can do about it.
    pub fn help(&self) -> Option<String> {
        Some(match self {
            ErrorKind::BadManifest { .. } => {
                "see the plugin author's guide for the fields of plugin.toml".into()
            }
            ErrorKind::Io { .. } => return None,
            ErrorKind::IntegrityMismatch { .. } => {
                "the component changed since its manifest was written: rebuild the plugin, \
                 or update `sha256` in plugin.toml if you trust the new file"
                    .into()
            }
            ErrorKind::BadApiVersion { supported, .. } => format!(
                "rebuild the plugin against scopegraph-sdk for WIT package scopegraph:plugin@{supported}"
            ),
            ErrorKind::ForbiddenImports { .. } => {
                "plugins run without WASI: build for wasm32-unknown-unknown (linker \
                 wasm-component-ld) rather than wasm32-wasip2, and avoid std APIs that \
                 need the outside world (files, clocks, environment, randomness)"
                    .into()
            }
            ErrorKind::WrongKind { expected, .. } => format!(
                "set `kind` in plugin.toml to what the component exports, or export \
                 scopegraph:plugin/{expected} with the SDK's export macro"
            ),
            ErrorKind::Compile { .. } => {
                "the file is not a WebAssembly component; build it with the SDK".into()
            }
            ErrorKind::OutOfFuel { .. } => {
                "the plugin may loop forever; if it only needs more work per batch, raise \
                 `limits.fuel` in its plugin.toml"
                    .into()
            }
            ErrorKind::Timeout { .. } => {
                "raise `limits.timeout-ms` in plugin.toml if the plugin is merely slow".into()
            }
            ErrorKind::MemoryLimit { .. } => {
                "raise `limits.memory-mib` in plugin.toml if the plugin needs more memory".into()
            }
            ErrorKind::StackOverflow => "the plugin recursed too deeply".into(),
            ErrorKind::Panic { .. }
            | ErrorKind::Trap { .. }
            | ErrorKind::MalformedOutput { .. } => {
                "this is a bug in the plugin: report it to its author with the input".into()
            }
            ErrorKind::Reported { .. } => return None,
        })
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::BadManifest { message } => write!(f, "invalid manifest: {message}"),
            ErrorKind::Io { path, message } => write!(f, "cannot read {path}: {message}"),
            ErrorKind::IntegrityMismatch { expected, actual } => write!(
                f,
                "component sha256 is {actual}, but the manifest says {expected}"
            ),
            ErrorKind::BadApiVersion { found, supported } => write!(
                f,
                "built against scopegraph:plugin@{found}, but this host implements @{supported}"
            ),
            ErrorKind::ForbiddenImports { imports } => write!(
                f,
                "imports outside scopegraph:plugin/* are not allowed: {}",
                imports.join(", ")
            ),
            ErrorKind::WrongKind { expected, exports } => write!(
                f,
                "expected an export of scopegraph:plugin/{expected}, found [{}]",
                exports.join(", ")
            ),
            ErrorKind::Compile { message } => write!(f, "not a valid component: {message}"),
            ErrorKind::OutOfFuel { fuel } => write!(f, "ran out of fuel ({fuel} units per call)"),
            ErrorKind::Timeout { ms } => write!(f, "timed out after {ms} ms"),
            ErrorKind::MemoryLimit { mib } => write!(f, "hit its memory limit of {mib} MiB"),
            ErrorKind::StackOverflow => write!(f, "overflowed its stack"),
            ErrorKind::Panic { message, location } if location.is_empty() => {
                write!(f, "panicked: {message}")
            }
            ErrorKind::Panic { message, location } => {
                write!(f, "panicked at {location}: {message}")
            }
            ErrorKind::Trap { message } => write!(f, "trapped: {message}"),
            ErrorKind::Reported { message } => write!(f, "reported an error: {message}"),
            ErrorKind::MalformedOutput { message } => {
                write!(f, "returned malformed output: {message}")
            }
        }
    }
}

impl miette::Diagnostic for PluginError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!(
            "scopegraph::plugin::{}",
            self.kind.code()
        )))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.kind
            .help()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
}
