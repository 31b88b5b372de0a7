//! Embeds the WIT package into the SDK's export macros.
//!
//! `wit_bindgen::generate!` resolves `path` relative to the crate that invokes
//! it, and a plugin crate has no copy of the WIT. So the export macros carry
//! the WIT text inline, written here from the one source of truth.

use std::{env, fs, path::PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    // A packaged SDK carries `wit/`; in the workspace it is two levels up.
    let candidates = [
        manifest_dir.join("wit/plugin.wit"),
        manifest_dir.join("../../wit/plugin.wit"),
    ];
    let Some(wit_path) = candidates.iter().find(|p| p.is_file()) else {
        println!("cargo::error=scopegraph-sdk: cannot find wit/plugin.wit");
        return;
    };
    println!("cargo::rerun-if-changed={}", wit_path.display());
    let wit = match fs::read_to_string(wit_path) {
        Ok(text) => text,
        Err(err) => {
            println!(
                "cargo::error=scopegraph-sdk: reading {}: {err}",
                wit_path.display()
            );
            return;
        }
    };
    let literal = format!("{wit:?}");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());

    let sdk_bindings =
        format!("wit_bindgen::generate!({{ inline: {literal}, world: \"sdk\", generate_all }});\n");
    write(&out_dir.join("sdk_bindings.rs"), &sdk_bindings);

    let macros = MACROS_TEMPLATE.replace("@WIT@", &literal);
    write(&out_dir.join("export_macros.rs"), &macros);
}

fn write(path: &PathBuf, text: &str) {
    if let Err(err) = fs::write(path, text) {
        println!(
            "cargo::error=scopegraph-sdk: writing {}: {err}",
            path.display()
        );
    }
}

const MACROS_TEMPLATE: &str = r#"
/// Export a type implementing [`Classifier`](crate::Classifier) as the
/// plugin's classifier. Natively this only checks the trait bound, so the
/// same crate builds and tests on the host without wasm.
#[macro_export]
macro_rules! export_classifier {
    ($ty:ty) => {
        const _: fn() = || {
            fn assert_classifier<T: $crate::Classifier>() {}
            assert_classifier::<$ty>();
        };
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[allow(clippy::all, unsafe_code)]
        mod __scopegraph_classifier_export {
            use super::*;
            ::scopegraph_sdk::__private::wit_bindgen::generate!({
                inline: @WIT@,
                world: "classifier-plugin",
                runtime_path: "::scopegraph_sdk::__private::wit_bindgen::rt",
                with: {
                    "scopegraph:plugin/types@0.1.0": ::scopegraph_sdk::__private::wit::scopegraph::plugin::types,
                    "scopegraph:plugin/host@0.1.0": ::scopegraph_sdk::__private::wit::scopegraph::plugin::host,
                },
            });
            struct Export;
            impl exports::scopegraph::plugin::classifier::Guest for Export {
                fn classify(
                    batch: ::std::vec::Vec<::scopegraph_sdk::__private::wit::scopegraph::plugin::types::Candidate>,
                ) -> ::std::result::Result<
                    ::std::vec::Vec<::scopegraph_sdk::__private::wit::scopegraph::plugin::types::Verdict>,
                    ::scopegraph_sdk::__private::wit::scopegraph::plugin::types::PluginError,
                > {
                    ::scopegraph_sdk::__private::classify::<$ty>(batch)
                }
            }
            export!(Export);
        }
    };
}

/// Export a type implementing [`Provider`](crate::Provider) as the plugin's
/// provider. Natively this only checks the trait bound.
#[macro_export]
macro_rules! export_provider {
    ($ty:ty) => {
        const _: fn() = || {
            fn assert_provider<T: $crate::Provider>() {}
            assert_provider::<$ty>();
        };
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[allow(clippy::all, unsafe_code)]
        mod __scopegraph_provider_export {
            use super::*;
            ::scopegraph_sdk::__private::wit_bindgen::generate!({
                inline: @WIT@,
                world: "provider-plugin",
                runtime_path: "::scopegraph_sdk::__private::wit_bindgen::rt",
                with: {
                    "scopegraph:plugin/types@0.1.0": ::scopegraph_sdk::__private::wit::scopegraph::plugin::types,
                    "scopegraph:plugin/host@0.1.0": ::scopegraph_sdk::__private::wit::scopegraph::plugin::host,
                },
            });
            struct Export;
            impl exports::scopegraph::plugin::provider::Guest for Export {
                fn resolve(
                    documents: ::std::vec::Vec<::scopegraph_sdk::__private::wit::scopegraph::plugin::types::Document>,
                ) -> ::std::result::Result<
                    ::scopegraph_sdk::__private::wit::scopegraph::plugin::types::ProviderOutput,
                    ::scopegraph_sdk::__private::wit::scopegraph::plugin::types::PluginError,
                > {
                    ::scopegraph_sdk::__private::resolve::<$ty>(documents)
                }
            }
            export!(Export);
        }
    };
}
"#;
