//! The machine-readable UI of `terraform plan|apply|init -json`: one JSON object per line
//! (modelled on hashicorp/terraform-json's `logging_types.go`), turned into typed [`Event`]s
//! that carry the region of the resource, taken from its provider alias.

use super::regions::ResourceRegions;
use serde::Deserialize;
use std::time::Duration;

/// One line of `-json` output.
#[derive(Debug, Clone, Deserialize)]
pub struct UiLine {
    #[serde(rename = "@level", default)]
    pub level: String,
    #[serde(rename = "@message", default)]
    pub message: String,
    #[serde(rename = "@timestamp", default)]
    pub timestamp: String,
    #[serde(flatten)]
    pub body: UiBody,
}

/// The typed part of a line, by its `type`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UiBody {
    Version {
        terraform: String,
    },
    PlannedChange {
        change: ChangeMessage,
    },
    ResourceDrift {
        change: ChangeMessage,
    },
    ApplyStart {
        hook: Hook,
    },
    ApplyProgress {
        hook: Hook,
    },
    ApplyComplete {
        hook: Hook,
    },
    ApplyErrored {
        hook: Hook,
    },
    RefreshStart {
        hook: Hook,
    },
    RefreshComplete {
        hook: Hook,
    },
    Diagnostic {
        diagnostic: Diagnostic,
    },
    ChangeSummary {
        changes: ChangeSummary,
    },
    /// Anything else (`log`, `init_output`, `outputs`, provisioner output, newer types).
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ResourceRef {
    /// `aws_s3_bucket.artifacts_eu_west_1`, `data.aws_iam_role.access["ci"]`.
    pub addr: String,
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub resource_name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChangeMessage {
    pub resource: ResourceRef,
    /// `create`, `update`, `delete`, `replace`, `read`, `noop`, `forget`, ...
    pub action: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Hook {
    pub resource: ResourceRef,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub id_key: Option<String>,
    #[serde(default)]
    pub id_value: Option<String>,
    #[serde(default)]
    pub elapsed_seconds: Option<u64>,
}

/// A warning or error, as Terraform reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Diagnostic {
    /// `error` or `warning`.
    pub severity: String,
    pub summary: String,
    #[serde(default)]
    pub detail: String,
    /// The resource it concerns, when it concerns one.
    #[serde(default)]
    pub address: Option<String>,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == "error"
    }

    /// Summary and detail on one line each, for messages.
    pub fn text(&self) -> String {
        let detail = self.detail.trim();
        if detail.is_empty() {
            self.summary.clone()
        } else {
            format!("{}: {detail}", self.summary)
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ChangeSummary {
    #[serde(default)]
    pub add: u32,
    #[serde(default)]
    pub change: u32,
    #[serde(default)]
    pub import: u32,
    #[serde(default)]
    pub remove: u32,
    /// `plan`, `apply` or `destroy`.
    #[serde(default)]
    pub operation: String,
}

/// What happened to one resource, or a diagnostic, with the region of the resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Planned {
        address: String,
        region: Option<String>,
        action: String,
    },
    Drifted {
        address: String,
        region: Option<String>,
        action: String,
    },
    Started {
        address: String,
        region: Option<String>,
        action: String,
    },
    Progress {
        address: String,
        region: Option<String>,
        action: String,
        elapsed: Duration,
    },
    Completed {
        address: String,
        region: Option<String>,
        action: String,
        /// The new object's id (`id=terraform-2026...`), when Terraform reports one.
        id: Option<String>,
        elapsed: Duration,
    },
    Errored {
        address: String,
        region: Option<String>,
        action: String,
        elapsed: Duration,
    },
    Diagnostic {
        diagnostic: Diagnostic,
        region: Option<String>,
    },
    Summary(ChangeSummary),
}

impl Event {
    /// The event of one `-json` line, or None for lines that carry none (version, logs,
    /// refreshes, outputs: their values are not passed on). A line that is not JSON is
    /// returned as an error with the line, so the caller can keep it for the failure report.
    pub fn parse(line: &str, regions: &ResourceRegions) -> Result<Option<Event>, String> {
        let line = line.trim();
        if line.is_empty() {
            return Ok(None);
        }
        let ui: UiLine = serde_json::from_str(line).map_err(|_| line.to_string())?;
        let region = |addr: &str| regions.region_of(addr).map(str::to_string);
        let seconds = |h: &Hook| Duration::from_secs(h.elapsed_seconds.unwrap_or(0));
        Ok(Some(match ui.body {
            UiBody::PlannedChange { change } => Event::Planned {
                region: region(&change.resource.addr),
                address: change.resource.addr,
                action: change.action,
            },
            UiBody::ResourceDrift { change } => Event::Drifted {
                region: region(&change.resource.addr),
                address: change.resource.addr,
                action: change.action,
            },
            UiBody::ApplyStart { hook } => Event::Started {
                region: region(&hook.resource.addr),
                address: hook.resource.addr,
                action: hook.action,
            },
            UiBody::ApplyProgress { hook } => Event::Progress {
                region: region(&hook.resource.addr),
                elapsed: seconds(&hook),
                address: hook.resource.addr,
                action: hook.action,
            },
            UiBody::ApplyComplete { hook } => Event::Completed {
                region: region(&hook.resource.addr),
                elapsed: seconds(&hook),
                id: hook.id_value,
                address: hook.resource.addr,
                action: hook.action,
            },
            UiBody::ApplyErrored { hook } => Event::Errored {
                region: region(&hook.resource.addr),
                elapsed: seconds(&hook),
                address: hook.resource.addr,
                action: hook.action,
            },
            UiBody::Diagnostic { diagnostic } => Event::Diagnostic {
                region: diagnostic.address.as_deref().and_then(region),
                diagnostic,
            },
            UiBody::ChangeSummary { changes } => Event::Summary(changes),
            UiBody::Version { .. }
            | UiBody::RefreshStart { .. }
            | UiBody::RefreshComplete { .. }
            | UiBody::Other => return Ok(None),
        }))
    }
}

/// A held state lock, as Terraform describes it in the diagnostic "Error acquiring the state
/// lock" (the same for the local and the S3 backend).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockInfo {
    pub id: String,
    pub path: String,
    pub operation: String,
    pub who: String,
    pub version: String,
    pub created: String,
    /// Why the lock could not be taken (`resource temporarily unavailable`, a conditional
    /// write refused by S3, ...).
    pub reason: String,
}

