//! Placeholders in the policy documents, resolved in each output's dialect.
//!
//! The policy templates (`policies/*.json.hbs`) are written once, with placeholders such as
//! `arn:${Partition}:s3:::${Bucket}/*`. Each output resolves them its own way:
//! CloudFormation to `!Sub`/`!Ref`/`!GetAtt`, Terraform to interpolations of data sources and
//! resources, and `render --format policies` to concrete example values (so that policy
//! linters, which know no intrinsics, can read them).

use super::RenderError;
use super::helpers::{HCL_EXPRESSION, hcl_escape};
use serde_json::{Map, Value, json};

/// Every placeholder a policy template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "Partition",
    "AccountId",
    "Region",
    "UrlSuffix",
    "Bucket",
    "LogBucket",
    "KeyArn",
    "AllowedUserIds",
];

/// The account ID used for concrete (example) documents: the one AWS documentation uses.
pub const EXAMPLE_ACCOUNT_ID: &str = "123456789012";

/// How one output resolves placeholders: its dialect.
pub enum Dialect<'a> {
    /// `!Sub` with pseudo parameters and the stack's logical IDs.
    CloudFormation,
    /// Terraform interpolations; `resource_suffix` names the region's resources
    /// (`aws_s3_bucket.artifacts_eu_west_1`).
    Terraform {
        region: &'a str,
        resource_suffix: &'a str,
    },
    /// Concrete values for one region (examples for linters, or a deployment's real names).
    Concrete {
        region: &'a str,
        partition: &'a str,
        account_id: &'a str,
        bucket: &'a str,
        log_bucket: &'a str,
        /// The key's ARN; None: an example ARN in the account.
        key_arn: Option<&'a str>,
        allowed_user_ids: &'a [String],
    },
}

