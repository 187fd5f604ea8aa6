//! `provision setup [-f provision.yaml] [--check]`: the organisation configuration in every
//! region of the configuration file.
//!
//! Every region is read concurrently; what it has is merged with what the file asks for
//! (keys it does not know are kept), and the result — Startifact's exact JSON — is written
//! where it differs. `--check` only compares. An unreachable region is reported and the
//! others are still done.

use super::OrgError;
use crate::aws::ssm::{get_parameter, put_parameter};
use crate::aws::{AwsError, Clients};
use crate::cli::SetupArgs;
use crate::context::Context;
use crate::exit::Exit;
use crate::runner::{self, Failure, Reports, Run, Target, TargetOutcome};
use crate::startifact::document::{self, KeyChange, OrgConfig};
use crate::ui::{Tone, Ui};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
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
}

/// One region's configuration, as found and as left.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RegionSetup {
    status: Status,
    /// Keys added or changed.
    changes: Vec<KeyChange>,
    /// Same values, different formatting (e.g. written by hand): rewritten as Startifact would.
    reformatted: bool,
    /// Keys Startifact does not define, kept as they are.
    kept_unknown: Vec<String>,
    /// The current value was not a JSON object (why).
    replaced_invalid: Option<String>,
    /// The regions the current configuration lists.
    #[serde(skip)]
    listed: Vec<String>,
}

/// A region whose configuration could not be read or written: nothing changed there.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SetupFailed {
    status: FailedStatus,
    changes: Vec<KeyChange>,
    reformatted: bool,
    kept_unknown: Vec<String>,
    replaced_invalid: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum FailedStatus {
    Failed,
}

impl TargetOutcome for RegionSetup {
    type Error = Failure;
    type Entry<'a> = &'a RegionSetup;
    type FailedEntry = SetupFailed;
    type ErrorEntry = String;

    fn entry(&self, _: Duration) -> &RegionSetup {
        self
    }

    fn exit(&self) -> Exit {
        match self.status {
            Status::Missing | Status::Differs => Exit::Changes,
            _ => Exit::Success,
        }
    }

    fn summary(&self) -> String {
        self.status.text().to_string()
    }

    fn failed_entry(_: &Target, error: &Failure, _: Duration) -> (SetupFailed, String) {
        let failed = SetupFailed {
            status: FailedStatus::Failed,
            changes: Vec::new(),
            reformatted: false,
            kept_unknown: Vec::new(),
            replaced_invalid: None,
        };
        (failed, error.message.clone())
    }
}

impl Status {
    fn text(self) -> &'static str {
        match self {
            Status::UpToDate => "up to date",
            Status::Created => "created",
            Status::Updated => "updated",
            Status::Missing => "missing",
            Status::Differs => "differs",
        }
    }

    fn tone(self) -> Tone {
        match self {
            Status::UpToDate => Tone::Good,
            Status::Created | Status::Missing => Tone::Add,
            Status::Updated | Status::Differs => Tone::Modify,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SetupReport {
    parameter: String,
    check: bool,
    regions: Reports<RegionSetup>,
}

impl crate::document::Document for SetupReport {
    const KIND: &'static str = "setup";
}

pub async fn cmd_setup(ctx: &Context, args: &SetupArgs) -> Result<Exit, OrgError> {
    let cfg = ctx.config()?;
    let parameter = document::parameter_name(Some(&cfg), ctx.env.startifact_parameter.as_deref())
        .map_err(OrgError::Input)?;
    let desired = document::desired(&cfg);
    let clients = ctx.clients.open(cfg.home_region(), &cfg.endpoints).await;
    let (clients, targets) = match args.all_accounts {
        false => (clients, runner::regions(&cfg.regions)),
        true => super::accounts::targets(&cfg, &clients, &ctx.global.file).await?,
    };
    let regions = runner::run(Run::quiet(targets.len()), &targets, |t, _| {
        let (clients, parameter, desired) = (&clients, &parameter, &desired);
        async move { setup_region(clients, &t, parameter, desired, args.check).await }
    })
    .await;
    let mut elsewhere: Vec<String> = regions
        .succeeded()
        .flat_map(|(_, r)| r.listed.iter())
        .filter(|r| !cfg.regions.contains(r))
        .cloned()
        .collect();
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
        check: args.check,
        regions,
    };
    report
        .regions
        .report_failures(&ctx.ui, Some(&format!("parameter {}", report.parameter)));
    ctx.ui.emit_report(&report, || render(ctx, &report))?;
    Ok(report.regions.exit())
}

/// Reads one region's configuration, merges the desired keys in, and writes it where it
/// differs (unless `check`).
async fn setup_region(
    clients: &Clients,
    target: &Target,
    parameter: &str,
    desired: &Map<String, Value>,
    check: bool,
) -> Result<RegionSetup, Failure> {
    let current = get_parameter(&clients.ssm_reads(target), parameter)
        .await
        .map_err(|e| failure(format!("reading {parameter}"), e))?;
    let merged = document::merge(current.as_deref(), desired);
    let status = match (&current, check) {
        (Some(c), _) if *c == merged.text => Status::UpToDate,
        (None, true) => Status::Missing,
        (Some(_), true) => Status::Differs,
        (current, false) => {
            put_parameter(&clients.ssm(target), parameter, &merged.text)
                .await
                .map_err(|e| failure(format!("writing {parameter}"), e))?;
            if current.is_none() {
                Status::Created
            } else {
                Status::Updated
            }
        }
    };
    let listed = current
        .as_deref()
        .and_then(|c| OrgConfig::parse(c).ok())
        .map(|c| c.regions)
        .unwrap_or_default();
    Ok(RegionSetup {
        status,
        reformatted: status != Status::UpToDate
            && current.is_some()
            && merged.changes.is_empty()
            && merged.replaces_invalid.is_none(),
        changes: merged.changes,
        kept_unknown: merged.kept_unknown,
        replaced_invalid: merged.replaces_invalid,
        listed,
    })
}

/// `doing: the AWS error`, classified.
fn failure(doing: String, e: AwsError) -> Failure {
    Failure::new(format!("{doing}: {e}")).with_kind(Some(e.kind))
}

fn render(ctx: &Context, r: &SetupReport) -> String {
    let ui = &ctx.ui;
    let n = r.regions.0.len();
    let mut out = format!(
        "organisation configuration {} in {n} region{}{}\n",
        r.parameter,
        if n == 1 { "" } else { "s" },
        if r.check { " (check only)" } else { "" }
    );
    let width = r.regions.label_width().unwrap_or(0);
    for x in r.regions.iter() {
        let region = x.label();
        match &x.outcome {
            Err(e) => out.push_str(&format!(
                "  {region:<width$}  {}: {e}\n",
                ui.paint(Tone::Bad, "failed")
            )),
            Ok(s) => {
                let status = ui.paint(s.status.tone(), s.status.text());
                out.push_str(&format!("  {region:<width$}  {status}\n"));
                write_details(&mut out, ui, s);
            }
        }
    }
    if !r.regions.any_failed() && !r.check {
        let mut regions: Vec<&str> = Vec::new();
        for x in r.regions.iter() {
            if !regions.contains(&x.region()) {
                regions.push(x.region());
            }
        }
        out.push_str(&format!(
            "Startifact clients need STARTIFACT_REGIONS=\"{}\"; provision reads the regions from the configuration.\n",
            regions.join(",")
        ));
    }
    out
}

/// What changed in a region's document, one line each.
fn write_details(out: &mut String, ui: &Ui, x: &RegionSetup) {
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

fn json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
