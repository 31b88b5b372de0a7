//! The first-party plugins, embedded in the binary.
//!
//! They are built from `plugins/` with the public SDK by this crate's build
//! script and loaded through the same loader as any user plugin; the only
//! difference is where the bytes come from.

/// One embedded plugin: its generated `plugin.toml` and component.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinPlugin {
    /// The component's file name, as the manifest's `component` names it.
    pub file_name: &'static str,
    /// The manifest text (with the component's sha256).
    pub manifest: &'static str,
    /// The component.
    pub wasm: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_first_party_plugin_is_embedded_as_a_component() {
        assert!(BUILTIN.len() >= 2);
        for plugin in BUILTIN {
            // Component binary: magic, then version 0x0d and layer 1.
            assert_eq!(
                plugin.wasm.get(..8),
                Some(&b"\0asm\x0d\0\x01\0"[..]),
                "{}",
                plugin.file_name
            );
            assert!(plugin.manifest.contains(plugin.file_name));
        }
    }
}
