//! The stack set as a whole, above the instances in the plan's text: where it deploys (the
//! OUs resolved to their accounts, or the accounts), what changes set-wide, how operations
//! are paced, what runs now.

use crate::config::stacksets::Amount;
use crate::deploy::model::{PlanReport, SetAccount, StackSetOverview};
use crate::ui::{Tone, Ui};
use std::fmt::Write;

pub fn write_overview(out: &mut String, report: &PlanReport, ui: &Ui) {
    let Some(o) = &report.stack_set else {
        return;
    };
    write_reach(out, o);
    let _ = writeln!(out, "  {}", set_change(o));
    let p = &o.preferences;
    let _ = writeln!(
        out,
        "  operations: regions {} ({}); {} at once per region, {} may fail",
        p.region_order.join(" → "),
        if p.parallel_regions {
            "in parallel"
        } else {
            "one after the other"
        },
        accounts(p.max_concurrent),
        accounts(p.failure_tolerance),
    );
    if let Some(last) = &o.last_operation {
        let _ = writeln!(
            out,
            "  last operation: {} {} {}{}",
            last.operation_id,
            last.action,
            last.status,
            last.ended
                .as_deref()
                .map(|e| format!(" (ended {e})"))
                .unwrap_or_default()
        );
    }
    if let Some(r) = &o.running_operation {
        let _ = writeln!(
            out,
            "  {}",
            ui.paint(
                Tone::Warn,
                format!(
                    "operation {} ({} {}) is running: apply refuses until it ends",
                    r.operation_id, r.action, r.status
                )
            )
        );
    }
    for note in &o.notes {
        let _ = writeln!(out, "  {}", ui.paint(Tone::Warn, format!("note: {note}")));
    }
}

fn write_reach(out: &mut String, o: &StackSetOverview) {
    if o.organizational_units.is_empty() {
        let ids: Vec<&str> = o.accounts.iter().map(|a| a.id.as_str()).collect();
        let _ = writeln!(out, "  self-managed: accounts {}", ids.join(", "));
        return;
    }
    let _ = writeln!(
        out,
        "  service-managed: the accounts of the organizational units"
    );
    for (ou, ids) in &o.organizational_units {
        let named: Vec<String> = ids
            .iter()
            .map(|id| match o.accounts.iter().find(|a| &a.id == id) {
                Some(a) => describe(a),
                None => id.clone(),
            })
            .collect();
        let _ = writeln!(
            out,
            "    {ou} → {}",
            if named.is_empty() {
                "no account".to_string()
            } else {
                named.join(", ")
            }
        );
    }
    if let Some(m) = &o.management_account_skipped {
        let _ = writeln!(
            out,
            "    management account {m} left out: StackSets never deploys to it"
        );
    }
}

/// `111122223333 (dev, in ou-…)`: the name, and the nested OU that holds it.
fn describe(a: &SetAccount) -> String {
    let mut details: Vec<String> = a.name.iter().cloned().collect();
    if let Some(n) = &a.nested_in {
        details.push(format!("in {n}"));
    }
    if details.is_empty() {
        a.id.clone()
    } else {
        format!("{} ({})", a.id, details.join(", "))
    }
}

fn set_change(o: &StackSetOverview) -> String {
    if !o.exists {
        return "the set is created".into();
    }
    let mut what = Vec::new();
    if o.template_changed {
        what.push("its template changes".to_string());
    }
    if !o.parameter_changes.is_empty() {
        let keys: Vec<&str> = o.parameter_changes.iter().map(|p| p.key.as_str()).collect();
        what.push(format!("parameters {} change", keys.join(", ")));
    }
    if !o.setting_changes.is_empty() {
        what.push(format!("{} change", o.setting_changes.join(", ")));
    }
    if what.is_empty() {
        "the set itself is unchanged".into()
    } else {
        format!(
            "the set is updated ({}): one operation reaches every instance",
            what.join("; ")
        )
    }
}

fn accounts(a: Amount) -> String {
    match a {
        Amount::Count(1) => "1 account".into(),
        Amount::Count(n) => format!("{n} accounts"),
        Amount::Percent(p) => format!("{p}% of the accounts"),
    }
}
