//! One shape for per-target work. A target is an account and a region ([`Target`]); every
//! multi-region command runs its targets under a concurrency limit ([`run`]), with one
//! progress line per target that shows one, and gets back one [`TargetReport`] per target: its
//! result, or a classified [`Failure`]. The reports ([`Reports`]) say the exit status (a
//! failure anywhere is exit 1, changes found are exit 2) and print the failures.
//!
//! A failure is confined to its target: the others go on. What a command's JSON document
//! says about a target keeps the command's own shape ([`TargetOutcome::failed_entry`]).

use crate::aws::{AwsError, ErrorKind};
use crate::exit::{Classify, Exit};
use crate::ui::{Progress, ProgressLine, Ui};
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::Serialize;
use std::future::Future;
use std::time::{Duration, Instant};

pub use crate::aws::Target;

mod entry;

/// A failure confined to one target, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    /// What failed, in one line (`cloudformation:DescribeStacks: cannot connect: ...`).
    pub message: String,
    /// What the user can do about it, when we know.
    pub hint: Option<String>,
    /// The class of the AWS error behind it, when an AWS request failed.
    pub kind: Option<ErrorKind>,
}

impl Failure {
    pub fn new(message: impl std::fmt::Display) -> Self {
        Failure {
            message: message.to_string(),
            hint: None,
            kind: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_kind(mut self, kind: Option<ErrorKind>) -> Self {
        self.kind = kind;
        self
    }
}

impl From<AwsError> for Failure {
    /// `operation: description`, classified.
    fn from(e: AwsError) -> Self {
        Failure::new(e.with_operation()).with_kind(Some(e.kind))
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::new(message)
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure::new(message)
    }
}

/// What a target's error holds: at least a [`Failure`].
pub trait Failed: std::fmt::Debug {
    fn failure(&self) -> &Failure;
}

impl Failed for Failure {
    fn failure(&self) -> &Failure {
        self
    }
}

/// The result of one target's work, as a command reports it.
pub trait TargetOutcome: Sized + 'static {
    /// What a failed target holds (a [`Failure`], or a failure with details).
    type Error: Failed;

    /// The fields of a succeeded target's JSON entry (after `region` and `account`): the
    /// result itself, or the result with more.
    type Entry<'a>: Serialize + JsonSchema
    where
        Self: 'a;

    /// The fields of a failed target's JSON entry, in the shape of the command's document.
    type FailedEntry: Serialize + JsonSchema;

    /// What a failed target's `error` says (a message, or an object with the stack).
    type ErrorEntry: Serialize + JsonSchema;

    /// The exit status this result calls for: success, or changes found (drift, a differing
    /// configuration). A failed target is always exit 1.
    fn exit(&self) -> Exit {
        Exit::Success
    }

    /// The last words of the target's progress line.
    fn summary(&self) -> String;

    /// A succeeded target's fields.
    fn entry(&self, elapsed: Duration) -> Self::Entry<'_>;

    /// A failed target's fields and its `error`.
    fn failed_entry(
        target: &Target,
        error: &Self::Error,
        elapsed: Duration,
    ) -> (Self::FailedEntry, Self::ErrorEntry);
}

/// One target's result or failure, and how long its work took.
#[derive(Debug)]
pub struct TargetReport<T: TargetOutcome> {
    pub target: Target,
    pub outcome: Result<T, T::Error>,
    pub elapsed: Duration,
}

impl<T: TargetOutcome> TargetReport<T> {
    pub fn new(target: Target, outcome: Result<T, T::Error>) -> Self {
        TargetReport {
            target,
            outcome,
            elapsed: Duration::ZERO,
        }
    }

    pub fn failure(&self) -> Option<&Failure> {
        self.outcome.as_ref().err().map(Failed::failure)
    }

    /// The region (the target's region, for display).
    pub fn region(&self) -> &str {
        &self.target.region
    }

    /// The target in words: its region, or `account/region` for a target in an account.
    pub fn label(&self) -> String {
        self.target.to_string()
    }
}

/// Every target's report, in the targets' order.
#[derive(Debug)]
pub struct Reports<T: TargetOutcome>(pub Vec<TargetReport<T>>);

impl<T: TargetOutcome> Reports<T> {
    pub fn iter(&self) -> std::slice::Iter<'_, TargetReport<T>> {
        self.0.iter()
    }

