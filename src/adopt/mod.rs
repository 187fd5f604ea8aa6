//! `provision adopt`: finds what a Startifact organisation already has in each region (the
//! configuration parameter, the bucket-name parameter, the bucket, the stack that owns it and
//! the guide's managed policies) and writes the configuration file that describes exactly
//! that, with the stack's logical IDs and policy descriptions (`adopted`), so that `plan`
//! updates the stack in place. Changes nothing in AWS.

pub mod discover;
#[cfg(test)]
mod tests;

use crate::cli::AdoptArgs;
use crate::context::Context;
use crate::exit::{Classify, Exit};
use crate::render::yaml_scalar;
use discover::{DiscoverError, Found};
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Output(#[from] crate::ui::OutputError),
}

impl Classify for AdoptError {
    fn exit(&self) -> Exit {
        match self {
            AdoptError::Input(_) => Exit::Invalid,
            AdoptError::Failed(_) => Exit::Failure,
            AdoptError::Output(e) => e.exit(),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            AdoptError::Input(m) if m.contains("already exists") => {
                Some("pass --force to overwrite it".into())
            }
            _ => None,
        }
    }
}

pub async fn cmd_adopt(ctx: &Context, args: &AdoptArgs) -> Result<Exit, AdoptError> {
    let path = &ctx.global.file;
    if path.exists() && !args.force {
        return Err(AdoptError::Input(format!(
            "{}: already exists; adopt writes a new configuration and overwrites nothing",
            path.display()
        )));
    }
    let parameter = ctx
        .env
        .startifact_parameter
        .clone()
        .unwrap_or_else(|| crate::startifact::document::DEFAULT_PARAMETER.to_string());
    let (clients, regions) = regions(ctx, args, &parameter).await?;
    let look = discover::Look {
        parameter: &parameter,
        bucket_parameter: &args.bucket_parameter,
        bucket: None,
    };
    let named = named_buckets(&args.buckets, &regions)?;
    let mut found = Vec::new();
    let results = crate::runner::for_each_region(&regions, 4, |region| {
        let clients = clients.clone();
        let bucket = named.get(&region).map(String::as_str);
        async move {
            let look = discover::Look { bucket, ..look };
            discover::region(&clients, &region, look).await
        }
    })
    .await;
    for (_, result) in results {
        found.push(result.map_err(failed)?);
    }
    let report = report(&found);
    let adopted = consistent(&found)?;
    let yaml = configuration(&regions, &parameter, &found, &adopted, &args.organisation);
    // The file must be one provision accepts: parse it back before writing it.
    crate::config::parse(path, &yaml).map_err(|e| {
        AdoptError::Failed(format!("the configuration adopt wrote is invalid: {e}"))
    })?;
    std::fs::write(path, &yaml)
        .map_err(|e| AdoptError::Failed(format!("{}: cannot write: {e}", path.display())))?;
    let adopted = Adopted {
        file: path.clone(),
        regions: found,
    };
    ctx.ui.emit(&adopted, || {
        format!(
            "{report}Wrote {}: nothing was changed in AWS.",
            path.display()
        )
    })?;
    let problems = adopted
        .regions
        .iter()
        .any(|f| f.bucket.is_some() && !f.bucket_exists);
    Ok(if problems {
        Exit::Failure
    } else {
        Exit::Success
    })
}

/// The regions to look in: `--regions`, else `STARTIFACT_REGIONS`, else the configuration
/// parameter's, read in the first region known (`AWS_REGION`); with the clients, opened there.
async fn regions(
    ctx: &Context,
    args: &AdoptArgs,
    parameter: &str,
) -> Result<(crate::aws::Clients, Vec<String>), AdoptError> {
    let given: Vec<String> = match (&args.regions, &ctx.env.startifact_regions) {
        (Some(list), _) | (None, Some(list)) => crate::startifact::document::split_regions(list),
        (None, None) => Vec::new(),
    };
    let first = given
        .first()
        .cloned()
        .or_else(|| ctx.env.aws_region.clone())
        .or_else(|| ctx.env.aws_default_region.clone())
        .ok_or_else(|| {
            AdoptError::Input(
                "no regions: pass --regions eu-west-1,us-east-1, set STARTIFACT_REGIONS, or set AWS_REGION to read them from the configuration parameter".into(),
            )
        })?;
    let clients = ctx.clients.open(&first, &Default::default()).await;
    let look = discover::Look {
        parameter,
        bucket_parameter: &args.bucket_parameter,
        bucket: None,
    };
    let regions = if given.is_empty() {
        let home = discover::region(&clients, &first, look)
            .await
            .map_err(failed)?;
        match home.configuration {
            Some(c) if !c.regions.is_empty() => c.regions,
            _ => {
                return Err(AdoptError::Input(format!(
                    "{first}: no configuration parameter {parameter} to read the regions from: pass --regions or set STARTIFACT_REGIONS"
                )));
            }
        }
    } else {
        given
    };
    Ok((clients, regions))
}

