//! The `TerraformEngine`: what the shared commands ask of an engine, done with one Terraform
//! run per command. The first target that needs the run starts it; every target awaits the
//! same result (`OnceCell`) and takes its region's part. Terraform runs on a blocking thread,
//! so that the command's Ctrl-C handler keeps running and can pass the interrupt on.

use super::plan::{Split, target_plans};
use super::saved::{Stale, TerraformRecord, sha256_hex};
use super::security::PolicyTemplates;
use crate::aws::Clients;
use crate::config::Config;
use crate::deploy::error::DeployError;
use crate::deploy::model::{
    Action, Applied, DestroyResult, Destroyed, DriftState, EngineStack, Inventory, LoadError,
    Outcome, PropertyDiff, ResourceDrift, StackDrift, StackFailure, StackResource, StackStatus,
    TargetPlan, holds_data,
};
use crate::deploy::planfile::{PlanFile, SavedTarget};
use crate::deploy::retained::forget_missing_buckets;
use crate::deploy::session::{Session, TerraformOptions};
use crate::exit::Classify;
use crate::render::{self, RenderedFile, Templates, region_suffix};
use crate::runner::Target;
use crate::terraform::{
    self as tf, Drift, DriftKind, Environment, Event, PlanMode, RawState, ResourceRegions,
    RunOptions, Terraform, TerraformError, WorkDir, retain,
};
use crate::ui::ProgressLine;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

type Shared<T> = Result<T, Arc<TerraformError>>;

/// The one plan of a command, split per region.
struct Planned {
    plans: BTreeMap<String, TargetPlan>,
    /// The state's lineage and serial when the plan was made.
    state: Option<(String, u64)>,
}

/// What one apply (or destroy) did per region: resources added, changed, destroyed.
type Counts = BTreeMap<String, [u32; 3]>;

pub struct TerraformEngine {
    cfg: Config,
    /// S3 reads only: whether a retained bucket still exists (`destroy`).
    clients: Clients,
    config_file: PathBuf,
    options: TerraformOptions,
    /// Set by `connect`: the binary, the working directory (module written, `init` done).
    tf: Option<Terraform>,
    module: Vec<RenderedFile>,
    module_sha256: String,
    regions: ResourceRegions,
    templates: PolicyTemplates,
    planned: OnceCell<Shared<Arc<Planned>>>,
    /// The Terraform plan `apply` applies: a plan file's (`load`), else the fresh plan's.
    saved_plan: Mutex<Option<PathBuf>>,
    /// `plan --out`: the Terraform plan copied beside the plan file (name, SHA-256).
    kept: Mutex<Option<(String, String)>>,
    applied: OnceCell<Shared<Counts>>,
    destroyed: OnceCell<Shared<Counts>>,
    state: OnceCell<Shared<Option<Arc<RawState>>>>,
    drift: OnceCell<Shared<Arc<Vec<Drift>>>>,
    /// Each target's progress line, by region, for the events of the one run.
    lines: Arc<Mutex<BTreeMap<String, ProgressLine>>>,
}

