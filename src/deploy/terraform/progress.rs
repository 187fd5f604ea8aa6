//! Apply and destroy events of the one Terraform run, shown on each region's progress line and
//! counted per region.

use crate::terraform::Event;
use crate::ui::ProgressLine;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// What one apply (or destroy) did per region: resources added, changed, destroyed.
pub type Counts = BTreeMap<String, [u32; 3]>;

/// An apply event on its region's progress line; completed changes counted per region.
pub fn progress(
    event: &Event,
    lines: &Mutex<BTreeMap<String, ProgressLine>>,
    home: &str,
    counts: &mut Counts,
) {
    let (region, text) = match event {
        Event::Started {
            address,
            region,
            action,
        } => (region, format!("{action} {address}")),
        Event::Progress {
            address,
            region,
            action,
            elapsed,
        } => (
            region,
            format!("{action} {address} ({}s)", elapsed.as_secs()),
        ),
        Event::Completed {
            address,
            region,
            action,
            ..
        } => {
            let slot = match action.as_str() {
                "create" => Some(0),
                "update" | "replace" => Some(1),
                "delete" => Some(2),
                _ => None,
            };
            let region_name = region.as_deref().unwrap_or(home).to_string();
            if let Some(slot) = slot {
                counts.entry(region_name).or_default()[slot] += 1;
            }
            (region, format!("{action} {address}: done"))
        }
        Event::Errored {
            address,
            region,
            action,
            ..
        } => (region, format!("{action} {address}: failed")),
        _ => return,
    };
    let region = region.as_deref().unwrap_or(home);
    if let Ok(lines) = lines.lock()
        && let Some(line) = lines.get(region)
    {
        line.set(text);
    }
}

pub fn counts_text(counts: Option<&[u32; 3]>) -> String {
    let [added, changed, destroyed] = counts.copied().unwrap_or_default();
    format!("{added} added, {changed} changed, {destroyed} destroyed")
}