/// What `adopt` reports (`--output json`): the configuration file written, and what each
/// region holds.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Adopted {
    file: std::path::PathBuf,
    regions: Vec<Found>,
}

impl crate::document::Document for Adopted {
    const KIND: &'static str = "adopt";
}

/// The buckets named with `--bucket`, by region: `REGION=NAME`, or `NAME` alone when there is
/// one region. Each region once, and one of the regions adopted.
fn named_buckets(
    given: &[String],
    regions: &[String],
) -> Result<BTreeMap<String, String>, AdoptError> {
    let mut named = BTreeMap::new();
    for arg in given {
        let (region, name) = match arg.split_once('=') {
            Some((region, name)) => (region.trim().to_string(), name.trim().to_string()),
            None if regions.len() == 1 => (regions[0].clone(), arg.trim().to_string()),
            None => {
                return Err(AdoptError::Input(format!(
                    "--bucket {arg}: which region? With {} regions, write --bucket REGION={arg}",
                    regions.len()
                )));
            }
        };
        if !regions.contains(&region) {
            return Err(AdoptError::Input(format!(
                "--bucket {arg}: `{region}` is not one of the regions adopted ({})",
                regions.join(", ")
            )));
        }
        if let Err(e) = crate::config::rules::bucket_name(&name) {
            return Err(AdoptError::Input(format!("--bucket {arg}: `{name}` {e}")));
        }
        if named.insert(region.clone(), name).is_some() {
            return Err(AdoptError::Input(format!(
                "--bucket: {region} is named twice; one bucket per region"
            )));
        }
    }
    Ok(named)
}

fn failed(e: DiscoverError) -> AdoptError {
    match e {
        DiscoverError::Refused(m) => AdoptError::Input(m),
        DiscoverError::Aws(e) => AdoptError::Failed(e.to_string()),
    }
}

/// What the regions have in common, refused when they disagree: the prefixes (Startifact
/// reads one configuration), the stack name and its logical IDs (one configuration file).
struct Common {
    key_prefix: String,
    artifact_prefix: String,
    bucket_parameter: String,
    stack: Option<discover::OwningStack>,
}

fn consistent(found: &[Found]) -> Result<Common, AdoptError> {
    let mut common: Option<Common> = None;
    for f in found {
        let (key_prefix, artifact_prefix) = match &f.configuration {
            Some(c) => (c.bucket_key_prefix.clone(), c.parameter_name_prefix.clone()),
            None => continue,
        };
        match &common {
            None => {
                common = Some(Common {
                    key_prefix,
                    artifact_prefix,
                    bucket_parameter: f.bucket_parameter.clone(),
                    stack: None,
                })
            }
            Some(c) if c.key_prefix != key_prefix || c.artifact_prefix != artifact_prefix => {
                return Err(AdoptError::Input(format!(
                    "conflicting prefixes: {} has key prefix `{key_prefix}` and parameter prefix `{artifact_prefix}`, another region `{}` and `{}`; Startifact needs one organisation configuration in every region",
                    f.region, c.key_prefix, c.artifact_prefix
                )));
            }
            Some(_) => {}
        }
    }
    let mut common = common.unwrap_or(Common {
        key_prefix: String::new(),
        artifact_prefix: "/artifacts".into(),
        bucket_parameter: found
            .first()
            .map(|f| f.bucket_parameter.clone())
            .unwrap_or_default(),
        stack: None,
    });
    for f in found {
        let Some(s) = &f.stack else { continue };
        match &common.stack {
            None => common.stack = Some(s.clone()),
            Some(c) if c.name != s.name => {
                return Err(AdoptError::Input(format!(
                    "{}: bucket {} is owned by stack {}, but the other regions' by {}: one configuration describes one stack name",
                    f.region,
                    f.bucket.as_deref().unwrap_or_default(),
                    s.name,
                    c.name
                )));
            }
            Some(c) if c.bucket_id != s.bucket_id || c.policies != s.policies => {
                return Err(AdoptError::Input(format!(
                    "{}: stack {} has other logical IDs or policy descriptions than in another region",
                    f.region, s.name
                )));
            }
            Some(_) => {}
        }
    }
    Ok(common)
}

