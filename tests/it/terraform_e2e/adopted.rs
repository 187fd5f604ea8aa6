//! Hand-made buckets adopted by the Terraform engine (`adopted.buckets`), folded into the
//! engine's test (`engine.rs`) so that the import costs no apply of its own: buckets and
//! bucket-name parameters made by hand in both regions (`Storage::create`), two versions staged
//! into them with `provision stage`, then the engine's first plan imports them, and after its
//! apply every object is still there byte for byte, the bucket hardened, and `download` works.

use crate::support::moto_s3;
use crate::support::storage::{Storage, block_on, random_file, sha256_file};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The statement of the hand-made bucket policy (in the first region).
const HAND_MADE_SID: &str = "HandMadeRead";

/// The hand-made storage, what was staged into it, and every object as it was before.
pub struct HandMade {
    pub storage: Storage,
    /// (version, the file staged).
    pub staged: Vec<(String, PathBuf)>,
    /// region → key → bytes, before the engine touched anything.
    pub objects: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    /// Bucket policies set aside while objects are read (see [`HandMade::check_adopted`]).
    policies: BTreeMap<String, String>,
    _files: tempfile::TempDir,
}

impl HandMade {
    /// Buckets and parameters made by hand in each region (`(region, emulator URL)`), the
    /// organisation configuration written by `setup`, and two versions staged.
    pub fn create(endpoints: &[(&str, String)]) -> HandMade {
        let started = std::time::Instant::now();
        let storage = Storage::create(
            endpoints
                .iter()
                .map(|(r, url)| (r.to_string(), url.clone()))
                .collect(),
            "artifacts/",
        );
        storage.setup();
        let files = tempfile::tempdir().expect("temp dir");
        let mut staged = Vec::new();
        for (version, size, seed) in [("1.0.0", 2000, 7), ("1.1.0", 300_000, 8)] {
            let file = random_file(files.path(), &format!("app-{version}.bin"), size, seed);
            let (code, out, err) = crate::support::output(
                storage
                    .provision()
                    .args(["stage", "app", version])
                    .arg(&file),
            );
            assert_eq!(code, 0, "stage {version}\n{out}\n{err}");
            staged.push((version.to_string(), file));
        }
        let objects = storage
            .regions
            .iter()
            .map(|r| (r.clone(), everything(&storage, r)))
            .collect();
        // One bucket has a policy of its own, which provision's replaces: imported, so that
        // the plan lists the statement it loses.
        let region = &storage.regions[0];
        let bucket = storage.bucket(region);
        let s3 = block_on(moto_s3::client(&storage.endpoints[region], region));
        block_on(
            s3.put_bucket_policy()
                .bucket(&bucket)
                .policy(format!(
                    r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{HAND_MADE_SID}","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::123456789012:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
                ))
                .send(),
        )
        .expect("PutBucketPolicy");
        eprintln!(
            "terraform engine: hand-made storage with two versions staged in {:.1?}",
            started.elapsed()
        );
        HandMade {
            storage,
            staged,
            objects,
            policies: BTreeMap::new(),
            _files: files,
        }
    }

    /// The configuration's lines for this storage: its parameters and key prefix, and its
    /// buckets under `adopted.buckets`. `bucket_extra` goes into the `bucket:` section.
    pub fn config(&self, bucket_extra: &str) -> String {
        let st = &self.storage;
        let mut y = format!(
            "parameters:\n  configuration: {}\n  bucket_name: {}\n  artifact_prefix: \"{}\"\nbucket:\n  key_prefix: \"{}\"\n{bucket_extra}adopted:\n  buckets:\n",
            st.parameter, st.bucket_param, st.artifact_prefix, st.key_prefix
        );
        for region in &st.regions {
            y.push_str(&format!("    {region}: {}\n", st.bucket(region)));
        }
        y
    }

    /// The engine's first plan: each bucket and its parameter imported (`<=`, named), the
    /// hand-made policy imported and its statement listed as removed, nothing replaced or
    /// removed, every region created.
    pub fn check_first_plan(&self, planned: &str) {
        let st = &self.storage;
        let imported = |line: &str| {
            assert!(
                planned
                    .lines()
                    .any(|l| l.trim_start().starts_with("<=") && l.contains(line)),
                "{line}:\n{planned}"
            );
        };
        for region in &st.regions {
            let suffix = region.replace('-', "_");
            let bucket = st.bucket(region);
            imported(&format!(
                "aws_s3_bucket.artifacts_{suffix}  (import: bucket {bucket}"
            ));
            imported(&format!(
                "aws_ssm_parameter.bucket_name_{suffix}  (import: parameter {}",
                st.bucket_param
            ));
        }
        let first = &st.regions[0];
        imported(&format!(
            "aws_s3_bucket_policy.artifacts_{}  (import: policy of bucket {}",
            first.replace('-', "_"),
            st.bucket(first)
        ));
        assert!(
            planned.contains(&format!("- [{HAND_MADE_SID}] Allow s3:GetObject")),
            "{planned}"
        );
        let regions = st.regions.len();
        assert!(
            planned.contains(&format!(
                "({regions} to create); resources: {} to import, ",
                2 * regions + 1
            )) && planned.contains(" 0 to replace, 0 to remove;"),
            "{planned}"
        );
    }

