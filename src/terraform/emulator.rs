//! Endpoint overrides (an emulator, a VPC endpoint) without touching the rendered module.
//!
//! The AWS provider reads `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_<SERVICE>`) like every AWS
//! SDK, which is all one endpoint for every region needs: nothing is written. Endpoints that
//! differ per region (`endpoints:` in provision.yaml, one emulator per region) cannot be said
//! in the environment, so they go into `provision_endpoints_override.tf` beside the module: a
//! Terraform override file, merged into the provider block of the same alias. The rendered
//! module itself never names an endpoint.

use crate::config::Config;
use crate::render::{RenderedFile, hcl_string, region_suffix};

/// The override file's name (Terraform merges `*_override.tf` into the matching blocks).
pub const OVERRIDE_FILE: &str = "provision_endpoints_override.tf";

/// The services the module calls.
const SERVICES: &[&str] = &["iam", "kms", "s3", "ssm", "sts"];

/// The override file for the configuration's per-region endpoints, or None without any.
pub fn endpoint_override(cfg: &Config) -> Option<RenderedFile> {
    if cfg.endpoints.is_empty() {
        return None;
    }
    let mut text = String::from(
        "# Written by provision from `endpoints` in provision.yaml: each region's provider calls\n\
         # its endpoint. Terraform merges this file into the provider blocks of main.tf.\n",
    );
    for region in &cfg.regions {
        let Some(url) = cfg.endpoint(region) else {
            continue;
        };
        let width = SERVICES.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut endpoints = String::new();
        for service in SERVICES {
            endpoints.push_str(&format!("    {service:width$} = {}\n", hcl_string(url)));
        }
        // An IP or localhost endpoint has no bucket subdomains: S3 must be path-style.
        let path_style = if is_local(url) {
            "  s3_use_path_style = true\n"
        } else {
            ""
        };
        text.push_str(&format!(
            "\nprovider \"aws\" {{\n  alias = {}\n{path_style}  endpoints {{\n{endpoints}  }}\n}}\n",
            hcl_string(&region_suffix(region))
        ));
    }
    Some(RenderedFile {
        name: OVERRIDE_FILE.into(),
        content: text,
    })
}

fn is_local(url: &str) -> bool {
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or(url)
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_region_endpoints_become_provider_overrides() {
        let cfg = crate::config::parse(
            std::path::Path::new("t.yaml"),
            "version: 1\norganisation: acme\nregions: [eu-west-1, us-east-1]\nendpoints:\n  eu-west-1: http://127.0.0.1:5001\n  us-east-1: https://vpce.example.com\n",
        )
        .unwrap();
        let file = endpoint_override(&cfg).unwrap();
        assert_eq!(file.name, "provision_endpoints_override.tf");
        let body = hcl::parse(&file.content).expect("HCL");
        assert_eq!(body.blocks().count(), 2);
        assert!(
            file.content
                .contains("alias = \"eu_west_1\"\n  s3_use_path_style = true"),
            "{}",
            file.content
        );
        assert!(
            file.content.contains("s3  = \"http://127.0.0.1:5001\""),
            "{}",
            file.content
        );
        assert!(
            !file
                .content
                .contains("alias = \"us_east_1\"\n  s3_use_path_style"),
            "{}",
            file.content
        );
        let plain = crate::config::parse(
            std::path::Path::new("t.yaml"),
            "version: 1\norganisation: acme\nregions: [eu-west-1]\n",
        )
        .unwrap();
        assert_eq!(endpoint_override(&plain), None);
    }
}