impl LockInfo {
    /// The lock described by `diagnostic`, if it is the lock error.
    pub fn from_diagnostic(diagnostic: &Diagnostic) -> Option<LockInfo> {
        if !diagnostic.summary.contains("state lock") || !diagnostic.is_error() {
            return None;
        }
        let mut info = LockInfo::default();
        for line in diagnostic.detail.lines() {
            let Some((key, value)) = line.trim().split_once(':') else {
                continue;
            };
            let value = value.trim().to_string();
            match key.trim() {
                "ID" => info.id = value,
                "Path" => info.path = value,
                "Operation" => info.operation = value,
                "Who" => info.who = value,
                "Version" => info.version = value,
                "Created" => info.created = value,
                "Error message" => info.reason = value,
                _ => {}
            }
        }
        (!info.id.is_empty()).then_some(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terraform::fixture;

    fn regions() -> ResourceRegions {
        let plan: super::super::json::Plan =
            serde_json::from_str(&fixture("show-plan-create.json")).unwrap();
        ResourceRegions::from_configuration(plan.configuration.as_ref().unwrap())
    }

    fn events(name: &str) -> Vec<Event> {
        let regions = if name == "apply-errored.jsonl" {
            ResourceRegions::from_module(&[crate::render::RenderedFile {
                name: "main.tf".into(),
                content: fixture("apply-errored.tf"),
            }])
        } else {
            regions()
        };
        fixture(name)
            .lines()
            .filter_map(|l| Event::parse(l, &regions).expect("every line is JSON"))
            .collect()
    }

    #[test]
    fn an_apply_streams_start_progress_and_completion_per_resource_and_region() {
        let events = events("apply.jsonl");
        let started = events
            .iter()
            .filter(|e| matches!(e, Event::Started { .. }))
            .count();
        let completed: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Completed {
                    address,
                    region,
                    action,
                    ..
                } => Some((address.as_str(), region.as_deref(), action.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(started, completed.len());
        assert!(completed.contains(&(
            "aws_s3_bucket.artifacts_eu_west_1",
            Some("eu-west-1"),
            "create"
        )));
        assert!(
            completed
                .iter()
                .all(|(_, region, _)| *region == Some("eu-west-1")),
            "{completed:?}"
        );
        assert!(events.iter().any(|e| matches!(
            e,
            Event::Progress { address, elapsed, .. }
                if address.starts_with("aws_s3_bucket_lifecycle_configuration") && *elapsed >= Duration::from_secs(10)
        )));
        assert!(events.iter().any(|e| matches!(
            e,
            Event::Summary(ChangeSummary { add, operation, .. }) if *add == 18 && operation == "apply"
        )));
        assert!(!events.iter().any(|e| matches!(e, Event::Errored { .. })));
    }

    #[test]
    fn a_failing_apply_names_the_resource_its_region_and_the_providers_error() {
        let events = events("apply-errored.jsonl");
        assert!(events.iter().any(|e| matches!(
            e,
            Event::Errored { address, region, .. }
                if address == "aws_s3_bucket.taken_eu_west_1" && region.as_deref() == Some("eu-west-1")
        )));
        let diagnostic = events
            .iter()
            .find_map(|e| match e {
                Event::Diagnostic { diagnostic, region } => Some((diagnostic, region)),
                _ => None,
            })
            .expect("a diagnostic");
        assert!(diagnostic.0.is_error());
        assert!(
            diagnostic.0.summary.contains("BucketAlreadyOwnedByYou"),
            "{:?}",
            diagnostic.0
        );
        assert_eq!(
            diagnostic.0.address.as_deref(),
            Some("aws_s3_bucket.taken_eu_west_1")
        );
        assert_eq!(diagnostic.1.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn a_plan_lists_planned_changes() {
        let events = events("plan.jsonl");
        let planned = events
            .iter()
            .filter(|e| matches!(e, Event::Planned { action, region, .. } if action == "create" && region.as_deref() == Some("eu-west-1")))
            .count();
        assert_eq!(planned, 18);
    }

    #[test]
    fn a_refresh_only_plan_reports_drift() {
        let events = events("plan-refresh-only.jsonl");
        assert!(events.iter().any(|e| matches!(
            e,
            Event::Drifted { address, region, .. }
                if address == "aws_s3_bucket_versioning.artifacts_eu_west_1" && region.as_deref() == Some("eu-west-1")
        )));
    }

    #[test]
    fn a_held_lock_is_read_from_the_diagnostic() {
        let diagnostic = events("locked.jsonl")
            .into_iter()
            .find_map(|e| match e {
                Event::Diagnostic { diagnostic, .. } => Some(diagnostic),
                _ => None,
            })
            .expect("the lock diagnostic");
        let lock = LockInfo::from_diagnostic(&diagnostic).expect("a lock");
        assert_eq!(lock.id.len(), 36, "{lock:?}");
        assert_eq!(lock.path, "terraform.tfstate");
        assert_eq!(lock.operation, "OperationTypeApply");
        assert!(lock.who.contains('@'), "{lock:?}");
        assert!(lock.created.contains("UTC"), "{lock:?}");
        assert_eq!(lock.version, "1.11.4");
        let other = Diagnostic {
            severity: "error".into(),
            summary: "Invalid reference".into(),
            detail: "ID: x".into(),
            address: None,
        };
        assert_eq!(LockInfo::from_diagnostic(&other), None);
    }

    #[test]
    fn lines_that_are_not_json_are_handed_back() {
        let regions = ResourceRegions::default();
        assert_eq!(
            Event::parse("panic: oops", &regions),
            Err("panic: oops".into())
        );
        assert_eq!(Event::parse("", &regions), Ok(None));
        assert_eq!(
            Event::parse(
                r#"{"@level":"info","type":"something_new","x":1}"#,
                &regions
            ),
            Ok(None)
        );
    }
}
