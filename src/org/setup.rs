//! `provision setup [-f provision.yaml] [--check]`: the organisation configuration in every
//! region of the configuration file.
//!
//! Every region is read concurrently; what it has is merged with what the file asks for
//! (keys it does not know are kept), and the result — Startifact's exact JSON — is written
//! where it differs. `--check` only compares. An unreachable region is reported and the
//! others are still done.

use super::OrgError;
use crate::aws;
use crate::aws::ssm::{get_parameter, put_parameter};
use crate::cli::SetupArgs;
use crate::context::Context;
use crate::exit::Exit;
use crate::startifact::document::{self, KeyChange, Merged, OrgConfig};
use crate::ui::Tone;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Status {
    /// Already exactly the configuration (byte for byte).
    UpToDate,
    /// Written now (did not exist).
    Created,
    /// Written now (differed).
    Updated,
    /// `--check`: does not exist.
    Missing,
    /// `--check`: differs.
    Differs,
    Failed,
}

#[derive(Debug, Serialize)]
struct RegionSetup {
    region: String,
    status: Status,
    /// Keys added or changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    changes: Vec<KeyChange>,
    /// Same values, different formatting (e.g. written by hand): rewritten as Startifact would.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    reformatted: bool,
    /// Keys Startifact does not define, kept as they are.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    kept_unknown: Vec<String>,
    /// The current value was not a JSON object (why).
    #[serde(skip_serializing_if = "Option::is_none")]
    replaced_invalid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct SetupReport {
    parameter: String,
    check: bool,
    regions: Vec<RegionSetup>,
}

struct Found {
    current: Option<String>,
    merged: Merged,
}

pub async fn cmd_setup(ctx: &Context, args: &SetupArgs) -> Result<Exit, OrgError> {
    let cfg = ctx.config()?;
    let parameter = document::parameter_name(Some(&cfg), ctx.env.startifact_parameter.as_deref())
        .map_err(OrgError::Input)?;
    let desired = document::desired(&cfg);
    let aws = ctx.clients.open(cfg.home_region(), &cfg.endpoints).await;
    let (aws, parameter_ref, desired) = (&aws, parameter.as_str(), &desired);
    let check = args.check;

    let results = aws::for_each_region(&cfg.regions, cfg.regions.len(), |region| async move {
        let current = get_parameter(&aws.ssm_reads(&region), parameter_ref)
            .await
            .map_err(|e| format!("reading {parameter_ref}: {e}"))?;
        let merged = document::merge(current.as_deref(), desired);
        let found = Found { current, merged };
        let status = match (&found.current, check) {
            (Some(c), _) if *c == found.merged.text => Status::UpToDate,
            (None, true) => Status::Missing,
            (Some(_), true) => Status::Differs,
            (current, false) => {
                put_parameter(&aws.ssm(&region), parameter_ref, &found.merged.text)
                    .await
                    .map_err(|e| format!("writing {parameter_ref}: {e}"))?;
                if current.is_none() {
                    Status::Created
                } else {
                    Status::Updated
                }
            }
        };
        Ok::<_, String>((found, status))
    })
    .await;

    let mut regions = Vec::new();
    let mut elsewhere: Vec<String> = Vec::new();
    for (region, result) in results {
        regions.push(match result {
            Ok((found, status)) => {
                if let Some(c) = found
                    .current
                    .as_deref()
                    .and_then(|c| OrgConfig::parse(c).ok())
                {
                    elsewhere.extend(c.regions.into_iter().filter(|r| !cfg.regions.contains(r)));
                }
                RegionSetup {
                    region,
                    status,
                    reformatted: status != Status::UpToDate
                        && found.current.is_some()
                        && found.merged.changes.is_empty()
                        && found.merged.replaces_invalid.is_none(),
                    changes: found.merged.changes,
                    kept_unknown: found.merged.kept_unknown,
                    replaced_invalid: found.merged.replaces_invalid,
                    error: None,
                }
            }
            Err(e) => RegionSetup {
                region,
                status: Status::Failed,
                changes: Vec::new(),
                reformatted: false,
                kept_unknown: Vec::new(),
                replaced_invalid: None,
                error: Some(e),
            },
        });
    }
    elsewhere.sort();
    elsewhere.dedup();
    if !elsewhere.is_empty() {
        ctx.ui.warn(format!(
            "the current configuration also lists {}, which {} does not: the parameter there is left as it is",
            elsewhere.join(", "),
            ctx.global.file.display()
        ));
    }

    let report = SetupReport {
        parameter,
        check,
        regions,
    };
    let failed = report.regions.iter().any(|r| r.status == Status::Failed);
    let differs = report
        .regions
        .iter()
        .any(|r| matches!(r.status, Status::Missing | Status::Differs));
    ctx.ui
        .emit_report("setup", &report, || render(ctx, &report))?;
    Ok(if failed {
        Exit::Failure
    } else if differs {
        Exit::Changes
    } else {
        Exit::Success
    })
}

fn render(ctx: &Context, r: &SetupReport) -> String {
    let ui = &ctx.ui;
    let mut out = format!(
        "organisation configuration {} in {} region{}{}\n",
        r.parameter,
        r.regions.len(),
        if r.regions.len() == 1 { "" } else { "s" },
        if r.check { " (check only)" } else { "" }
    );
    let width = r.regions.iter().map(|x| x.region.len()).max().unwrap_or(0);
    for x in &r.regions {
        let (tone, text) = match x.status {
            Status::UpToDate => (Tone::Good, "up to date"),
            Status::Created => (Tone::Add, "created"),
            Status::Updated => (Tone::Modify, "updated"),
            Status::Missing => (Tone::Add, "missing"),
            Status::Differs => (Tone::Modify, "differs"),
            Status::Failed => (Tone::Bad, "failed"),
        };
        out.push_str(&format!("  {:<width$}  {}", x.region, ui.paint(tone, text)));
        if let Some(e) = &x.error {
            out.push_str(&format!(": {e}"));
        }
        out.push('\n');
        if let Some(why) = &x.replaced_invalid {
            out.push_str(&format!(
                "      the current value {why}; it is replaced as a whole\n"
            ));
        }
        for c in &x.changes {
            match &c.from {
                None => out.push_str(&format!(
                    "      {} {}: {}\n",
                    ui.paint(Tone::Add, "+"),
                    c.key,
                    json(&c.to)
                )),
                Some(from) => out.push_str(&format!(
                    "      {} {}: {} → {}\n",
                    ui.paint(Tone::Modify, "~"),
                    c.key,
                    json(from),
                    json(&c.to)
                )),
            }
        }
        if x.reformatted {
            out.push_str("      same values, written in Startifact's formatting\n");
        }
        if !x.kept_unknown.is_empty() && x.status != Status::UpToDate {
            out.push_str(&format!("      keeps {}\n", x.kept_unknown.join(", ")));
        }
    }
    if r.regions.iter().all(|x| x.status != Status::Failed) && !r.check {
        let regions: Vec<&str> = r.regions.iter().map(|x| x.region.as_str()).collect();
        out.push_str(&format!(
            "Startifact clients need STARTIFACT_REGIONS=\"{}\"; provision reads the regions from the configuration.\n",
            regions.join(",")
        ));
    }
    out
}

fn json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
