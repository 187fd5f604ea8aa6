//! Reference documentation generated from the code, so it cannot drift: the CLI reference from
//! the clap model, the configuration reference from the JSON Schema, the IAM permissions
//! from the policy templates, and the JSON Schemas of the output documents from their types.
//! `tests/it/docs_drift.rs` fails when docs/cli.md, docs/configuration.md,
//! docs/iam-permissions.md or `schema/<kind>.schema.json` differ from what these functions
//! produce (`UPDATE_DOCS=1 cargo test --test it docs_drift` rewrites them).

use clap::CommandFactory;
use serde_json::Value;
use std::fmt::Write;

const GENERATED: &str = "<!-- Generated from the code by `UPDATE_DOCS=1 cargo test --test it docs_drift`. Do not edit. -->";

/// docs/cli.md: every command, its usage, arguments and options.
pub fn cli_reference() -> String {
    let mut root = crate::cli::Cli::command().term_width(100);
    root.build();
    let mut out = format!("{GENERATED}\n\n# Command-line reference\n\n");
    let _ = writeln!(
        out,
        "{}\n",
        root.get_long_about()
            .or(root.get_about())
            .map(|s| s.to_string())
            .unwrap_or_default()
    );
    let _ = writeln!(out, "## Global options\n");
    for arg in root
        .get_arguments()
        .filter(|a| a.is_global_set() && !a.is_hide_set())
    {
        write_arg(&mut out, arg);
    }
    if let Some(after) = root.get_after_help() {
        let _ = writeln!(out, "\n{after}");
    }
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        let _ = writeln!(out, "\n## `provision {}`\n", sub.get_name());
        let _ = writeln!(
            out,
            "{}\n",
            sub.get_about().map(|s| s.to_string()).unwrap_or_default()
        );
        let mut sub = sub.clone();
        let usage = sub.render_usage().to_string();
        let usage = usage.trim_start_matches("Usage: ");
        let _ = writeln!(
            out,
            "```\nprovision {}\n```\n",
            usage.trim_start_matches(sub.get_name()).trim_start()
        );
        let args: Vec<_> = sub
            .get_arguments()
            .filter(|a| !a.is_global_set() && !a.is_hide_set() && a.get_id() != "help")
            .collect();
        if !args.is_empty() {
            for arg in args {
                write_arg(&mut out, arg);
            }
        }
        let _ = writeln!(
            out,
            "\nSee also: [docs/commands/{0}.md](commands/{0}.md).",
            sub.get_name()
        );
    }
    out
}

fn write_arg(out: &mut String, arg: &clap::Arg) {
    let value_name = arg
        .get_value_names()
        .and_then(|v| v.first())
        .map(|v| v.to_string())
        .unwrap_or_else(|| arg.get_id().to_string().to_uppercase());
    let mut name = String::new();
    if let Some(s) = arg.get_short() {
        let _ = write!(name, "-{s}, ");
    }
    if let Some(l) = arg.get_long() {
        let _ = write!(name, "--{l}");
        if arg.get_num_args().is_some_and(|n| n.takes_values()) {
            let _ = write!(name, " {value_name}");
        }
    } else if arg.get_short().is_none() {
        name = value_name;
    }
    let help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let mut extra = Vec::new();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() {
        extra.push(format!("default: `{}`", defaults.join(",")));
    }
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| format!("`{}`", v.get_name()))
        .collect();
    if !values.is_empty() {
        extra.push(format!("one of {}", values.join(", ")));
    }
    if let Some(env) = arg.get_env() {
        extra.push(format!("env `{}`", env.to_string_lossy()));
    }
    let help = help.replace('\n', " ");
    if extra.is_empty() {
        let _ = writeln!(out, "- `{name}`: {help}");
    } else {
        let _ = writeln!(out, "- `{name}`: {help} ({})", extra.join("; "));
    }
}

