//! The plan as text: per region (identical regions collapsed) what is added, modified,
//! removed and replaced, the allowed principals, a table of security changes, and a summary.

use super::model::{ChangeKind, PlanReport, RegionPlan, SecurityChange, Sign};
use crate::ui::{Tone, Ui};
use std::fmt::Write;

fn tone_of(kind: ChangeKind) -> Tone {
    match kind {
        ChangeKind::Add => Tone::Add,
        ChangeKind::Modify | ChangeKind::Other => Tone::Modify,
        ChangeKind::Replace | ChangeKind::MayReplace | ChangeKind::Remove => Tone::Remove,
    }
}

/// What makes two regions' displays identical (physical IDs differ between regions).
fn group_key(p: &RegionPlan) -> String {
    let changes: Vec<_> = p
        .changes
        .iter()
        .map(|c| (c.action, &c.resource_type, &c.logical_id))
        .collect();
    serde_json::to_string(&(p.action, changes, &p.security)).unwrap_or_default()
}

/// The plan as text (stdout).
pub fn plan_text(report: &PlanReport, ui: &Ui) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        ui.paint(
            Tone::Bold,
            format!(
                "Stack {} in {} region{}",
                report.stack_name,
                report.regions.len(),
                if report.regions.len() == 1 { "" } else { "s" }
            )
        )
    );
    // Regions with identical plans are shown once.
    let mut groups: Vec<(String, Vec<&str>, &RegionPlan)> = Vec::new();
    for e in &report.regions {
        if let Some(p) = &e.plan {
            let key = group_key(p);
            match groups.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, regions, _)) => regions.push(&e.region),
                None => groups.push((key, vec![&e.region], p)),
            }
        }
    }
    for (_, regions, p) in &groups {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}: {}", regions.join(", "), p.action.word());
        for c in &p.changes {
            let mut line = format!(
                "  {} {:<28} {}",
                ui.paint(tone_of(c.action), format!("{:<2}", c.action.symbol())),
                c.resource_type,
                c.logical_id
            );
            if matches!(c.action, ChangeKind::Replace | ChangeKind::MayReplace) {
                line.push_str(&format!("  ({})", ui.paint(Tone::Bad, c.action.word())));
            }
            let _ = writeln!(out, "{line}");
        }
    }
    for e in &report.regions {
        if let Some(f) = &e.error {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "{}: {} {}",
                e.region,
                ui.paint(Tone::Bad, "failed:"),
                f.message
            );
        }
    }
    if let Some(p) = &report.principals {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}",
            ui.paint(Tone::Bold, "Allowed principals (aws:userId patterns):")
        );
        let width = p.entries.iter().map(|e| e.pattern.len()).max().unwrap_or(0);
        for e in &p.entries {
            let _ = writeln!(out, "  {:<width$}  {}", e.pattern, e.source);
        }
    }
    let rows = security_rows(report);
    if !rows.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", ui.paint(Tone::Bold, "Security changes:"));
        let w_regions = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(7);
        let w_res = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(8);
        let _ = writeln!(
            out,
            "  {:<w_regions$}  {:<w_res$}  DETAIL",
            "REGIONS", "RESOURCE"
        );
        for (regions, resource, change) in &rows {
            let tone = if change.change == Sign::Added {
                Tone::Add
            } else {
                Tone::Remove
            };
            let _ = writeln!(
                out,
                "  {regions:<w_regions$}  {resource:<w_res$}  {} {}",
                ui.paint(tone, change.change.symbol()),
                change.detail
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", report.summary.line());
    if let Some(path) = &report.plan_file {
        let _ = writeln!(
            out,
            "Plan written to {path} (change sets kept); apply exactly this with `provision apply {path}`."
        );
    }
    out
}

/// Security changes with identical rows of several regions merged.
fn security_rows(report: &PlanReport) -> Vec<(String, String, SecurityChange)> {
    let mut rows: Vec<(Vec<&str>, SecurityChange)> = Vec::new();
    for e in &report.regions {
        for c in e.plan.iter().flat_map(|p| p.security.iter()) {
            match rows.iter_mut().find(|(_, r)| r == c) {
                Some((regions, _)) => regions.push(&e.region),
                None => rows.push((vec![&e.region], c.clone())),
            }
        }
    }
    rows.into_iter()
        .map(|(regions, c)| {
            let resource = if c.resource_type == "principals" {
                format!("{} (parameter)", c.resource)
            } else {
                format!("{} ({})", c.resource, c.resource_type)
            };
            (regions.join(", "), resource, c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::error::RegionFailure;
    use crate::deploy::model::{Action, Change, RegionResult};

    fn plan(region: &str, action: Action, changes: &[(ChangeKind, &str, &str)]) -> RegionPlan {
        RegionPlan {
            region: region.into(),
            stack_name: "artifact-storage".into(),
            action,
            stack_status: None,
            change_set_arn: None,
            stack_id: None,
            changes: changes
                .iter()
                .map(|(a, t, l)| Change {
                    action: *a,
                    resource_type: t.to_string(),
                    logical_id: l.to_string(),
                    physical_id: Some(format!("{l}-in-{region}")),
                })
                .collect(),
            security: vec![SecurityChange {
                change: Sign::Added,
                resource: "ReadPolicy".into(),
                resource_type: "AWS::IAM::ManagedPolicy".into(),
                detail: "[Read] Allow s3:GetObject".into(),
            }],
            stack_changed_at: None,
            created_review_stack: false,
        }
    }

    #[test]
    fn identical_regions_are_collapsed_and_failures_and_replacements_stand_out() {
        let bucket = (ChangeKind::Add, "AWS::S3::Bucket", "Bucket");
        let results: Vec<RegionResult> = vec![
            Ok(plan("eu-west-1", Action::Create, &[bucket])),
            Ok(plan("us-east-1", Action::Create, &[bucket])),
            Ok(plan(
                "eu-north-1",
                Action::Update,
                &[(ChangeKind::Replace, "AWS::KMS::Key", "Key")],
            )),
            Err(RegionFailure::new(
                "ap-south-1",
                "artifact-storage",
                "cloudformation:DescribeStacks: cannot connect",
            )),
        ];
        let report = PlanReport::new("artifact-storage", &results, None);
        let text = plan_text(&report, &Ui::plain());
        assert_eq!(
            text,
            "Stack artifact-storage in 4 regions

eu-west-1, us-east-1: create stack
  +  AWS::S3::Bucket              Bucket

eu-north-1: update stack
  ±  AWS::KMS::Key                Key  (replace)

ap-south-1: failed: cloudformation:DescribeStacks: cannot connect

Security changes:
  REGIONS                           RESOURCE                              DETAIL
  eu-west-1, us-east-1, eu-north-1  ReadPolicy (AWS::IAM::ManagedPolicy)  + [Read] Allow s3:GetObject

Plan: 4 regions (2 to create, 1 to update, 1 failed); resources: 2 to add, 0 to modify, 1 to replace, 0 to remove; 3 security changes.
"
        );
    }
}
