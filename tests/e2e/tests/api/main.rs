//! The end-to-end suite: one binary, one module per area, every test on its own system (see `e2e::spawn_app`).

mod analytics;
mod catalog;
mod conventions;
mod docs;
mod gateway;
mod identity;
mod orders;
