//! The plan as text, whatever the engine: per target (identical targets collapsed) what is
//! added, imported, modified, removed and replaced (with the predicted cause and the engine's
//! own answer), the allowed principals, a table of security changes, and a summary.

use super::model::{
    ChangeKind, EngineKind, PlanReport, ResourceChange, SecurityChange, Sign, TargetPlan,
};
use crate::runner::Target;
use crate::ui::{Tone, Ui};
use std::fmt::Write;

/// Targets in few words, in their order: regions of the caller's account joined
/// (`eu-west-1, us-east-1`); accounts with the same regions together, as a product
/// (`111122223333, 444455556666 × eu-west-1, us-east-1`).
pub fn targets_text<'a>(targets: impl IntoIterator<Item = &'a Target>) -> String {
    let mut by_account: Vec<(Option<&str>, Vec<&str>)> = Vec::new();
    for t in targets {
        let account = t.account.as_deref();
        match by_account.iter_mut().find(|(a, _)| *a == account) {
            Some((_, regions)) => regions.push(&t.region),
            None => by_account.push((account, vec![&t.region])),
        }
    }
    let mut groups: Vec<(Vec<&str>, Vec<&str>)> = Vec::new();
    for (account, regions) in by_account {
        let accounts: Vec<&str> = account.into_iter().collect();
        match groups.iter_mut().find(|(_, r)| *r == regions) {
            Some((a, _)) if !accounts.is_empty() && !a.is_empty() => a.extend(accounts),
            _ => groups.push((accounts, regions)),
        }
    }
    groups
        .into_iter()
        .map(|(accounts, regions)| match accounts.is_empty() {
            true => regions.join(", "),
            false => format!("{} × {}", accounts.join(", "), regions.join(", ")),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn tone_of(kind: ChangeKind) -> Tone {
    match kind {
        ChangeKind::Add | ChangeKind::Import => Tone::Add,
        ChangeKind::Modify | ChangeKind::Other => Tone::Modify,
        ChangeKind::Replace | ChangeKind::MayReplace | ChangeKind::Remove => Tone::Remove,
    }
}

/// What makes two targets' displays identical (physical IDs differ between regions).
fn group_key(p: &TargetPlan) -> String {
    let changes: Vec<_> = p
        .changes
        .iter()
        .map(|c| {
            (
                c.action,
                &c.resource_type,
                &c.logical_id,
                &c.cause,
                &c.engine_replacement,
            )
        })
        .collect();
    serde_json::to_string(&(p.action, changes, &p.security, notes(p))).unwrap_or_default()
}

/// What the display says of a target beyond its resource changes (StackSets: parameter
/// changes, an OUTDATED or INOPERABLE instance, a retained stack).
fn notes(p: &TargetPlan) -> Vec<String> {
    let Some(s) = p.stack_set() else {
        return Vec::new();
    };
    let mut out: Vec<String> = s
        .parameter_changes
        .iter()
        .map(|c| {
            format!(
                "parameter {}: {} → {}",
                c.key,
                c.old.as_deref().unwrap_or("(none)"),
                c.new.as_deref().unwrap_or("(none)")
            )
        })
        .collect();
    out.extend(s.notes.iter().cloned());
    out
}

/// The plan as text (stdout).
pub fn plan_text(report: &PlanReport, ui: &Ui) -> String {
    let mut out = String::new();
    let n = report.regions.0.len();
    let heading = match report.engine {
        EngineKind::StackSets => format!(
            "Stack set {}: {n} stack instance{}",
            report.stack_name,
            if n == 1 { "" } else { "s" }
        ),
        _ => format!(
            "Stack {} in {n} region{}",
            report.stack_name,
            if n == 1 { "" } else { "s" }
        ),
    };
    let _ = writeln!(out, "{}", ui.paint(Tone::Bold, heading));
    super::stacksets::overview::write_overview(&mut out, report, ui);
    write_changes(&mut out, report, ui);
    for (target, failure) in report.regions.failures() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{target}: {} {}",
            ui.paint(Tone::Bad, "failed:"),
            failure.message
        );
    }
    write_principals(&mut out, report, ui);
    write_security(&mut out, report, ui);
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", report.summary.line(report.engine.target_noun()));
    if let Some(path) = &report.plan_file {
        let kept = match report.engine {
            EngineKind::CloudFormation => "change sets kept".to_string(),
            EngineKind::Terraform => format!("Terraform's plan beside it, {path}.tfplan"),
            EngineKind::StackSets => {
                "nothing kept in AWS: apply plans again and refuses if anything differs".to_string()
            }
        };
        let _ = writeln!(
            out,
            "Plan written to {path} ({kept}); apply exactly this with `provision apply {path}`."
        );
    }
    out
}

/// Per group of targets with identical plans: the action and every resource change.
fn write_changes(out: &mut String, report: &PlanReport, ui: &Ui) {
    let mut groups: Vec<(String, Vec<&Target>, &TargetPlan)> = Vec::new();
    for (target, p) in report.regions.succeeded() {
        let key = group_key(p);
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, targets, _)) => targets.push(target),
            None => groups.push((key, vec![target], p)),
        }
    }
    for (_, targets, p) in &groups {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}: {}",
            targets_text(targets.iter().copied()),
            p.action.word()
        );
        for note in notes(p) {
            let _ = writeln!(out, "  {}", ui.paint(Tone::Warn, note));
        }
        for c in &p.changes {
            let mut line = format!(
                "  {} {:<28} {}",
                ui.paint(tone_of(c.action), format!("{:<2}", c.action.symbol())),
                c.resource_type,
                c.logical_id
            );
            if let Some(why) = replacement_note(c) {
                line.push_str(&format!("  ({})", ui.paint(Tone::Bad, why)));
            } else if let Some(cause) = &c.cause {
                line.push_str(&format!("  ({})", ui.paint(Tone::Dim, cause)));
            }
            let _ = writeln!(out, "{line}");
        }
    }
}

