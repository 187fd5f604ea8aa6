//! How per-target reports are printed in JSON documents: each entry is `region`, `account`,
//! the outcome's fields (succeeded or failed shape), and `error`; the schema of a list of
//! reports is generated from the same types (`JsonSchema` for [`Reports`]).

use super::{Reports, TargetOutcome, TargetReport};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use std::borrow::Cow;

/// One target's entry in a command's JSON document: where, the outcome's fields, and the
/// error (`null` when the target succeeded). Every field is always present.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "{F}Target")]
struct Entry<'a, F, E> {
    region: &'a str,
    /// The target's account (StackSets); `null` for a region of the deploying account.
    account: Option<&'a str>,
    #[serde(flatten)]
    fields: F,
    error: E,
}

impl<T: TargetOutcome> Serialize for TargetReport<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let region = self.target.region.as_str();
        let account = self.target.account.as_deref();
        match &self.outcome {
            Ok(t) => Entry {
                region,
                account,
                fields: t.entry(self.elapsed),
                error: (),
            }
            .serialize(s),
            Err(e) => {
                let (fields, error) = T::failed_entry(&self.target, e, self.elapsed);
                Entry {
                    region,
                    account,
                    fields,
                    error,
                }
                .serialize(s)
            }
        }
    }
}

/// A target's entry: the succeeded shape or the failed one.
impl<T: TargetOutcome> JsonSchema for TargetReport<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "TargetReport".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "anyOf": [
                generator.subschema_for::<Entry<'static, T::Entry<'static>, ()>>(),
                generator.subschema_for::<Entry<'static, T::FailedEntry, T::ErrorEntry>>(),
            ]
        })
    }
}

impl<T: TargetOutcome> Serialize for Reports<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<T: TargetOutcome> JsonSchema for Reports<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Reports".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "type": "array",
            "items": generator.subschema_for::<TargetReport<T>>(),
        })
    }
}