impl TerraformEngine {
    pub fn new(session: &Session) -> Self {
        TerraformEngine {
            cfg: session.cfg.clone(),
            clients: session.clients.clone(),
            config_file: session.config_file.clone(),
            options: session.terraform.clone(),
            tf: None,
            module: Vec::new(),
            module_sha256: String::new(),
            regions: ResourceRegions::default(),
            templates: PolicyTemplates::default(),
            planned: OnceCell::new(),
            saved_plan: Mutex::new(None),
            kept: Mutex::new(None),
            applied: OnceCell::new(),
            destroyed: OnceCell::new(),
            state: OnceCell::new(),
            drift: OnceCell::new(),
            lines: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// Renders the module into the working directory and runs `terraform init` there: the
    /// binary found and its version checked, the directory's owner and a local state checked.
    pub async fn connect(&mut self, templates_dir: Option<&Path>) -> Result<(), DeployError> {
        if self.tf.is_some() {
            return Ok(());
        }
        let cfg = &self.cfg;
        let templates = Templates::load(templates_dir)?;
        let mut module = render::terraform(cfg, &templates)?;
        module.extend(tf::emulator::endpoint_override(cfg));
        self.templates = PolicyTemplates(render::policy_templates(cfg, &templates)?);
        let mut env = Environment::from_process();
        if let Some(url) = &self.options.endpoint_url {
            env.set("AWS_ENDPOINT_URL", url);
        }
        if let Some(profile) = &self.options.profile {
            env.set("AWS_PROFILE", profile);
        }
        let backend = cfg.terraform_backend().is_some();
        let binary = tf::find(self.options.binary.as_deref(), &env, backend)?;
        // Absolute: Terraform runs in the directory, and is handed paths of files in it.
        let config_file =
            std::path::absolute(&self.config_file).map_err(|source| TerraformError::Io {
                path: self.config_file.clone(),
                context: "resolving the configuration file's path".into(),
                source,
            })?;
        let dir = WorkDir::open(
            &WorkDir::default_path(&config_file, &cfg.stack_name),
            &config_file,
        )?;
        tf::state::check_local(dir.path())?;
        let terraform = Terraform::new(binary, dir, env);
        terraform.write(&module)?;
        let init = terraform.clone();
        blocking("init", move || init.init(backend)).await?;
        self.regions = ResourceRegions::from_module(&module);
        self.module_sha256 = module_sha256(&module);
        self.module = module;
        self.tf = Some(terraform);
        Ok(())
    }

    fn terraform(&self) -> Shared<Terraform> {
        self.tf.clone().ok_or_else(|| {
            Arc::new(TerraformError::Output {
                command: "init".into(),
                message: "the working directory is not ready".into(),
            })
        })
    }

    fn stack(&self) -> &str {
        &self.cfg.stack_name
    }

    fn run_options(&self, mode: PlanMode) -> RunOptions {
        // Each lifecycle configuration waits for S3 for about a minute: let every region's
        // resources run at once rather than ten at a time.
        let regions = u32::try_from(self.cfg.regions.len()).unwrap_or(u32::MAX);
        RunOptions {
            mode,
            parallelism: Some(regions.saturating_mul(8).clamp(10, 64)),
            lock_timeout: None,
        }
    }

    /// A failure of the whole run, as one target sees it. `None` for an apply whose errors
    /// are all in other regions (this region's resources were applied).
    fn failure(&self, err: &TerraformError, region: &str, partial: bool) -> Option<StackFailure> {
        let stack = self.stack();
        if let TerraformError::Command {
            command, errors, ..
        } = err
            && errors.iter().any(|e| e.region.is_some())
        {
            let mine: Vec<String> = errors
                .iter()
                .filter(|e| e.region.as_deref().unwrap_or(self.cfg.home_region()) == region)
                .map(|e| e.to_string())
                .collect();
            if mine.is_empty() {
                if partial {
                    return None;
                }
                let elsewhere: BTreeSet<&str> =
                    errors.iter().filter_map(|e| e.region.as_deref()).collect();
                let elsewhere: Vec<&str> = elsewhere.into_iter().collect();
                return Some(StackFailure::new(
                    stack,
                    format!(
                        "not done: terraform {command} failed in {} (one run covers every region)",
                        elsewhere.join(", ")
                    ),
                ));
            }
            return Some(StackFailure::new(
                stack,
                format!("terraform {command} failed: {}", mine.join("; ")),
            ));
        }
        let failure = StackFailure::new(stack, err.to_string());
        Some(match err.hint() {
            Some(hint) => failure.with_hint(hint),
            None => failure,
        })
    }

    fn shared_failure(&self, err: &TerraformError, region: &str) -> StackFailure {
        self.failure(err, region, false)
            .unwrap_or_else(|| StackFailure::new(self.stack(), err.to_string()))
    }

    /// The one plan of the command (`plan -out`, then `show -json`), split per region.
    async fn planned(&self) -> Shared<Arc<Planned>> {
        self.planned
            .get_or_init(|| async {
                let terraform = self.terraform()?;
                let options = self.run_options(PlanMode::Normal);
                let interrupt = self.options.interrupt.clone();
                let (plan, state) = blocking("plan", move || {
                    let state = terraform.state_pull()?;
                    let outcome = terraform.plan(&options, &interrupt, &mut |_| {})?;
                    Ok((terraform.show_plan(&outcome.file)?, state))
                })
                .await
                .map_err(Arc::new)?;
                Ok(Arc::new(Planned {
                    plans: self.split(&plan),
                    state: state.map(|s| (s.lineage, s.serial)),
                }))
            })
            .await
            .clone()
    }

    fn split(&self, plan: &tf::Plan) -> BTreeMap<String, TargetPlan> {
        let mut regions = plan.regions();
        if regions.is_empty() {
            regions = self.regions.clone();
        }
        let split = Split {
            stack_name: self.stack(),
            home: self.cfg.home_region(),
            regions: &regions,
            templates: &self.templates,
            describe_principal: &|_| None,
        };
        target_plans(plan, &split, &self.cfg.regions)
    }

    pub async fn plan(&self, target: &Target) -> Result<TargetPlan, StackFailure> {
        let planned = self
            .planned()
            .await
            .map_err(|e| self.shared_failure(&e, &target.region))?;
        planned
            .plans
            .get(&target.region)
            .cloned()
            .ok_or_else(|| StackFailure::new(self.stack(), "not a region of the configuration"))
    }

    /// Copies the fresh plan's Terraform plan beside the plan file (`FILE.tfplan`), for
    /// [`TerraformEngine::save`] to record.
    pub fn keep_plan(&self, path: &Path) -> Result<(), DeployError> {
        let terraform = self.terraform().map_err(unwrap_shared)?;
        let name = format!(
            "{}.tfplan",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "plan".into())
        );
        let to = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join(&name);
        let from = terraform.dir().plan_file();
        let bytes = std::fs::read(&from).map_err(|source| TerraformError::Io {
            path: from.clone(),
            context: "reading the Terraform plan".into(),
            source,
        })?;
        std::fs::write(&to, &bytes).map_err(|source| TerraformError::Io {
            path: to.clone(),
            context: "writing the Terraform plan beside the plan file".into(),
            source,
        })?;
        if let Ok(mut kept) = self.kept.lock() {
            *kept = Some((name, sha256_hex(&bytes)));
        }
        Ok(())
    }

    pub fn save(
        &self,
        _target: &Target,
        _plan: &TargetPlan,
    ) -> serde_json::Map<String, serde_json::Value> {
        let (terraform_plan, terraform_plan_sha256) = self
            .kept
            .lock()
            .ok()
            .and_then(|k| k.clone())
            .unwrap_or_default();
        let state = self
            .planned
            .get()
            .and_then(|p| p.as_ref().ok())
            .and_then(|p| p.state.clone());
        TerraformRecord {
            terraform_plan,
            terraform_plan_sha256,
            module_sha256: self.module_sha256.clone(),
            state_lineage: state.as_ref().map(|s| s.0.clone()),
            state_serial: state.map(|s| s.1),
            dependency_lock: None,
        }
        .payload()
    }

    /// Offline: every payload is the engine's, the module is the planned one and Terraform's
    /// plan is the recorded one; that plan is what `apply` will apply.
    pub fn check_saved(&self, file: &PlanFile, path: &Path) -> Result<(), DeployError> {
        for saved in &file.regions {
            let record = TerraformRecord::read(saved).map_err(|message| DeployError::PlanFile {
                path: path.to_path_buf(),
                message,
            })?;
            match record.staleness(&self.module_sha256, path) {
                Ok(()) => {}
                Err(Stale::Outdated(reason)) => {
                    return Err(DeployError::StalePlan {
                        path: path.to_path_buf(),
                        reason,
                    });
                }
                Err(Stale::Invalid(message)) => {
                    return Err(DeployError::PlanFile {
                        path: path.to_path_buf(),
                        message,
                    });
                }
            }
            // Absolute: Terraform runs in the working directory.
            let plan_path = record.plan_path(path);
            let plan_path = std::path::absolute(&plan_path).unwrap_or(plan_path);
            if let Ok(mut plan) = self.saved_plan.lock() {
                *plan = Some(plan_path);
            }
        }
        Ok(())
    }

    /// A saved region's plan: refused when the state moved since; else the saved Terraform
    /// plan, read and split.
    pub async fn load(&self, saved: &SavedTarget) -> Result<TargetPlan, LoadError> {
        let record = TerraformRecord::read(saved).map_err(LoadError::Stale)?;
        let file = self
            .saved_plan
            .lock()
            .ok()
            .and_then(|p| p.clone())
            .ok_or_else(|| LoadError::Stale("the plan file was not checked".into()))?;
        let region = saved.region.clone();
        let planned = self
            .planned
            .get_or_init(|| async {
                let terraform = self.terraform()?;
                let (plan, state) = blocking("show", move || {
                    Ok((terraform.show_plan(&file)?, terraform.state_pull()?))
                })
                .await
                .map_err(Arc::new)?;
                Ok(Arc::new(Planned {
                    plans: self.split(&plan),
                    state: state.map(|s| (s.lineage, s.serial)),
                }))
            })
            .await
            .clone()
            .map_err(|e| LoadError::Failed(self.shared_failure(&e, &region)))?;
        let now = planned.state.as_ref().map(|(l, s)| (l.as_str(), *s));
        if let Some(reason) = record.state_moved(now) {
            return Err(LoadError::Stale(reason));
        }
        planned
            .plans
            .get(&region)
            .cloned()
            .ok_or_else(|| LoadError::Stale(format!("{region} is not a region of the plan")))
    }

    /// Registers a target's progress line for the events of the one run.
    fn show_progress(&self, region: &str, line: &ProgressLine) {
        if let Ok(mut lines) = self.lines.lock() {
            lines.insert(region.to_string(), line.clone());
        }
    }

    /// Runs `apply` of a plan file once, reporting each event on its region's line and
    /// counting what was done per region.
    async fn apply_once(&self, cell: &OnceCell<Shared<Counts>>, file: PathBuf) -> Shared<Counts> {
        cell.get_or_init(|| async {
            let terraform = self.terraform()?;
            let options = self.run_options(PlanMode::Normal);
            let interrupt = self.options.interrupt.clone();
            let lines = self.lines.clone();
            let home = self.cfg.home_region().to_string();
            blocking("apply", move || {
                let mut counts = Counts::new();
                terraform.apply(&file, &options, &interrupt, &mut |event| {
                    progress(event, &lines, &home, &mut counts)
                })?;
                Ok(counts)
            })
            .await
            .map_err(Arc::new)
        })
        .await
        .clone()
    }

    pub async fn apply(
        &self,
        target: &Target,
        plan: &TargetPlan,
        line: &ProgressLine,
    ) -> Result<Applied, StackFailure> {
        let result = match plan.action {
            Action::Create => Outcome::Created,
            Action::Update | Action::Retry => Outcome::Updated,
            Action::Recreate => Outcome::Recreated,
            Action::NoChanges => Outcome::Unchanged,
            Action::Delete => Outcome::Deleted,
        };
        let applied = |status: String| Applied {
            stack_name: self.stack().to_string(),
            result,
            status: Some(status),
            status_reason: None,
            operation_id: None,
            warnings: Vec::new(),
        };
        if !plan.has_changes() {
            return Ok(applied("no changes".into()));
        }
        self.show_progress(&target.region, line);
        let file = self
            .saved_plan
            .lock()
            .ok()
            .and_then(|p| p.clone())
            .or_else(|| self.tf.as_ref().map(|t| t.dir().plan_file()))
            .unwrap_or_default();
        match self.apply_once(&self.applied, file).await {
            Ok(counts) => Ok(applied(counts_text(counts.get(&target.region)))),
            Err(e) => match self.failure(&e, &target.region, true) {
                Some(failure) => Err(failure),
                None => Ok(applied(
                    "applied (another region failed: see its error)".into(),
                )),
            },
        }
    }

    /// The state (`state pull`), read once.
    async fn state(&self) -> Shared<Option<Arc<RawState>>> {
        self.state
            .get_or_init(|| async {
                let terraform = self.terraform()?;
                blocking("state pull", move || terraform.state_pull())
                    .await
                    .map(|s| s.map(Arc::new))
                    .map_err(Arc::new)
            })
            .await
            .clone()
    }

    /// The state's resource instances in one region (account-global ones in the home region).
    async fn instances(&self, region: &str) -> Result<Vec<tf::Instance>, StackFailure> {
        let state = self
            .state()
            .await
            .map_err(|e| self.shared_failure(&e, region))?;
        let home = self.cfg.home_region();
        Ok(state
            .map(|s| {
                s.instances()
                    .into_iter()
                    .filter(|i| self.regions.region_of(&i.provider).unwrap_or(home) == region)
                    .collect()
            })
            .unwrap_or_default())
    }

    pub async fn inventory(&self, target: &Target) -> Result<Option<Inventory>, StackFailure> {
        let instances = self.instances(&target.region).await?;
        if instances.is_empty() {
            return Ok(None);
        }
        let kept: BTreeSet<String> = retain::retained(&self.cfg)
            .into_iter()
            .map(|r| r.address)
            .collect();
        let status = format!("{} resources in the Terraform state", instances.len());
        let mut resources: Vec<StackResource> = instances
            .into_iter()
            .map(|i| StackResource {
                retained: kept.contains(&i.address),
                logical_id: i.address,
                resource_type: i.resource_type,
                physical_id: i.id.unwrap_or_default(),
            })
            .collect();
        forget_missing_buckets(&self.clients.s3_reads(target), &mut resources).await;
        Ok(Some(Inventory {
            status,
            resources,
            engine: EngineStack::Terraform,
        }))
    }

    /// Destroys every region at once: the module is replaced by a configuration of only the
    /// providers and a `removed` block (`destroy = false`) per kept resource, then planned and
    /// applied; Terraform forgets what is kept and destroys the rest.
    pub async fn destroy(
        &self,
        target: &Target,
        inventory: &Inventory,
        line: &ProgressLine,
    ) -> Result<Destroyed, StackFailure> {
        self.show_progress(&target.region, line);
        let destroyed = self
            .destroyed
            .get_or_init(|| async {
                let terraform = self.terraform()?;
                let mut files = retain::destroy_configuration(&self.cfg, &self.module);
                files.extend(tf::emulator::endpoint_override(&self.cfg));
                let options = self.run_options(PlanMode::Normal);
                let interrupt = self.options.interrupt.clone();
                let lines = self.lines.clone();
                let home = self.cfg.home_region().to_string();
                blocking("destroy", move || {
                    terraform.write(&files)?;
                    let outcome = terraform.plan(&options, &interrupt, &mut |_| {})?;
                    let mut counts = Counts::new();
                    terraform.apply(&outcome.file, &options, &interrupt, &mut |event| {
                        progress(event, &lines, &home, &mut counts)
                    })?;
                    Ok(counts)
                })
                .await
                .map_err(Arc::new)
            })
            .await
            .clone();
        match destroyed {
            // The kept buckets and keys are listed; their settings (kept with them) are not.
            Ok(_) => Ok(Destroyed {
                result: DestroyResult::Deleted,
                retained: inventory
                    .retained()
                    .into_iter()
                    .filter(|r| holds_data(&r.resource_type))
                    .collect(),
            }),
            Err(e) => Err(self.shared_failure(&e, &target.region)),
        }
    }

    /// Read from the state: what is deployed in the region, and the module's outputs for it.
    pub async fn status(&self, target: &Target) -> Result<StackStatus, StackFailure> {
        let instances = self.instances(&target.region).await?;
        if instances.is_empty() {
            return Ok(StackStatus::not_deployed(self.stack()));
        }
        let state = self
            .state()
            .await
            .map_err(|e| self.shared_failure(&e, &target.region))?;
        let suffix = format!("_{}", region_suffix(&target.region));
        let outputs = state
            .as_ref()
            .map(|s| {
                s.outputs()
                    .into_iter()
                    .filter_map(|(k, v)| {
                        k.strip_suffix(&suffix)
                            .map(|name| (name.to_string(), v.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let tainted: Vec<&str> = instances
            .iter()
            .filter(|i| i.tainted)
            .map(|i| i.address.as_str())
            .collect();
        let mut status = StackStatus::not_deployed(self.stack());
        status.deployed = true;
        status.status = Some(if tainted.is_empty() {
            format!("{} resources in state", instances.len())
        } else {
            format!(
                "{} resources in state, {} tainted",
                instances.len(),
                tainted.len()
            )
        });
        if !tainted.is_empty() {
            status.status_reason = Some(format!(
                "tainted (replaced by the next apply): {}",
                tainted.join(", ")
            ));
        }
        status.outputs = outputs;
        Ok(status)
    }

    /// `plan -refresh-only` once; each region's drifted resources and attributes.
    pub async fn drift(&self, target: &Target) -> Result<StackDrift, StackFailure> {
        if self.instances(&target.region).await?.is_empty() {
            return Ok(StackDrift {
                state: DriftState::NotDeployed,
                drifted: Vec::new(),
                note: None,
            });
        }
        let drift = self
            .drift
            .get_or_init(|| async {
                let terraform = self.terraform()?;
                let options = self.run_options(PlanMode::RefreshOnly);
                let interrupt = self.options.interrupt.clone();
                blocking("plan -refresh-only", move || {
                    let outcome = terraform.plan(&options, &interrupt, &mut |_| {})?;
                    terraform.drift(&outcome.file)
                })
                .await
                .map(Arc::new)
                .map_err(Arc::new)
            })
            .await
            .clone()
            .map_err(|e| self.shared_failure(&e, &target.region))?;
        let home = self.cfg.home_region();
        let drifted: Vec<ResourceDrift> = drift
            .iter()
            .filter(|d| d.region.as_deref().unwrap_or(home) == target.region)
            .map(resource_drift)
            .collect();
        Ok(StackDrift {
            state: if drifted.is_empty() {
                DriftState::InSync
            } else {
                DriftState::Drifted
            },
            drifted,
            note: None,
        })
    }
}

fn resource_drift(d: &Drift) -> ResourceDrift {
    let shown = |v: &serde_json::Value, sensitive: bool| {
        Some(if sensitive {
            "(sensitive)".to_string()
        } else {
            v.to_string()
        })
    };
    ResourceDrift {
        resource_type: d.address.split('.').next().unwrap_or_default().to_string(),
        logical_id: d.address.clone(),
        physical_id: String::new(),
        status: match d.kind {
            DriftKind::Changed => "MODIFIED".into(),
            DriftKind::Deleted => "DELETED".into(),
        },
        differences: d
            .attributes
            .iter()
            .map(|a| PropertyDiff {
                path: a.path.clone(),
                kind: "NOT_EQUAL".into(),
                expected: shown(&a.before, a.sensitive),
                actual: shown(&a.after, a.sensitive),
            })
            .collect(),
    }
}

/// An apply event on its region's progress line; completed changes counted per region.
fn progress(
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

fn counts_text(counts: Option<&[u32; 3]>) -> String {
    let [added, changed, destroyed] = counts.copied().unwrap_or_default();
    format!("{added} added, {changed} changed, {destroyed} destroyed")
}

/// The SHA-256 of the files written into the working directory, in name order.
fn module_sha256(files: &[RenderedFile]) -> String {
    let mut sorted: Vec<&RenderedFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut bytes = Vec::new();
    for f in sorted {
        bytes.extend_from_slice(f.name.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(f.content.as_bytes());
        bytes.push(0);
    }
    sha256_hex(&bytes)
}

fn unwrap_shared(e: Arc<TerraformError>) -> DeployError {
    match Arc::try_unwrap(e) {
        Ok(e) => DeployError::Terraform(e),
        Err(shared) => DeployError::Terraform(TerraformError::Output {
            command: "terraform".into(),
            message: shared.to_string(),
        }),
    }
}

/// Runs Terraform on a blocking thread (the runtime's threads keep serving the Ctrl-C
/// handler and the progress lines).
async fn blocking<T, F>(command: &str, run: F) -> Result<T, TerraformError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, TerraformError> + Send + 'static,
{
    tokio::task::spawn_blocking(run).await.unwrap_or_else(|e| {
        Err(TerraformError::Output {
            command: command.into(),
            message: format!("the thread running Terraform ended: {e}"),
        })
    })
}
