//! What `destroy` keeps, checked against what still exists, for every engine: a retained
//! bucket that S3 says does not exist (deleted by hand) is not listed as retained, since
//! deleting the stack, the state's resources or the stack instance keeps nothing of it.

use crate::aws::{ErrorKind, SdkResultExt};
use crate::deploy::model::StackResource;

/// A bucket in either engine's spelling (CloudFormation, Terraform).
fn is_bucket(resource_type: &str) -> bool {
    matches!(resource_type, "AWS::S3::Bucket" | "aws_s3_bucket")
}

/// Marks a retained bucket that S3 says does not exist (`HeadBucket`: 404) as not retained:
/// the stack (or state) still lists it, but destroying keeps nothing of it. Any other answer
/// (denied, unreachable) keeps it listed: saying a bucket is kept errs on the safe side.
pub async fn forget_missing_buckets(s3: &aws_sdk_s3::Client, resources: &mut [StackResource]) {
    let buckets = resources
        .iter_mut()
        .filter(|r| r.retained && is_bucket(&r.resource_type) && !r.physical_id.is_empty());
    for r in buckets {
        let head = s3
            .head_bucket()
            .bucket(&r.physical_id)
            .send()
            .await
            .classify("s3:HeadBucket", s3);
        if matches!(head, Err(e) if e.kind == ErrorKind::NotFound) {
            r.retained = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use aws_smithy_mocks::mock;

    fn resource(resource_type: &str, physical_id: &str) -> StackResource {
        StackResource {
            logical_id: format!("{resource_type}.{physical_id}"),
            resource_type: resource_type.into(),
            physical_id: physical_id.into(),
            retained: true,
        }
    }

    /// Both engines' spelling of a bucket is checked; a bucket gone (404) is no longer
    /// retained, one S3 will not describe (403) still is, and a key is never asked about.
    #[tokio::test]
    async fn a_bucket_s3_says_is_gone_is_not_retained_in_either_spelling() {
        let gone = mock!(aws_sdk_s3::Client::head_bucket)
            .match_requests(|r| r.bucket() != Some("denied"))
            .then_http_response(|| testing::response(404, ""));
        let denied = mock!(aws_sdk_s3::Client::head_bucket)
            .match_requests(|r| r.bucket() == Some("denied"))
            .then_http_response(|| testing::response(403, ""));
        let s3 = testing::clients(&[&gone, &denied]).s3("eu-west-1");
        let mut resources = vec![
            resource("aws_s3_bucket", "tf-artifacts"),
            resource("AWS::S3::Bucket", "cfn-artifacts"),
            resource("AWS::S3::Bucket", "denied"),
            resource("aws_kms_key", "1234abcd"),
        ];
        forget_missing_buckets(&s3, &mut resources).await;
        let retained: Vec<&str> = resources
            .iter()
            .filter(|r| r.retained)
            .map(|r| r.physical_id.as_str())
            .collect();
        assert_eq!(retained, ["denied", "1234abcd"]);
        assert_eq!((gone.num_calls(), denied.num_calls()), (2, 1));
    }
}
