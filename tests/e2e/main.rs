//! End-to-end tests: the real `kia` daemon on an ephemeral port with a temporary data
//! directory, driven over gRPC with the generated clients, exactly as a jobcenter's system
//! would. Every test runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)]

mod support;

mod alerts;
mod audit;
mod authn;
mod authz_matrix;
mod case_rules;
mod cases;
mod citizen;
mod cli;
mod contracting;
mod crash;
mod limits;
mod operations;
mod plans;
mod replicas;
mod screening;
mod standard;
mod tls;