    /// After the engine's apply: the same bucket, versioned, encrypted, public-access-blocked
    /// and TLS-only, whose parameter still names it, and which holds every object as it was.
    ///
    /// moto treats a bucket-policy statement whose condition it cannot evaluate
    /// (`aws:SecureTransport`) as a deny for every object request (docs/testing.md): once the
    /// policy is shown to refuse a plain-HTTP read, it is set aside for the reads and the
    /// downloads, and put back byte for byte by [`HandMade::restore_policies`].
    pub fn check_adopted(&mut self, region: &str, bucket_output: &str) {
        let st = &self.storage;
        assert_eq!(
            bucket_output,
            st.bucket(region),
            "{region}: the same bucket"
        );
        let s3 = block_on(moto_s3::client(&st.endpoints[region], region));
        let bucket = st.bucket(region);
        let versioning =
            block_on(s3.get_bucket_versioning().bucket(&bucket).send()).expect("versioning");
        assert_eq!(
            versioning.status().map(|s| s.as_str()),
            Some("Enabled"),
            "{region}"
        );
        let encryption =
            block_on(s3.get_bucket_encryption().bucket(&bucket).send()).expect("encryption");
        let algorithm = encryption
            .server_side_encryption_configuration()
            .and_then(|c| c.rules().first())
            .and_then(|r| r.apply_server_side_encryption_by_default())
            .map(|d| d.sse_algorithm().as_str().to_string());
        assert_eq!(algorithm.as_deref(), Some("aws:kms"), "{region}");
        let block = block_on(s3.get_public_access_block().bucket(&bucket).send())
            .expect("public access block");
        let block = block
            .public_access_block_configuration()
            .expect("configuration");
        assert_eq!(
            (
                block.block_public_acls(),
                block.ignore_public_acls(),
                block.block_public_policy(),
                block.restrict_public_buckets()
            ),
            (Some(true), Some(true), Some(true), Some(true)),
            "{region}"
        );
        assert_eq!(
            st.parameter_value(region, &st.bucket_param).as_deref(),
            Some(bucket.as_str()),
            "{region}: the parameter names the bucket"
        );
        let policy = block_on(s3.get_bucket_policy().bucket(&bucket).send()).expect("policy");
        let policy = policy.policy().unwrap_or_default().to_string();
        assert!(
            policy.contains("aws:SecureTransport") && policy.contains("Deny"),
            "{region}: TLS-only: {policy}"
        );
        let key = self.objects[region].keys().next().expect("an object");
        let denied = block_on(s3.get_object().bucket(&bucket).key(key).send());
        assert!(denied.is_err(), "{region}: a plain-HTTP read is refused");
        block_on(s3.delete_bucket_policy().bucket(&bucket).send()).expect("DeleteBucketPolicy");
        self.policies.insert(region.to_string(), policy);
        assert_eq!(
            everything(st, region),
            self.objects[region],
            "{region}: every object intact"
        );
    }

    /// Puts back the bucket policies set aside by [`HandMade::check_adopted`], as they were.
    pub fn restore_policies(&mut self) {
        for (region, policy) in std::mem::take(&mut self.policies) {
            let st = &self.storage;
            let s3 = block_on(moto_s3::client(&st.endpoints[&region], &region));
            block_on(
                s3.put_bucket_policy()
                    .bucket(st.bucket(&region))
                    .policy(policy)
                    .send(),
            )
            .expect("PutBucketPolicy");
        }
    }

    /// `download` of every staged version returns its bytes.
    pub fn check_downloads(&self) {
        let back = tempfile::tempdir().expect("temp dir");
        for (version, file) in &self.staged {
            let out = back.path().join(format!("{version}.out"));
            let (code, stdout, stderr) = crate::support::output(
                self.storage
                    .provision()
                    .args(["download", "app", version])
                    .arg(&out),
            );
            assert_eq!(code, 0, "download {version}\n{stdout}\n{stderr}");
            assert_eq!(sha256_file(&out), sha256_file(file), "{version}");
        }
    }
}

/// Every object of the region's bucket, key → bytes.
fn everything(st: &Storage, region: &str) -> BTreeMap<String, Vec<u8>> {
    let keys = st.keys(region);
    assert!(!keys.is_empty(), "{region}: objects staged");
    keys.into_iter()
        .map(|k| {
            let bytes = st
                .object(region, &k)
                .unwrap_or_else(|| panic!("{region}: {k} readable"));
            (k, bytes)
        })
        .collect()
}
