//! The kia API described by its own descriptor set: proto3 JSON for `--output json`, and enum
//! values by their short names on the command line (`--category 2`, `--mode phone`).

use std::sync::OnceLock;

use clap::builder::{PossibleValue, TypedValueParser};
use prost_reflect::{DescriptorPool, DynamicMessage, EnumDescriptor, SerializeOptions};

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        #[allow(clippy::expect_used)] // the descriptor set is built into the binary
        DescriptorPool::decode(kia_proto::FILE_DESCRIPTOR_SET).expect("kia's descriptor set")
    })
}

fn enum_descriptor(full_name: &str) -> EnumDescriptor {
    #[allow(clippy::expect_used)] // every name passed is a kia.v1 enum, checked by the tests
    pool()
        .get_enum_by_name(full_name)
        .unwrap_or_else(|| panic!("no enum {full_name} in kia's descriptor set"))
}

/// The prefix every value of an enum shares: `CATEGORY_` for `CATEGORY_UNSPECIFIED`.
fn prefix(desc: &EnumDescriptor) -> String {
    desc.values()
        .find(|v| v.number() == 0)
        .map(|v| v.name().trim_end_matches("UNSPECIFIED").to_owned())
        .unwrap_or_default()
}

/// Every value but UNSPECIFIED, in the command line's spelling: `CONTACT_MODE_IN_PERSON` is
/// `in-person`.
pub fn enum_names(full_name: &str) -> Vec<(String, i32)> {
    let desc = enum_descriptor(full_name);
    let prefix = prefix(&desc);
    desc.values()
        .filter(|v| v.number() != 0)
        .map(|v| {
            let short = v.name().strip_prefix(&prefix).unwrap_or(v.name());
            (short.to_ascii_lowercase().replace('_', "-"), v.number())
        })
        .collect()
}

/// A value's short name; `-` for UNSPECIFIED, the number when unknown.
pub fn label(full_name: &str, number: i32) -> String {
    if number == 0 {
        return "-".to_owned();
    }
    enum_names(full_name)
        .into_iter()
        .find(|(_, n)| *n == number)
        .map_or_else(|| number.to_string(), |(name, _)| name)
}

/// Parses a short name (either `in-person` or `in_person`, any case) into the value's number.
pub fn parse_enum(full_name: &str, raw: &str) -> Result<i32, String> {
    let wanted = raw.trim().to_ascii_lowercase().replace('_', "-");
    let names = enum_names(full_name);
    names
        .iter()
        .find(|(name, _)| *name == wanted)
        .map(|(_, n)| *n)
        .ok_or_else(|| {
            let all: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
            format!("unknown value {raw:?}; one of {}", all.join(", "))
        })
}

/// A clap parser for one kia enum: `#[arg(value_parser = EnumArg("kia.v1.Category"))]`.
#[derive(Debug, Clone, Copy)]
pub struct EnumArg(pub &'static str);

impl TypedValueParser for EnumArg {
    type Value = i32;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<i32, clap::Error> {
        let raw = value.to_string_lossy();
        parse_enum(self.0, &raw).map_err(|message| {
            let name = arg.map_or_else(String::new, |a| format!("{a}: "));
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("{name}{message}\n"),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            enum_names(self.0)
                .into_iter()
                .map(|(name, _)| PossibleValue::new(name)),
        ))
    }
}

/// A response in the protobuf JSON mapping with the .proto field names, every field present
/// (defaults included), enums by name and 64-bit integers as numbers.
pub fn to_json<M: prost::Message>(message: &M, full_name: &str) -> serde_json::Value {
    #[allow(clippy::expect_used)] // names are checked by the tests; bytes come from prost
    let desc = pool()
        .get_message_by_name(full_name)
        .unwrap_or_else(|| panic!("no message {full_name} in kia's descriptor set"));
    let dynamic = DynamicMessage::decode(desc, message.encode_to_vec().as_slice())
        .expect("a message decodes as its own descriptor");
    let options = SerializeOptions::new()
        .use_proto_field_name(true)
        .skip_default_fields(false)
        .stringify_64_bit_integers(false);
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .expect("a message serializes to JSON")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use kia_proto::v1 as pb;

    #[test]
    fn enums_take_their_short_names() {
        assert_eq!(
            parse_enum("kia.v1.Category", "2"),
            Ok(pb::Category::Category2 as i32)
        );
        assert_eq!(
            parse_enum("kia.v1.ContactMode", "IN_PERSON"),
            Ok(pb::ContactMode::InPerson as i32)
        );
        assert_eq!(label("kia.v1.CaseOutcome", 1), "full-return");
        assert!(
            parse_enum("kia.v1.ContactMode", "pigeon")
                .unwrap_err()
                .contains("in-person, phone")
        );
    }

    #[test]
    fn json_keeps_proto_names_and_every_field() {
        let case = pb::Case {
            case_id: "c1".into(),
            category: pb::Category::Category3 as i32,
            ..Default::default()
        };
        let json = to_json(&case, "kia.v1.Case");
        assert_eq!(json["case_id"], "c1");
        assert_eq!(json["category"], "CATEGORY_3");
        assert_eq!(json["closed_on"], "");
    }
}