    /// The targets that succeeded, with their results.
    pub fn succeeded(&self) -> impl Iterator<Item = (&Target, &T)> {
        self.0
            .iter()
            .filter_map(|r| r.outcome.as_ref().ok().map(|t| (&r.target, t)))
    }

    /// The targets that failed, with their failures.
    pub fn failures(&self) -> impl Iterator<Item = (&Target, &Failure)> {
        self.0
            .iter()
            .filter_map(|r| r.failure().map(|f| (&r.target, f)))
    }

    /// The width of the longest region name, for columns (`None`: no targets).
    pub fn region_width(&self) -> Option<usize> {
        self.0.iter().map(|r| r.region().len()).max()
    }

    /// The width of the longest [`TargetReport::label`].
    pub fn label_width(&self) -> Option<usize> {
        self.0.iter().map(|r| r.label().len()).max()
    }

    pub fn any_failed(&self) -> bool {
        self.failures().next().is_some()
    }

    /// Exit 1 when any target failed, else the strongest of the results' (2: changes found).
    pub fn exit(&self) -> Exit {
        self.0.iter().fold(Exit::Success, |exit, r| {
            exit.combine(match &r.outcome {
                Ok(t) => t.exit(),
                Err(_) => Exit::Failure,
            })
        })
    }

    /// Prints every failure on stderr (always, even with `-q`) with its hint, naming the
    /// target and `subject` (`stack artifact-storage`) when given.
    pub fn report_failures(&self, ui: &Ui, subject: Option<&str>) {
        for (target, failure) in self.failures() {
            ui.error(&TargetFailure {
                target,
                subject,
                failure,
            });
        }
    }
}

/// A target's failure as an error of its own: `eu-west-1 (stack x): message` and its hint.
#[derive(Debug, thiserror::Error)]
#[error("{target}{}: {}", subject.map(|s| format!(" ({s})")).unwrap_or_default(), failure.message)]
struct TargetFailure<'a> {
    target: &'a Target,
    subject: Option<&'a str>,
    failure: &'a Failure,
}

impl Classify for TargetFailure<'_> {
    fn hint(&self) -> Option<String> {
        self.failure.hint.clone()
    }
}

/// How [`run`] runs the targets.
pub struct Run<'a> {
    /// At most this many targets at once.
    pub concurrency: usize,
    /// Where the progress lines go (`Ui::progress`); `None`: no lines.
    pub progress: Option<&'a Progress>,
    /// Which targets get a progress line (those with something to do).
    pub shows_line: &'a dyn Fn(&Target) -> bool,
}

impl<'a> Run<'a> {
    /// No progress lines: `concurrency` targets at once.
    pub fn quiet(concurrency: usize) -> Self {
        Run {
            concurrency,
            progress: None,
            shows_line: &|_| false,
        }
    }

    /// A progress line for every target.
    pub fn with_lines(concurrency: usize, progress: &'a Progress) -> Self {
        Run {
            concurrency,
            progress: Some(progress),
            shows_line: &|_| true,
        }
    }
}

