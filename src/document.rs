//! The JSON documents `--output json` prints: one per command, each a Rust type that derives
//! both `Serialize` and `JsonSchema`, so that what is printed and what `schema/<kind>.schema.json`
//! says cannot disagree. Every field is always present (`null`, `[]`, `{}` when it does not
//! apply): the schemas are generated for serialization, where a field is required unless it
//! may be skipped, and no document type skips one (`every_field_of_every_document_is_required`).

use crate::exit::Classify;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::Serialize;
use serde_json::Value;

/// The version of every document's shape (`provision.<kind>/v1`): bumped when a field changes
/// meaning or goes away, not when one is added.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// A command's JSON document: its `kind` names its schema (`provision.<kind>/v1`).
pub trait Document: Serialize + JsonSchema {
    const KIND: &'static str;
}

/// The schema name a document carries in its `schema` field.
pub fn schema_name(kind: &str) -> String {
    format!("provision.{kind}/v{JSON_SCHEMA_VERSION}")
}

/// The document as printed: its fields with `schema` first.
pub fn to_json<T: Document>(value: &T) -> Value {
    let mut doc = serde_json::Map::new();
    doc.insert("schema".into(), schema_name(T::KIND).into());
    // Every document type is a struct: an object.
    if let Ok(Value::Object(fields)) = serde_json::to_value(value) {
        doc.extend(fields);
    }
    Value::Object(doc)
}

/// The JSON Schema (draft 2020-12) of a document as printed: the type's schema, with the
/// `schema` field first, required, and fixed to the document's name.
pub fn json_schema<T: Document>() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    let name = schema_name(T::KIND);
    if let Some(obj) = schema.as_object_mut() {
        let mut properties = serde_json::Map::new();
        properties.insert("schema".into(), serde_json::json!({ "const": name }));
        if let Some(Value::Object(fields)) = obj.remove("properties") {
            properties.extend(fields);
        }
        obj.insert("properties".into(), Value::Object(properties));
        let mut required = vec![Value::from("schema")];
        if let Some(Value::Array(fields)) = obj.remove("required") {
            required.extend(fields);
        }
        obj.insert("required".into(), Value::Array(required));
        obj.insert("$id".into(), name.into());
    }
    close_objects(&mut schema);
    schema
}

/// Nothing but the documented fields, at every level: each object with `properties` refuses
/// others (`unevaluatedProperties` when it also has `anyOf`/`oneOf`/`allOf`, so that the
/// fields of the branch that matched count). A definition that is a branch of such an object
/// (a flattened enum: `TargetPlan`'s engine part) stays open: its parent closes it.
fn close_objects(root: &mut Value) {
    const COMBINATORS: [&str; 3] = ["anyOf", "oneOf", "allOf"];
    fn branches_of_objects(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(obj) => {
                if obj.contains_key("properties") {
                    let refs = COMBINATORS
                        .iter()
                        .filter_map(|c| obj.get(*c).and_then(Value::as_array))
                        .flatten()
                        .filter_map(|b| b.get("$ref").and_then(Value::as_str));
                    out.extend(refs.map(|r| r.trim_start_matches("#/$defs/").to_string()));
                }
                obj.values().for_each(|c| branches_of_objects(c, out));
            }
            Value::Array(items) => items.iter().for_each(|c| branches_of_objects(c, out)),
            _ => {}
        }
    }
    fn close(v: &mut Value, open: &[String], name: Option<&str>) {
        match v {
            Value::Object(obj) => {
                let closable = obj.contains_key("properties")
                    && !obj.contains_key("additionalProperties")
                    && !obj.contains_key("unevaluatedProperties")
                    && !name.is_some_and(|n| open.iter().any(|o| o == n));
                if closable {
                    let key = if COMBINATORS.iter().any(|c| obj.contains_key(*c)) {
                        "unevaluatedProperties"
                    } else {
                        "additionalProperties"
                    };
                    obj.insert(key.into(), false.into());
                }
                for (k, child) in obj.iter_mut() {
                    match (k.as_str(), child) {
                        ("$defs", Value::Object(defs)) => {
                            for (def, schema) in defs.iter_mut() {
                                close(schema, open, Some(def));
                            }
                        }
                        (_, child) => close(child, open, None),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|c| close(c, open, None)),
            _ => {}
        }
    }
    let mut open = Vec::new();
    branches_of_objects(root, &mut open);
    close(root, &open, None);
}

/// `schema/<kind>.schema.json`: the file a document's schema is committed as, and its text.
pub fn schema_file<T: Document>() -> (String, String) {
    let text = serde_json::to_string_pretty(&json_schema::<T>()).unwrap_or_default() + "\n";
    (format!("schema/{}.schema.json", T::KIND), text)
}

/// A region (or other target) that failed, as the failure document lists it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RegionFailure {
    pub region: String,
    pub error: String,
}

/// The document of a command that failed (`--output json`): printed on stdout instead of the
/// command's own document when the command ends in an error before printing it (invalid
/// input, exit 3, clap usage errors included; no region able to serve; a refused stage; no
/// terminal to confirm on).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Failure {
    /// The subcommand (`stage`, `download`, ...); empty when none was recognised.
    pub command: String,
    /// The exit code of the run (1, 2, 3, 130, 143).
    pub exit: u8,
    /// What failed, in one line.
    pub error: String,
    /// The cause chain, outermost first.
    pub causes: Vec<String>,
    /// What to do about it, when known.
    pub hint: Option<String>,
    /// Per-region failures, when the error gathers several.
    pub failures: Vec<RegionFailure>,
}

impl Document for Failure {
    const KIND: &'static str = "error";
}

impl Failure {
    pub fn of(command: &str, exit: u8, e: &dyn Classify) -> Self {
        let mut causes = Vec::new();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            causes.push(s.to_string());
            source = s.source();
        }
        Failure {
            command: command.to_string(),
            exit,
            error: e.to_string(),
            causes,
            hint: e.hint(),
            failures: e
                .failures()
                .into_iter()
                .map(|(region, error)| RegionFailure { region, error })
                .collect(),
        }
    }
}

/// Every property of every object in `schema` that is not in its object's `required`, by
/// JSON pointer: a field that could be left out of a document.
pub fn optional_properties(schema: &Value) -> Vec<String> {
    fn walk(at: &str, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(obj) => {
                if let Some(Value::Object(props)) = obj.get("properties") {
                    let required: Vec<&str> = obj
                        .get("required")
                        .and_then(Value::as_array)
                        .map(|r| r.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    for key in props.keys() {
                        if !required.contains(&key.as_str()) {
                            out.push(format!("{at}/properties/{key}"));
                        }
                    }
                }
                for (k, child) in obj {
                    walk(&format!("{at}/{k}"), child, out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(&format!("{at}/{i}"), child, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", schema, &mut out);
    out
}
