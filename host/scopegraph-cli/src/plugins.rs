//! `scopegraph plugins list|inspect|check`, and loading the plugin set every
//! command uses.

use crate::{EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE, Io, RuntimeArgs};
use clap::Subcommand;
use scopegraph_core::Diagnostic;
use scopegraph_runtime::{Manifest, Plugin, PluginError, Runtime, RuntimeOptions};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub(crate) enum PluginsCommand {
    /// One line per plugin: id, version, kind, origin.
    List,
    /// Manifest, API version, imports, exports and limits of one plugin.
    Inspect {
        /// The plugin's id.
        id: String,
    },
    /// Load every plugin and report the ones that fail (exit 2 if any does).
    Check,
}

/// The plugins of a run, and what failed to load.
pub(crate) struct PluginSet {
    pub plugins: Vec<Plugin>,
    pub failures: Vec<PluginError>,
    // Keeps the engine alive as long as the plugins.
    _runtime: Runtime,
}

impl PluginSet {
    pub(crate) fn diagnostics(&self) -> Vec<Diagnostic> {
        self.failures
            .iter()
            .map(|e| {
                let help = e
                    .kind()
                    .help()
                    .map(|h| format!(" (help: {h})"))
                    .unwrap_or_default();
                Diagnostic::error(
                    format!("plugin {}", e.plugin()),
                    format!("{}{help}", e.kind()),
                )
            })
            .collect()
    }
}

pub(crate) fn cache_dir(args: &RuntimeArgs) -> Option<PathBuf> {
    if args.no_cache {
        return None;
    }
    if let Some(dir) = &args.cache_dir {
        return Some(dir.clone());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("scopegraph"))
}

/// Load the built-in plugins (unless disabled) and every plugin directory.
/// A plugin directory that repeats a built-in id replaces it.
pub(crate) fn load(args: &RuntimeArgs) -> Result<PluginSet, String> {
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: cache_dir(args),
    })
    .map_err(|e| e.to_string())?;
    let mut plugins: Vec<Plugin> = Vec::new();
    let mut failures = Vec::new();
    let mut from_dirs = Vec::new();
    for dir in &args.plugin_dirs {
        for result in runtime.load_dir(dir) {
            match result {
                Ok(plugin) => from_dirs.push(plugin),
                Err(err) => failures.push(err),
            }
        }
    }
    if !args.no_builtin {
        for builtin in scopegraph_builtin_plugins::BUILTIN {
            let loaded = Manifest::parse(builtin.manifest, "built-in")
                .and_then(|manifest| runtime.load(manifest, builtin.wasm, "built-in"));
            match loaded {
                Ok(plugin) if from_dirs.iter().any(|p| p.info().id == plugin.info().id) => {
                    tracing::info!(plugin = %plugin.label(), "replaced by a plugin directory");
                }
                Ok(plugin) => plugins.push(plugin),
                Err(err) => failures.push(err),
            }
        }
    }
    plugins.extend(from_dirs);
    plugins.sort_by(|a, b| (a.kind(), &a.info().id).cmp(&(b.kind(), &b.info().id)));
    Ok(PluginSet {
        plugins,
        failures,
        _runtime: runtime,
    })
}

pub(crate) fn plugins(command: &PluginsCommand, args: &RuntimeArgs, io: &mut Io<'_>) -> u8 {
    let set = match load(args) {
        Ok(set) => set,
        Err(message) => {
            io.diagnostic("error", "runtime", &message, None);
            return EXIT_INCOMPLETE;
        }
    };
    match command {
        PluginsCommand::List => {
            let _ = writeln!(
                io.out,
                "{:<24} {:<10} {:<11} {:<5} ORIGIN",
                "ID", "VERSION", "KIND", "API"
            );
            for p in &set.plugins {
                let i = p.info();
                let _ = writeln!(
                    io.out,
                    "{:<24} {:<10} {:<11} {:<5} {}",
                    i.id, i.version, i.kind, i.api_version, i.origin
                );
            }
            report_failures(&set, io)
        }
        PluginsCommand::Inspect { id } => {
            let Some(plugin) = set.plugins.iter().find(|p| &p.info().id == id) else {
                let known: Vec<&str> = set.plugins.iter().map(|p| p.info().id.as_str()).collect();
                io.diagnostic(
                    "error",
                    id,
                    "no such plugin",
                    Some(&format!("loaded plugins: {}", known.join(", "))),
                );
                return EXIT_USAGE;
            };
            let i = plugin.info();
            let lines = [
                format!("id:          {}", i.id),
                format!("version:     {}", i.version),
                format!("kind:        {}", i.kind),
                format!(
                    "api-version: {} (host implements {})",
                    i.api_version,
                    scopegraph_runtime::API_VERSION
                ),
                format!("description: {}", i.description),
                format!("origin:      {}", i.origin),
                format!("sha256:      {}", i.sha256),
                format!("cache:       {:?}", i.cache),
                format!(
                    "limits:      fuel {} per call, memory {} MiB, timeout {} ms",
                    i.limits.fuel, i.limits.memory_mib, i.limits.timeout_ms
                ),
                format!("imports:     {}", i.imports.join(", ")),
                format!("exports:     {}", i.exports.join(", ")),
                format!(
                    "config:      {}",
                    i.config
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ];
            for line in lines {
                let _ = writeln!(io.out, "{line}");
            }
            EXIT_OK
        }
        PluginsCommand::Check => {
            for p in &set.plugins {
                let _ = writeln!(io.out, "ok      {}", p.label());
            }
            for e in &set.failures {
                let _ = writeln!(io.out, "FAILED  {}: {}", e.plugin(), e.kind());
            }
            report_failures(&set, io)
        }
    }
}

fn report_failures(set: &PluginSet, io: &mut Io<'_>) -> u8 {
    for e in &set.failures {
        let help = e.kind().help();
        io.diagnostic(
            "error",
            &format!("plugin {}", e.plugin()),
            &e.kind().to_string(),
            help.as_deref(),
        );
    }
    if set.failures.is_empty() {
        EXIT_OK
    } else {
        EXIT_INCOMPLETE
    }
}
