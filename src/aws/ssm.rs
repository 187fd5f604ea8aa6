//! The SSM parameters every domain reads and writes: the organisation configuration, the
//! bucket-name parameters and the `latest` pointers (all String parameters).

use super::error::{AwsError, SdkResultExt};

/// A String parameter's value; `None` when it does not exist.
pub async fn get_parameter(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
) -> Result<Option<String>, AwsError> {
    match ssm
        .get_parameter()
        .name(name)
        .send()
        .await
        .classify("ssm:GetParameter", ssm)
    {
        Ok(out) => Ok(out.parameter.and_then(|p| p.value)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes a String parameter, replacing its value.
pub async fn put_parameter(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
    value: &str,
) -> Result<(), AwsError> {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .map(|_| ())
        .classify("ssm:PutParameter", ssm)
}