/// docs/configuration.md: every field of the configuration file, from the JSON Schema.
pub fn config_reference() -> String {
    let schema: Value = serde_json::from_str(&crate::config::json_schema()).unwrap_or(Value::Null);
    let mut out = format!("{GENERATED}\n\n# Configuration reference (`provision.yaml`)\n\n");
    let _ = writeln!(
        out,
        "{}\n\nThe JSON Schema is `schema/provision.schema.json` (`provision schema` prints it); editors that \
         speak the YAML language server validate and complete the file when it starts with\n\
         `# yaml-language-server: $schema=<path to provision.schema.json>`.\n",
        schema["description"].as_str().unwrap_or_default()
    );
    let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
    write_object(&mut out, &schema, &defs, "", 2);
    out
}

fn resolve<'a>(node: &'a Value, defs: &'a Value) -> &'a Value {
    if let Some(r) = node.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or_default();
        return defs.get(name).unwrap_or(node);
    }
    if let Some(any) = node.get("anyOf").and_then(Value::as_array)
        && let Some(first) = any
            .iter()
            .find(|v| v.get("type") != Some(&Value::String("null".into())))
    {
        return resolve(first, defs);
    }
    node
}

fn type_of(node: &Value, defs: &Value) -> String {
    let n = resolve(node, defs);
    if let Some(values) = n.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .filter_map(Value::as_str)
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(" \\| ");
    }
    if let Some(one) = n.get("oneOf").and_then(Value::as_array) {
        let names: Vec<String> = one
            .iter()
            .filter_map(|v| {
                v.get("const")
                    .or(v.get("enum").and_then(|e| e.get(0)))
                    .and_then(Value::as_str)
            })
            .map(|v| format!("`{v}`"))
            .collect();
        if !names.is_empty() {
            return names.join(" \\| ");
        }
    }
    match n.get("type") {
        Some(Value::String(t)) if t == "array" => format!(
            "list of {}",
            n.get("items").map(|i| type_of(i, defs)).unwrap_or_default()
        ),
        Some(Value::String(t)) if t == "object" && n.get("properties").is_none() => {
            "mapping".into()
        }
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "object".into(),
    }
}

fn write_object(out: &mut String, node: &Value, defs: &Value, prefix: &str, level: usize) {
    let node = resolve(node, defs);
    let Some(props) = node.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = node
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut nested = Vec::new();
    let _ = writeln!(
        out,
        "| field | type | default | description |\n|---|---|---|---|"
    );
    for (name, prop) in props {
        let path = format!("{prefix}{name}");
        let has_fields = resolve(prop, defs).get("properties").is_some();
        let default = if required.contains(&name.as_str()) {
            "required".to_string()
        } else if has_fields {
            "see below".to_string()
        } else {
            prop.get("default")
                .map(|d| format!("`{d}`"))
                .unwrap_or_else(|| "—".into())
        };
        let desc = prop
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .replace('\n', " ");
        let _ = writeln!(
            out,
            "| `{path}` | {} | {default} | {desc} |",
            type_of(prop, defs)
        );
        let target = resolve(prop, defs);
        let item = target.get("items").map(|i| resolve(i, defs));
        if target.get("properties").is_some() {
            nested.push((path, target.clone()));
        } else if let Some(item) = item
            && item.get("properties").is_some()
        {
            nested.push((format!("{path}[]"), item.clone()));
        }
    }
    for (path, target) in nested {
        let _ = writeln!(out, "\n{} `{path}`\n", "#".repeat(level));
        if let Some(d) = target.get("description").and_then(Value::as_str) {
            let _ = writeln!(out, "{}\n", d.replace('\n', " "));
        }
        write_object(out, &target, defs, &format!("{path}."), (level + 1).min(6));
    }
}

