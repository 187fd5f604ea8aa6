//! What `destroy` keeps, and the configuration that destroys the rest.
//!
//! CloudFormation retains the artifact bucket (unless `bucket.retain_on_delete: false`), the
//! log bucket and the key when a stack is deleted (`DeletionPolicy: Retain`), each with all its
//! settings, and deletes the rest. Terraform does the same with a configuration holding only
//! the providers and a `removed` block with `lifecycle { destroy = false }` for each kept
//! resource: applied, it destroys every other resource in the state and forgets the kept ones.
//!
//! `removed` blocks were chosen over `terraform state rm` + `terraform destroy`: the plan shows
//! each kept resource as "forget" before anything happens, and the forgetting happens in the
//! same apply as the destroying. With `state rm` first, a destroy that fails half-way leaves
//! the kept resources out of the state while the rest still exists, and the next `apply`
//! would create a second bucket beside the first.
//!
//! A bucket's settings (public access block, ownership, encryption, versioning, lifecycle,
//! CORS, logging) are separate resources in Terraform; destroying them would strip the kept
//! bucket (versioning suspended, the public access block removed), so they are kept with it,
//! as CloudFormation keeps a retained bucket's properties. Bucket policies are deleted, as
//! CloudFormation deletes `AWS::S3::BucketPolicy`.

use crate::config::Config;
use crate::render::{RenderedFile, hcl_string, region_suffix};
use serde::Serialize;

/// A resource `destroy` keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retained {
    pub address: String,
    pub region: String,
    /// What it is, for the list `destroy` prints.
    pub what: &'static str,
}

/// Every resource `destroy` keeps, region by region.
pub fn retained(cfg: &Config) -> Vec<Retained> {
    let mut out = Vec::new();
    for region in &cfg.regions {
        let s = region_suffix(region);
        let mut keep = |kind: &str, name: String, what: &'static str| {
            out.push(Retained {
                address: format!("{kind}.{name}"),
                region: region.clone(),
                what,
            });
        };
        if cfg.bucket.retain_on_delete {
            let name = format!("artifacts_{s}");
            keep("aws_s3_bucket", name.clone(), "the artifact bucket");
            for (kind, present) in [
                ("aws_s3_bucket_public_access_block", true),
                ("aws_s3_bucket_ownership_controls", true),
                ("aws_s3_bucket_server_side_encryption_configuration", true),
                ("aws_s3_bucket_versioning", cfg.bucket.versioning),
                ("aws_s3_bucket_lifecycle_configuration", true),
                (
                    "aws_s3_bucket_cors_configuration",
                    !cfg.bucket.cors.is_empty(),
                ),
                ("aws_s3_bucket_logging", cfg.bucket.access_logging),
            ] {
                if present {
                    keep(kind, name.clone(), "a setting of the artifact bucket");
                }
            }
        }
        if cfg.bucket.access_logging {
            let name = format!("logs_{s}");
            keep("aws_s3_bucket", name.clone(), "the log bucket");
            for kind in [
                "aws_s3_bucket_public_access_block",
                "aws_s3_bucket_ownership_controls",
                "aws_s3_bucket_server_side_encryption_configuration",
                "aws_s3_bucket_lifecycle_configuration",
            ] {
                keep(kind, name.clone(), "a setting of the log bucket");
            }
        }
        if cfg.kms.is_some() {
            keep("aws_kms_key", format!("artifacts_{s}"), "the KMS key");
        }
    }
    out
}

/// The file names of the destroy configuration's main file.
pub const DESTROY_FILE: &str = "main.tf";

/// The configuration that destroys everything but what [`retained`] lists: the providers and
/// a `removed` block per kept resource, plus the module's `backend.tf` (the state stays where
/// it is). Written in place of the module.
pub fn destroy_configuration(cfg: &Config, module: &[RenderedFile]) -> Vec<RenderedFile> {
    let mut main = String::from(
        "# Written by `provision destroy`: applied, this destroys every resource of the state\n\
         # except those listed in `removed` blocks, which Terraform forgets and AWS keeps\n\
         # (as CloudFormation's DeletionPolicy: Retain).\n\n\
         terraform {\n  required_version = \">= 1.7.0\"\n  required_providers {\n    aws = {\n      source = \"hashicorp/aws\"\n    }\n  }\n}\n",
    );
    for region in &cfg.regions {
        main.push_str(&format!(
            "\nprovider \"aws\" {{\n  alias  = {}\n  region = {}\n}}\n",
            hcl_string(&region_suffix(region)),
            hcl_string(region)
        ));
    }
    for kept in retained(cfg) {
        main.push_str(&format!(
            "\n# {}: {}\nremoved {{\n  from = {}\n\n  lifecycle {{\n    destroy = false\n  }}\n}}\n",
            kept.region, kept.what, kept.address
        ));
    }
    let mut files = vec![RenderedFile {
        name: DESTROY_FILE.into(),
        content: main,
    }];
    files.extend(module.iter().filter(|f| f.name == "backend.tf").cloned());
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Templates, terraform};

    fn config(extra: &str) -> Config {
        crate::config::parse(
            std::path::Path::new("t.yaml"),
            &format!("version: 1\norganisation: acme\nregions: [eu-west-1, us-east-1]\n{extra}"),
        )
        .unwrap()
    }

    #[test]
    fn buckets_with_their_settings_and_keys_are_kept() {
        let cfg = config("kms: {alias: alias/a}\n");
        let kept = retained(&cfg);
        let addresses: Vec<&str> = kept.iter().map(|k| k.address.as_str()).collect();
        for a in [
            "aws_s3_bucket.artifacts_eu_west_1",
            "aws_s3_bucket_public_access_block.artifacts_us_east_1",
            "aws_s3_bucket_versioning.artifacts_eu_west_1",
            "aws_s3_bucket.logs_us_east_1",
            "aws_kms_key.artifacts_us_east_1",
        ] {
            assert!(addresses.contains(&a), "{a} in {addresses:?}");
        }
        for a in [
            "aws_s3_bucket_policy.artifacts_eu_west_1",
            "aws_kms_alias.artifacts_eu_west_1",
            "aws_ssm_parameter.bucket_name_eu_west_1",
            "aws_s3_bucket_cors_configuration.artifacts_eu_west_1",
        ] {
            assert!(!addresses.contains(&a), "{a} is not kept");
        }
        let cfg = config("bucket: {retain_on_delete: false, access_logging: false}\n");
        assert!(retained(&cfg).is_empty());
    }

    #[test]
    fn the_destroy_configuration_has_providers_removed_blocks_and_the_backend() {
        let cfg = config("terraform: {backend: {bucket: acme-state}}\n");
        let module = terraform(&cfg, &Templates::default()).unwrap();
        let files = destroy_configuration(&cfg, &module);
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["main.tf", "backend.tf"]);
        let main = &files[0].content;
        let body = hcl::parse(main).expect("HCL");
        let removed = body
            .blocks()
            .filter(|b| b.identifier() == "removed")
            .count();
        assert_eq!(removed, retained(&cfg).len());
        assert!(main.contains("alias  = \"us_east_1\""), "{main}");
        assert!(
            main.contains("from = aws_s3_bucket.artifacts_us_east_1"),
            "{main}"
        );
        assert!(main.contains("destroy = false"), "{main}");
        assert!(!main.contains("resource \""), "{main}");
    }
}