/// The configuration file: what was found, nothing renamed.
fn configuration(
    regions: &[String],
    parameter: &str,
    found: &[Found],
    common: &Common,
    organisation: &str,
) -> String {
    let q = |s: &str| yaml_scalar(s);
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Written by `provision adopt` from what exists in each region."
    );
    let _ = writeln!(y, "version: 1\norganisation: {}", q(organisation));
    let _ = writeln!(y, "regions: [{}]", regions.join(", "));
    if let Some(s) = &common.stack {
        let _ = writeln!(y, "stack_name: {}", q(&s.name));
    }
    let _ = writeln!(
        y,
        "parameters:\n  configuration: {}\n  bucket_name: {}\n  artifact_prefix: {}",
        q(parameter),
        q(&common.bucket_parameter),
        crate::render::json_string(&common.artifact_prefix)
    );
    let _ = writeln!(
        y,
        "bucket:\n  key_prefix: {}",
        crate::render::json_string(&common.key_prefix)
    );
    let unowned = unowned_buckets(found);
    if common.stack.is_some() || !unowned.is_empty() {
        let _ = writeln!(y, "adopted:");
    }
    if !unowned.is_empty() {
        let _ = writeln!(y, "  buckets:");
        for (region, bucket) in unowned {
            let _ = writeln!(y, "    {region}: {}", q(bucket));
        }
    }
    if let Some(s) = &common.stack {
        let _ = writeln!(y, "  logical_ids:\n    bucket: {}", s.bucket_id);
        if let Some(p) = &s.parameter_id {
            let _ = writeln!(y, "    bucket_name_parameter: {p}");
        }
        for (role, id, _) in &s.policies {
            let _ = writeln!(y, "    {role}_policy: {id}");
        }
        let described: Vec<_> = s
            .policies
            .iter()
            .filter_map(|(role, _, d)| Some((role, d.as_ref()?)))
            .collect();
        if !described.is_empty() {
            let _ = writeln!(y, "  policy_descriptions:");
            for (role, d) in described {
                let _ = writeln!(y, "    {role}: {}", crate::render::json_string(d));
            }
        }
    }
    y
}

/// The existing buckets no stack owns, by region: imported by the first `apply`.
fn unowned_buckets(found: &[Found]) -> Vec<(&str, &str)> {
    found
        .iter()
        .filter(|f| f.bucket_exists && f.stack.is_none())
        .filter_map(|f| Some((f.region.as_str(), f.bucket.as_deref()?)))
        .collect()
}

/// Per region: what was found; then what is missing or points nowhere.
fn report(found: &[Found]) -> String {
    let mut out = String::new();
    for f in found {
        let _ = write!(out, "{}: ", f.region);
        let mut parts = Vec::new();
        parts.push(if f.configuration_found {
            "configuration parameter".to_string()
        } else {
            "no configuration parameter".to_string()
        });
        match (&f.bucket, f.bucket_exists) {
            (None, _) => parts.push(format!("no bucket-name parameter {}", f.bucket_parameter)),
            (Some(b), true) if f.bucket_given => parts.push(format!("bucket {b} (--bucket)")),
            (Some(b), true) => parts.push(format!("bucket {b} (named by {})", f.bucket_parameter)),
            (Some(b), false) => parts.push(format!(
                "parameter {} points to bucket {b}, which does not exist",
                f.bucket_parameter
            )),
        }
        match &f.stack {
            Some(s) => parts.push(format!(
                "stack {} ({}), bucket {}, policies {}",
                s.name,
                s.status,
                s.bucket_id,
                s.policies
                    .iter()
                    .map(|(_, id, _)| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            None if f.bucket_exists => parts.push("owned by no stack: will be imported".into()),
            None => {}
        }
        if !f.configuration_found && f.bucket.is_none() {
            parts = vec!["nothing found".into()];
        }
        let _ = writeln!(out, "{}", parts.join("; "));
    }
    out
}
