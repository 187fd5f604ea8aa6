//! Import blocks: existing objects (a bucket made by hand, one a retained destroy left behind)
//! brought under the module's management instead of created again. A caller (adoption) hands
//! the engine `ImportBlock`s before `prepare`; they are rendered into `provision_imports.tf`
//! beside the module, planned as imports (`~` with the import shown) and applied with the rest.

use crate::render::{RenderedFile, hcl_string};
use crate::terraform::ResourceRegions;

/// The file the import blocks are written to.
pub const IMPORTS_FILE: &str = "provision_imports.tf";

/// One `import { to = ADDRESS; id = "ID" }` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportBlock {
    /// A resource address of the rendered module: `aws_s3_bucket.artifacts_eu_west_1`.
    pub address: String,
    /// The object's import ID, as the resource type documents it (a bucket's name, a key's ID,
    /// a policy's ARN, a parameter's name).
    pub id: String,
}

/// The imports file, or None without imports. Every address must be a resource of the
/// module (the provider, and so the region, is the resource's own); the first that is not is
/// the error.
pub fn imports_file(
    blocks: &[ImportBlock],
    module: &[RenderedFile],
) -> Result<Option<RenderedFile>, String> {
    if blocks.is_empty() {
        return Ok(None);
    }
    let regions = ResourceRegions::from_module(module);
    let mut text = String::from(
        "# Written by provision: existing objects imported into the module's resources.\n",
    );
    for b in blocks {
        if regions.region_of(&b.address).is_none() || b.address.starts_with("data.") {
            return Err(format!(
                "import into `{}`: not a resource of the rendered module",
                b.address
            ));
        }
        text.push_str(&format!(
            "\nimport {{\n  to = {}\n  id = {}\n}}\n",
            b.address,
            hcl_string(&b.id)
        ));
    }
    Ok(Some(RenderedFile {
        name: IMPORTS_FILE.into(),
        content: text,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_blocks_name_resources_of_the_module() {
        let cfg = crate::config::parse(
            std::path::Path::new("t.yaml"),
            "version: 1\norganisation: acme\nregions: [eu-west-1]\n",
        )
        .unwrap();
        let module = crate::render::terraform(&cfg, &crate::render::Templates::default()).unwrap();
        let file = imports_file(
            &[ImportBlock {
                address: "aws_s3_bucket.artifacts_eu_west_1".into(),
                id: "acme-\"odd\"".into(),
            }],
            &module,
        )
        .unwrap()
        .unwrap();
        let body = hcl::parse(&file.content).expect("HCL");
        assert_eq!(
            body.blocks().filter(|b| b.identifier() == "import").count(),
            1
        );
        assert!(
            file.content
                .contains("to = aws_s3_bucket.artifacts_eu_west_1")
        );
        assert!(
            file.content.contains(r#"id = "acme-\"odd\"""#),
            "{}",
            file.content
        );
        let wrong = imports_file(
            &[ImportBlock {
                address: "aws_s3_bucket.elsewhere".into(),
                id: "x".into(),
            }],
            &module,
        );
        assert!(wrong.is_err_and(|m| m.contains("aws_s3_bucket.elsewhere")));
        assert_eq!(imports_file(&[], &module), Ok(None));
    }
}
