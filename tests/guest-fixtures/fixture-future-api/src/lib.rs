//! A classifier built against a future, incompatible version of the plugin
//! ABI: the host must refuse it at load with `bad-api-version`.

#[cfg(target_arch = "wasm32")]
#[allow(clippy::all, unsafe_code, missing_debug_implementations)]
mod bindings {
    wit_bindgen::generate!({
        inline: "
            package scopegraph:plugin@0.2.0;
            interface classifier {
                classify: func(batch: list<string>) -> list<string>;
            }
            world classifier-plugin { export classifier; }
        ",
        world: "classifier-plugin",
    });

    struct Future;

    impl exports::scopegraph::plugin::classifier::Guest for Future {
        fn classify(batch: Vec<String>) -> Vec<String> {
            batch
        }
    }

    export!(Future);
}
