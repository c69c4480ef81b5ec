//! The kia gRPC API, package `kia.v1`: messages, clients and servers generated from
//! `proto/kia/v1`, and the encoded descriptor set that feeds server reflection.
//!
//! Generated types stay at the edge: services convert them into domain types once.

#![allow(clippy::all, missing_docs)]

pub mod v1 {
    tonic::include_proto!("kia.v1");
}

/// The encoded `FileDescriptorSet` of every kia proto file (for server reflection).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/kia_descriptor.bin"));

/// Fully qualified names of kia's gRPC services, as health checking and reflection name them.
pub mod service_names {
    pub const CASE_SERVICE: &str = "kia.v1.CaseService";
    pub const SCREENING_SERVICE: &str = "kia.v1.ScreeningService";
    pub const PLAN_SERVICE: &str = "kia.v1.PlanService";
    pub const CONTRACTING_SERVICE: &str = "kia.v1.ContractingService";
    pub const AUDIT_SERVICE: &str = "kia.v1.AuditService";
}
