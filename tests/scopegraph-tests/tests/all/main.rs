//! The one integration-test binary: cross-crate and end-to-end tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers may fail loudly

mod audit;
mod cache;
mod observed;
mod sandbox;
mod sdk;
mod support;
mod validate;