/// docs/iam-permissions.md: what each command needs, with the policies `provision` renders
/// from `policies/` (concrete JSON for an example configuration).
pub fn iam_permissions() -> String {
    const EXAMPLE: &str = "version: 1\norganisation: example\nregions: [eu-west-1]\nkms:\n  alias: alias/example-artifacts\naccess:\n  roles: [ci-runner]\npolicies:\n  read:\n    allow_metadata_append: true\n  manage:\n    enabled: true\n";
    let mut out = format!("{GENERATED}\n\n# IAM permissions per command\n\n");
    out.push_str(
        "The staging commands need exactly the managed policies that the stacks create (their ARNs \
         are stack outputs: `provision status`). The documents below are rendered from `policies/` \
         for an example configuration (account 123456789012, region eu-west-1, a KMS key, an access \
         list with the role `ci-runner`, the metadata-append option and the manage policy on); \
         yours differ only in names.\n\n\
         | command | attach | beyond Startifact's policies |\n|---|---|---|\n\
         | `validate`, `render`, `schema`, `completions` | nothing (offline) | |\n\
         | `setup` | configure | — |\n\
         | `stage` | write **and** read | `s3:GetObject` (existing-content check, `--copy` source), `ssm:GetParameter` on `<prefix>/*` (`latest` only moves forward), `s3:AbortMultipartUpload` (clean failure) — the read policy and `s3:PutObject` cover them except `AbortMultipartUpload`, whose absence leaves parts to the bucket's lifecycle rule |\n\
         | `download`, `info`, `presign` | read | — |\n\
         | `list` | read, plus `s3:ListBucket` (in write) | listing the versions |\n\
         | `metadata --set` | read with `policies.read.allow_metadata_append: true`, or write | — |\n\
         | `plan`, `status`, `drift` | see [commands/plan.md](commands/plan.md#iam-permissions) | CloudFormation read and change-set actions; with access lists `iam:GetRole`, `iam:GetUser` |\n\
         | `apply`, `destroy` | see [commands/apply.md](commands/apply.md#iam-permissions), [commands/destroy.md](commands/destroy.md) | the permissions to create what the stacks contain |\n\n\
         Identities in the access lists (`access:`) also pass the bucket and key policies' \
         deny-except statements; everyone else is denied even with these policies attached.\n",
    );
    let cfg = match crate::config::parse(std::path::Path::new("example.yaml"), EXAMPLE) {
        Ok(cfg) => cfg,
        Err(e) => return format!("{out}\n(example configuration invalid: {e})\n"),
    };
    let files = crate::render::Templates::load(None)
        .and_then(|t| crate::render::policies(&cfg, &t))
        .unwrap_or_default();
    let titles = [
        ("read", "Read (download, info, presign; metadata append)"),
        ("write", "Write (stage)"),
        ("configure", "Configure (setup)"),
        (
            "manage",
            "Manage (create, read, update, delete objects; optional)",
        ),
        (
            "bucket",
            "Bucket policy (on the bucket, not for identities)",
        ),
        ("key", "KMS key policy (on the key)"),
    ];
    for (stem, title) in titles {
        if let Some(f) = files
            .iter()
            .find(|f| f.name == format!("eu-west-1/{stem}.json"))
        {
            let _ = writeln!(
                out,
                "\n## {title}\n\n`policies/{stem}.json.hbs`:\n\n```json\n{}```",
                f.content
            );
        }
    }
    out
}

/// `schema/<kind>.schema.json` of every document `--output json` prints (path, text), one per
/// command and `error` for a failure (see [`crate::document`]).
pub fn json_schemas() -> Vec<(String, String)> {
    use crate::document::schema_file;
    vec![
        schema_file::<crate::commands::Validated>(),
        schema_file::<crate::render::Report>(),
        schema_file::<crate::deploy::model::PlanReport>(),
        schema_file::<crate::deploy::apply::ApplyReport>(),
        schema_file::<crate::deploy::destroy::DestroyReport>(),
        schema_file::<crate::deploy::status::StatusReport>(),
        schema_file::<crate::deploy::drift::DriftReport>(),
        schema_file::<crate::org::SetupReport>(),
        schema_file::<crate::stage::stage_report::StageReport>(),
        schema_file::<crate::stage::download::Downloaded>(),
        schema_file::<crate::stage::query::Info>(),
        schema_file::<crate::stage::query::Listing>(),
        schema_file::<crate::stage::metadata_cmd::Report>(),
        schema_file::<crate::stage::presign::Presigned>(),
        schema_file::<crate::adopt::Adopted>(),
        schema_file::<crate::document::Failure>(),
    ]
}
