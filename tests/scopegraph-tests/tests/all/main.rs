//! The one integration-test binary: cross-crate and end-to-end tests.

mod sandbox;
mod sdk;