/// Why a resource is replaced, as the plan says it: `replaces Staging: BucketName changed`
/// (provision's prediction), with CloudFormation's own answer beside it when it gave one
/// (`; CloudFormation: Replacement False` where the two disagree).
fn replacement_note(c: &ResourceChange) -> Option<String> {
    if !c.action.replaces() {
        return None;
    }
    let engine = c
        .engine_replacement
        .as_deref()
        .map(|r| format!("CloudFormation: Replacement {r}"));
    let verb = if c.action == ChangeKind::Replace {
        "replaces"
    } else {
        "may replace"
    };
    let mut note = match &c.cause {
        Some(cause) => format!("{verb} {}: {cause}", c.logical_id),
        None => format!("{verb} {}", c.logical_id),
    };
    if let Some(e) = engine {
        note.push_str(&format!("; {e}"));
    }
    Some(note)
}

fn write_principals(out: &mut String, report: &PlanReport, ui: &Ui) {
    let Some(p) = &report.principals else {
        return;
    };
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

fn write_security(out: &mut String, report: &PlanReport, ui: &Ui) {
    let rows = security_rows(report);
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", ui.paint(Tone::Bold, "Security changes:"));
    let w_regions = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(7);
    let w_res = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(8);
    let column = if report.engine == EngineKind::StackSets {
        "TARGETS"
    } else {
        "REGIONS"
    };
    let _ = writeln!(
        out,
        "  {column:<w_regions$}  {:<w_res$}  DETAIL",
        "RESOURCE"
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

/// Security changes with identical rows of several regions merged.
fn security_rows(report: &PlanReport) -> Vec<(String, String, SecurityChange)> {
    let mut rows: Vec<(Vec<&Target>, SecurityChange)> = Vec::new();
    for (target, p) in report.regions.succeeded() {
        for c in &p.security {
            match rows.iter_mut().find(|(_, r)| r == c) {
                Some((targets, _)) => targets.push(target),
                None => rows.push((vec![target], c.clone())),
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
            (targets_text(regions), resource, c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::model::{Action, ChangeSetPlan, EngineKind, EnginePlan, StackFailure};
    use crate::runner::{Reports, Target, TargetReport};

    fn plan(
        region: &str,
        action: Action,
        changes: &[(ChangeKind, &str, &str)],
    ) -> TargetReport<TargetPlan> {
        let plan = TargetPlan {
            stack_name: "artifact-storage".into(),
            action,
            engine: EnginePlan::CloudFormation(ChangeSetPlan::default()),
            changes: changes
                .iter()
                .map(|(a, t, l)| {
                    let mut c = ResourceChange::new(*a, t, l);
                    c.physical_id = Some(format!("{l}-in-{region}"));
                    c
                })
                .collect(),
            security: vec![SecurityChange {
                change: Sign::Added,
                resource: "ReadPolicy".into(),
                resource_type: "AWS::IAM::ManagedPolicy".into(),
                detail: "[Read] Allow s3:GetObject".into(),
            }],
        };
        TargetReport::new(Target::region(region), Ok(plan))
    }

    #[test]
    fn identical_regions_are_collapsed_and_failures_and_replacements_stand_out() {
        let bucket = (ChangeKind::Add, "AWS::S3::Bucket", "Bucket");
        let mut key = plan(
            "eu-north-1",
            Action::Update,
            &[(ChangeKind::Replace, "AWS::KMS::Key", "Key")],
        );
        let mut west = plan("eu-west-1", Action::Create, &[bucket]);
        if let (Ok(k), Ok(w)) = (&mut key.outcome, &mut west.outcome) {
            k.changes[0].cause = Some("KeySpec changed".into());
            k.changes[0].engine_replacement = Some("True".into());
            w.changes[0].physical_id = None;
        }
        let results = Reports(vec![
            west,
            plan("us-east-1", Action::Create, &[bucket]),
            key,
            TargetReport::new(
                Target::region("ap-south-1"),
                Err(StackFailure::new(
                    "artifact-storage",
                    "cloudformation:DescribeStacks: cannot connect",
                )),
            ),
        ]);
        let report = PlanReport::new(
            "artifact-storage",
            EngineKind::CloudFormation,
            results,
            None,
        );
        let text = plan_text(&report, &Ui::plain());
        assert_eq!(
            text,
            "Stack artifact-storage in 4 regions

eu-west-1, us-east-1: create stack
  +  AWS::S3::Bucket              Bucket

eu-north-1: update stack
  ±  AWS::KMS::Key                Key  (replaces Key: KeySpec changed; CloudFormation: Replacement True)

ap-south-1: failed: cloudformation:DescribeStacks: cannot connect

Security changes:
  REGIONS                           RESOURCE                              DETAIL
  eu-west-1, us-east-1, eu-north-1  ReadPolicy (AWS::IAM::ManagedPolicy)  + [Read] Allow s3:GetObject

Plan: 4 regions (2 to create, 1 to update, 1 failed); resources: 2 to add, 0 to modify, 1 to replace, 0 to remove; 3 security changes.
"
        );
        assert_eq!(
            report.data_loss(),
            ["AWS::KMS::Key Key (replace: KeySpec changed) in eu-north-1"]
        );
    }
}
