//! Terraform: the root module (rendered in the next step).
use super::templates::TERRAFORM_FILES;
use super::{RenderError, RenderedFile, Templates};
use crate::config::Config;

pub fn render(_cfg: &Config, _templates: &Templates) -> Result<Vec<RenderedFile>, RenderError> {
    let _ = (
        TERRAFORM_FILES,
        super::placeholders::Target::Terraform {
            region: "",
            resource_suffix: "",
        },
    );
    Ok(Vec::new())
}
