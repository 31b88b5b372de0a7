//! Reads the wall clock through WASI: the host must refuse it at load.

use scopegraph_sdk::{Candidate, Classifier, PluginError, Verdict};

#[cfg(target_arch = "wasm32")]
#[allow(clippy::all, unsafe_code, missing_debug_implementations)]
mod clock {
    wit_bindgen::generate!({
        inline: "
            package wasi:clocks@0.2.0;
            interface wall-clock {
                record datetime { seconds: u64, nanoseconds: u32 }
                now: func() -> datetime;
            }
            world uses-clock { import wall-clock; }
        ",
        world: "uses-clock",
    });
}

#[derive(Debug)]
pub struct Clocked;

impl Classifier for Clocked {
    fn classify(_batch: Vec<Candidate>) -> Result<Vec<Verdict>, PluginError> {
        #[cfg(target_arch = "wasm32")]
        let _seconds = std::hint::black_box(clock::wasi::clocks::wall_clock::now().seconds);
        Ok(Vec::new())
    }
}

scopegraph_sdk::export_classifier!(Clocked);
