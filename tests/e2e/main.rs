//! End-to-end tests: the real `kia` daemon on an ephemeral port with a temporary data
//! directory, driven over gRPC with the generated clients, exactly as a jobcenter's system
//! would. Every test runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)]

mod support;

mod case_rules;
mod cases;
mod contracting;
mod crash;
mod limits;
mod plans;
mod replicas;
mod screening;
mod standard;
