//! The `TerraformEngine`: what the shared commands ask of an engine, done with one Terraform
//! run per command. The first target that needs the run starts it; every target awaits the
//! same result (`OnceCell`) and takes its region's part. Terraform runs on a blocking thread,
//! so that the command's Ctrl-C handler keeps running and can pass the interrupt on.

use super::adopted;
use super::imports::imports_file;
use super::plan::{Split, target_plans};
use super::progress::{Counts, counts_text, progress};
use super::saved::sha256_hex;
use super::security::PolicyTemplates;
use crate::aws::Clients;
use crate::config::Config;
use crate::deploy::error::DeployError;
use crate::deploy::model::{
    Action, Applied, DestroyResult, Destroyed, Inventory, Outcome, StackFailure, TargetPlan,
    holds_data,
};
use crate::deploy::session::{Session, TerraformOptions};
use crate::exit::Classify;
use crate::render::{self, RenderedFile, Templates};
use crate::runner::Target;
use crate::terraform::{
    self as tf, Drift, Environment, PlanMode, RawState, ResourceRegions, RunOptions, Terraform,
    TerraformError, WorkDir, retain,
};
use crate::ui::ProgressLine;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

pub(super) type Shared<T> = Result<T, Arc<TerraformError>>;

/// The one plan of a command, split per region.
pub(super) struct Planned {
    pub(super) plans: BTreeMap<String, TargetPlan>,
    /// The state's lineage and serial when the plan was made.
    pub(super) state: Option<(String, u64)>,
}

pub struct TerraformEngine {
    pub(super) cfg: Config,
    pub(super) config_file: PathBuf,
    pub(super) options: TerraformOptions,
    /// For the plan's look-ups: whether adopted buckets and parameters exist (`adopted.rs`).
    pub(super) clients: Clients,
    /// Set by `connect`: the binary, the working directory (module written, `init` done).
    pub(super) tf: Option<Terraform>,
    pub(super) module: Vec<RenderedFile>,
    pub(super) module_sha256: String,
    pub(super) regions: ResourceRegions,
    pub(super) templates: PolicyTemplates,
    pub(super) planned: OnceCell<Shared<Arc<Planned>>>,
    /// The Terraform plan `apply` applies: a plan file's (`load`), else the fresh plan's.
    pub(super) saved_plan: Mutex<Option<PathBuf>>,
    /// `plan --out`: the Terraform plan copied beside the plan file (name, SHA-256).
    pub(super) kept: Mutex<Option<(String, String)>>,
    pub(super) applied: OnceCell<Shared<Counts>>,
    pub(super) destroyed: OnceCell<Shared<Counts>>,
    pub(super) state: OnceCell<Shared<Option<Arc<RawState>>>>,
    pub(super) drift: OnceCell<Shared<Arc<Vec<Drift>>>>,
    /// Each target's progress line, by region, for the events of the one run.
    pub(super) lines: Arc<Mutex<BTreeMap<String, ProgressLine>>>,
}

impl TerraformEngine {
    pub fn new(session: &Session) -> Self {
        TerraformEngine {
            cfg: session.cfg.clone(),
            config_file: session.config_file.clone(),
            options: session.terraform.clone(),
            clients: session.clients.clone(),
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

    pub(super) fn terraform(&self) -> Shared<Terraform> {
        self.tf.clone().ok_or_else(|| {
            Arc::new(TerraformError::Output {
                command: "init".into(),
                message: "the working directory is not ready".into(),
            })
        })
    }

    pub(super) fn stack(&self) -> &str {
        &self.cfg.stack_name
    }

    pub(super) fn run_options(&self, mode: PlanMode) -> RunOptions {
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
    pub(super) fn failure(
        &self,
        err: &TerraformError,
        region: &str,
        partial: bool,
    ) -> Option<StackFailure> {
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

    pub(super) fn shared_failure(&self, err: &TerraformError, region: &str) -> StackFailure {
        self.failure(err, region, false)
            .unwrap_or_else(|| StackFailure::new(self.stack(), err.to_string()))
    }

    /// The one plan of the command (`plan -out`, then `show -json`), split per region. The
    /// adopted buckets the state does not hold yet are imported (`adopted.rs`): their import
    /// blocks are written beside the module for this plan only.
    async fn planned(&self) -> Shared<Arc<Planned>> {
        self.planned
            .get_or_init(|| async {
                let terraform = self.terraform()?;
                let pull = terraform.clone();
                let state = blocking("state pull", move || pull.state_pull())
                    .await
                    .map_err(Arc::new)?;
                let files = self.with_imports(state.as_ref()).await.map_err(Arc::new)?;
                let options = self.run_options(PlanMode::Normal);
                let interrupt = self.options.interrupt.clone();
                let plan = blocking("plan", move || {
                    terraform.write(&files)?;
                    let outcome = terraform.plan(&options, &interrupt, &mut |_| {})?;
                    terraform.show_plan(&outcome.file)
                })
                .await
                .map_err(Arc::new)?;
                Ok(self.planned_from(&plan, state))
            })
            .await
            .clone()
    }

    /// The module, and the import blocks of the adopted buckets when there are any.
    async fn with_imports(
        &self,
        state: Option<&RawState>,
    ) -> Result<Vec<RenderedFile>, TerraformError> {
        let blocks = adopted::imports(&self.cfg, state, &self.clients).await?;
        let mut files = self.module.clone();
        let imports =
            imports_file(&blocks, &self.module).map_err(|message| TerraformError::Output {
                command: "plan".into(),
                message,
            })?;
        files.extend(imports);
        Ok(files)
    }

    /// A Terraform plan split per region, with the state it was made against.
    pub(super) fn planned_from(&self, plan: &tf::Plan, state: Option<RawState>) -> Arc<Planned> {
        Arc::new(Planned {
            plans: self.split(plan),
            state: state.map(|s| (s.lineage, s.serial)),
        })
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

    /// Registers a target's progress line for the events of the one run.
    pub(super) fn show_progress(&self, region: &str, line: &ProgressLine) {
        if let Ok(mut lines) = self.lines.lock() {
            lines.insert(region.to_string(), line.clone());
        }
    }

    /// Runs `apply` of a plan file once, reporting each event on its region's line and
    /// counting what was done per region.
    pub(super) async fn apply_once(
        &self,
        cell: &OnceCell<Shared<Counts>>,
        file: PathBuf,
    ) -> Shared<Counts> {
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

pub(super) fn unwrap_shared(e: Arc<TerraformError>) -> DeployError {
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
pub(super) async fn blocking<T, F>(command: &str, run: F) -> Result<T, TerraformError>
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