/// A piece of a string: literal text or a placeholder name.
#[derive(Debug, PartialEq)]
enum Piece<'s> {
    Text(&'s str),
    Placeholder(&'s str),
}

/// Splits `s` at `${Name}` placeholders. An unknown name is an error naming it.
fn pieces(s: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            return Err(format!("`{s}` has an unclosed `${{`"));
        };
        let name = &rest[start + 2..start + 2 + len];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder `${{{name}}}` in `{s}`; the placeholders are {}",
                PLACEHOLDERS
                    .iter()
                    .map(|p| format!("${{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        out.push(Piece::Placeholder(name));
        rest = &rest[start + 3 + len..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// Resolves every placeholder in `doc` for `dialect`.
pub fn resolve(doc: &Value, dialect: &Dialect<'_>) -> Result<Value, String> {
    Ok(match doc {
        Value::String(s) => resolve_string(s, dialect)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolve(v, dialect))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if k.contains("${") {
                    return Err(format!("placeholders are not allowed in keys (`{k}`)"));
                }
                out.insert(k.clone(), resolve(v, dialect)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// The configured bucket name (`bucket.name`, placeholders and all) resolved for `dialect`,
/// or null when the name is left to CloudFormation/Terraform.
pub fn bucket_name(name: Option<&str>, dialect: &Dialect<'_>) -> Result<Value, RenderError> {
    let Some(name) = name else {
        return Ok(Value::Null);
    };
    resolve(&json!(name), dialect).map_err(|message| RenderError::Placeholder {
        template: "bucket.name (provision.yaml)".into(),
        overridden: true,
        message,
    })
}

fn resolve_string(s: &str, dialect: &Dialect<'_>) -> Result<Value, String> {
    let parts = pieces(s)?;
    if !parts.iter().any(|p| matches!(p, Piece::Placeholder(_))) {
        return Ok(Value::String(s.to_string()));
    }
    if parts.len() > 1 && parts.contains(&Piece::Placeholder("AllowedUserIds")) {
        return Err(format!(
            "`${{AllowedUserIds}}` is a list: it must be the whole value, not part of `{s}`"
        ));
    }
    match dialect {
        Dialect::CloudFormation => Ok(cloudformation(&parts)),
        Dialect::Terraform {
            region,
            resource_suffix,
        } => Ok(terraform(&parts, region, resource_suffix)),
        Dialect::Concrete {
            region,
            partition,
            account_id,
            bucket,
            log_bucket,
            key_arn,
            allowed_user_ids,
        } => {
            if parts == [Piece::Placeholder("AllowedUserIds")] {
                return Ok(json!(allowed_user_ids));
            }
            let url_suffix = crate::region::partition_of(region).dns_suffix;
            let key_arn = key_arn.map(str::to_string).unwrap_or_else(|| {
                format!(
                    "arn:{partition}:kms:{region}:{account_id}:key/00000000-0000-0000-0000-000000000000"
                )
            });
            let mut out = String::new();
            for p in &parts {
                out.push_str(match p {
                    Piece::Text(t) => t,
                    Piece::Placeholder("Partition") => partition,
                    Piece::Placeholder("AccountId") => account_id,
                    Piece::Placeholder("Region") => region,
                    Piece::Placeholder("UrlSuffix") => url_suffix,
                    Piece::Placeholder("Bucket") => bucket,
                    Piece::Placeholder("LogBucket") => log_bucket,
                    Piece::Placeholder("KeyArn") => &key_arn,
                    // AllowedUserIds inside a longer string was refused above.
                    Piece::Placeholder(_) => "",
                });
            }
            Ok(Value::String(out))
        }
    }
}

fn cloudformation(parts: &[Piece<'_>]) -> Value {
    if let [Piece::Placeholder(name)] = parts {
        return match *name {
            "Bucket" => json!({"Ref": "Bucket"}),
            "LogBucket" => json!({"Ref": "LogBucket"}),
            "AllowedUserIds" => json!({"Ref": super::PRINCIPALS_PARAMETER}),
            "KeyArn" => json!({"Fn::GetAtt": ["Key", "Arn"]}),
            "Partition" => json!({"Ref": "AWS::Partition"}),
            "AccountId" => json!({"Ref": "AWS::AccountId"}),
            "Region" => json!({"Ref": "AWS::Region"}),
            _ => json!({"Ref": "AWS::URLSuffix"}),
        };
    }
    let mut sub = String::new();
    for p in parts {
        match p {
            // A literal `${` in text would be read as a variable by Fn::Sub: `${!` escapes it.
            Piece::Text(t) => sub.push_str(&t.replace("${", "${!")),
            Piece::Placeholder(name) => sub.push_str(match *name {
                "Partition" => "${AWS::Partition}",
                "AccountId" => "${AWS::AccountId}",
                "Region" => "${AWS::Region}",
                "UrlSuffix" => "${AWS::URLSuffix}",
                "Bucket" => "${Bucket}",
                "LogBucket" => "${LogBucket}",
                _ => "${Key.Arn}",
            }),
        }
    }
    json!({ "Fn::Sub": sub })
}

fn terraform(parts: &[Piece<'_>], region: &str, suffix: &str) -> Value {
    let expression = |name: &str| -> String {
        match name {
            "Partition" => "data.aws_partition.current.partition".into(),
            "AccountId" => "data.aws_caller_identity.current.account_id".into(),
            "UrlSuffix" => "data.aws_partition.current.dns_suffix".into(),
            "Bucket" => format!("aws_s3_bucket.artifacts_{suffix}.id"),
            "LogBucket" => format!("aws_s3_bucket.logs_{suffix}.id"),
            "KeyArn" => format!("aws_kms_key.artifacts_{suffix}.arn"),
            "AllowedUserIds" => "local.allowed_user_ids".into(),
            // Region: resolved to text below.
            _ => String::new(),
        }
    };
    if let [Piece::Placeholder(name)] = parts
        && *name != "Region"
    {
        return json!({ HCL_EXPRESSION: expression(name) });
    }
    let mut template = String::from("\"");
    for p in parts {
        match p {
            Piece::Text(t) => template.push_str(&hcl_escape(t)),
            Piece::Placeholder("Region") => template.push_str(&hcl_escape(region)),
            Piece::Placeholder(name) => {
                template.push_str("${");
                template.push_str(&expression(name));
                template.push('}');
            }
        }
    }
    template.push('"');
    json!({ HCL_EXPRESSION: template })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_partial_placeholders_are_refused() {
        let doc = json!({"Resource": "arn:${Partiton}:s3:::x"});
        let err = resolve(&doc, &Dialect::CloudFormation).unwrap_err();
        assert!(
            err.contains("${Partiton}") && err.contains("${Partition}"),
            "{err}"
        );
        let err = resolve(&json!("x-${AllowedUserIds}"), &Dialect::CloudFormation).unwrap_err();
        assert!(err.contains("whole value"), "{err}");
        assert!(resolve(&json!("${Bucket"), &Dialect::CloudFormation).is_err());
    }

    #[test]
    fn cloudformation_uses_sub_ref_and_getatt() {
        let doc = json!([
            "arn:${Partition}:s3:::${Bucket}/*",
            "${Bucket}",
            "${KeyArn}",
            "${AllowedUserIds}",
            "plain",
            "s3.${Region}.${UrlSuffix}"
        ]);
        let out = resolve(&doc, &Dialect::CloudFormation).unwrap();
        assert_eq!(
            out,
            json!([
                {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/*"},
                {"Ref": "Bucket"},
                {"Fn::GetAtt": ["Key", "Arn"]},
                {"Ref": "AllowedUserIds"},
                "plain",
                {"Fn::Sub": "s3.${AWS::Region}.${AWS::URLSuffix}"},
            ])
        );
    }

    #[test]
    fn terraform_interpolates_resources_of_the_region() {
        let dialect = Dialect::Terraform {
            region: "eu-west-1",
            resource_suffix: "eu_west_1",
        };
        let out = resolve(
            &json!([
                "arn:${Partition}:s3:::${Bucket}/*",
                "${AllowedUserIds}",
                "s3.${Region}.amazonaws.com"
            ]),
            &dialect,
        )
        .unwrap();
        assert_eq!(
            out,
            json!([
                {"$hcl": "\"arn:${data.aws_partition.current.partition}:s3:::${aws_s3_bucket.artifacts_eu_west_1.id}/*\""},
                {"$hcl": "local.allowed_user_ids"},
                {"$hcl": "\"s3.eu-west-1.amazonaws.com\""},
            ])
        );
    }

    #[test]
    fn concrete_values_for_linters() {
        let ids = vec!["123456789012".to_string(), "AIDAEXAMPLE".to_string()];
        let dialect = Dialect::Concrete {
            region: "eu-north-1",
            partition: "aws",
            account_id: EXAMPLE_ACCOUNT_ID,
            bucket: "acme-eu-north-1",
            log_bucket: "acme-logs",
            key_arn: None,
            allowed_user_ids: &ids,
        };
        let out = resolve(
            &json!([
                "arn:${Partition}:s3:::${Bucket}/*",
                "${KeyArn}",
                "${AllowedUserIds}",
                "${AccountId}"
            ]),
            &dialect,
        )
        .unwrap();
        assert_eq!(
            out,
            json!([
                "arn:aws:s3:::acme-eu-north-1/*",
                "arn:aws:kms:eu-north-1:123456789012:key/00000000-0000-0000-0000-000000000000",
                ["123456789012", "AIDAEXAMPLE"],
                "123456789012",
            ])
        );
    }
}
