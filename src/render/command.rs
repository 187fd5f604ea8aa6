//! `provision render`: writes CloudFormation, Terraform or the policies into a directory.

use super::{RenderError, RenderedFile, Templates};
use crate::cli::{RenderArgs, RenderFormat};
use crate::context::Context;
use crate::exit::Exit;
use schemars::JsonSchema;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The file `render --format cloudformation` writes for `engine: stacksets`.
pub const STACK_SET_FILE: &str = "stackset.yaml";

#[derive(Debug, Serialize, JsonSchema)]
pub struct Report {
    file: PathBuf,
    format: &'static str,
    out: PathBuf,
    written: Vec<PathBuf>,
}

impl crate::document::Document for Report {
    const KIND: &'static str = "render";
}

pub fn cmd_render(ctx: &Context, args: &RenderArgs) -> Result<Exit, RenderError> {
    let cfg = ctx.config()?;
    let templates = Templates::load(args.templates.as_deref())?;
    let (format, files) = match args.format {
        // A stack set deploys one template to every region: that is what it renders.
        RenderFormat::Cloudformation if cfg.engine == crate::config::Engine::Stacksets => (
            "cloudformation",
            vec![RenderedFile {
                name: STACK_SET_FILE.into(),
                content: super::stack_set(&cfg, &templates)?.body,
            }],
        ),
        RenderFormat::Cloudformation => (
            "cloudformation",
            super::cloudformation(&cfg, &templates)?
                .into_iter()
                .map(|s| RenderedFile {
                    name: format!("{}.yaml", s.region),
                    content: s.body,
                })
                .collect(),
        ),
        RenderFormat::Terraform => ("terraform", super::terraform(&cfg, &templates)?),
        RenderFormat::Policies => ("policies", super::policies(&cfg, &templates)?),
    };
    let written = write_all(&args.out, &files)?;
    let report = Report {
        file: ctx.global.file.clone(),
        format,
        out: args.out.clone(),
        written,
    };
    if ctx.ui.quiet && !ctx.ui.json() {
        // -q: the files are the requested data; the list of them is not.
        return Ok(Exit::Success);
    }
    ctx.ui.emit(&report, || {
        let mut text = format!(
            "{}: rendered {} file{} ({format}) into {}\n",
            report.file.display(),
            report.written.len(),
            if report.written.len() == 1 { "" } else { "s" },
            report.out.display()
        );
        for path in &report.written {
            text.push_str(&format!("  {}\n", path.display()));
        }
        text
    })?;
    Ok(Exit::Success)
}

/// Writes every file under `out` (creating directories), each through a temporary file
/// renamed into place, so that an interrupted run never leaves a half-written template.
fn write_all(out: &Path, files: &[RenderedFile]) -> Result<Vec<PathBuf>, RenderError> {
    let mut written = Vec::with_capacity(files.len());
    for file in files {
        let path = out.join(&file.name);
        let dir = path.parent().unwrap_or(out);
        std::fs::create_dir_all(dir).map_err(|source| RenderError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, &file.content)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|source| {
                let _ = std::fs::remove_file(&tmp);
                RenderError::Write {
                    path: path.clone(),
                    source,
                }
            })?;
        written.push(path);
    }
    Ok(written)
}