/// Runs `task` for every target, at most `how.concurrency` at once, each with its progress
/// line (a silent one for targets without a line), ended with the result's summary or the
/// failure; returns the reports in the order of `targets`. One target's failure never stops
/// the others.
pub async fn run<T, F, Fut>(how: Run<'_>, targets: &[Target], task: F) -> Reports<T>
where
    T: TargetOutcome,
    F: Fn(Target, ProgressLine) -> Fut,
    Fut: Future<Output = Result<T, T::Error>>,
{
    let done = for_each(targets, how.concurrency, |target| {
        let line = match how.progress {
            Some(p) if (how.shows_line)(&target) => p.line(&target.to_string()),
            _ => ProgressLine::silent(),
        };
        let fut = task(target.clone(), line.clone());
        async move {
            let started = Instant::now();
            let outcome = fut.await;
            line.finish(match &outcome {
                Ok(t) => t.summary(),
                Err(e) => format!("failed: {}", e.failure().message),
            });
            TargetReport {
                target,
                outcome,
                elapsed: started.elapsed(),
            }
        }
    })
    .await;
    Reports(done.into_iter().map(|(_, r)| r).collect())
}

/// Runs `task` for every target, at most `concurrency` at once, and returns the results in
/// the order of `targets`. The plain fan-out under [`run`], for work that is one phase of a
/// target's (a staging check, an upload).
pub async fn for_each<T, F, Fut>(
    targets: &[Target],
    concurrency: usize,
    task: F,
) -> Vec<(Target, T)>
where
    F: Fn(Target) -> Fut,
    Fut: Future<Output = T>,
{
    let mut results: Vec<(usize, Target, T)> =
        futures_util::stream::iter(targets.iter().cloned().enumerate())
            .map(|(i, t)| {
                let fut = task(t.clone());
                async move {
                    let started = Instant::now();
                    tracing::debug!(target = %t, "target started");
                    let out = fut.await;
                    let elapsed_ms = started.elapsed().as_millis() as u64;
                    tracing::info!(target = %t, elapsed_ms, "target finished");
                    (i, t, out)
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
    results.sort_by_key(|(i, _, _)| *i);
    results.into_iter().map(|(_, t, out)| (t, out)).collect()
}

/// [`for_each`] over regions of the credentials' own account, by name.
pub async fn for_each_region<T, F, Fut>(
    regions: &[String],
    concurrency: usize,
    task: F,
) -> Vec<(String, T)>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = T>,
{
    for_each(&self::regions(regions), concurrency, |t| task(t.region))
        .await
        .into_iter()
        .map(|(t, out)| (t.region, out))
        .collect()
}

/// The targets of `regions` in the credentials' own account.
pub fn regions(regions: &[String]) -> Vec<Target> {
    regions.iter().map(|r| Target::region(r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, JsonSchema)]
    struct Checked {
        state: &'static str,
        #[serde(skip)]
        drifted: bool,
    }

    #[derive(Debug, Serialize, JsonSchema)]
    struct NotChecked {
        state: &'static str,
    }

    impl TargetOutcome for Checked {
        type Error = Failure;
        type Entry<'a> = &'a Checked;
        type FailedEntry = NotChecked;
        type ErrorEntry = String;

        fn entry(&self, _: Duration) -> &Checked {
            self
        }

        fn exit(&self) -> Exit {
            if self.drifted {
                Exit::Changes
            } else {
                Exit::Success
            }
        }

        fn summary(&self) -> String {
            self.state.to_string()
        }

        fn failed_entry(_: &Target, error: &Failure, _: Duration) -> (NotChecked, String) {
            (NotChecked { state: "failed" }, error.message.clone())
        }
    }

    fn targets() -> Vec<Target> {
        vec![
            Target::region("c-1"),
            Target::in_account("210987654321", "a-1"),
            Target::region("b-1"),
        ]
    }

    #[tokio::test]
    async fn reports_keep_the_targets_order_and_say_the_exit() {
        let reports: Reports<Checked> = run(Run::quiet(2), &targets(), |t, _| async move {
            // The first target finishes last.
            if t.region == "c-1" {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            match t.region.as_str() {
                "b-1" => Err(Failure::new("cannot connect").with_hint("retry")),
                "a-1" => Ok(Checked {
                    state: "drifted",
                    drifted: true,
                }),
                _ => Ok(Checked {
                    state: "in-sync",
                    drifted: false,
                }),
            }
        })
        .await;
        let order: Vec<String> = reports.iter().map(|r| r.target.to_string()).collect();
        assert_eq!(order, ["c-1", "210987654321/a-1", "b-1"]);
        assert_eq!(reports.exit(), Exit::Failure);
        assert_eq!(
            serde_json::to_value(&reports).unwrap(),
            serde_json::json!([
                {"region": "c-1", "account": null, "state": "in-sync", "error": null},
                {"region": "a-1", "account": "210987654321", "state": "drifted", "error": null},
                {"region": "b-1", "account": null, "state": "failed", "error": "cannot connect"},
            ])
        );
        let drifted = Reports(
            reports
                .0
                .into_iter()
                .filter(|r| r.outcome.is_ok())
                .collect(),
        );
        assert_eq!(drifted.exit(), Exit::Changes);
    }

    #[test]
    fn aws_errors_become_classified_failures() {
        let f = Failure::new("x").with_kind(Some(ErrorKind::Throttled));
        assert_eq!(f.kind, Some(ErrorKind::Throttled));
        assert_eq!(f.to_string(), "x");
    }
}
