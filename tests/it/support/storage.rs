//! Artifact storage on the emulator, built by the test itself through the SDK (what the
//! CloudFormation stack would create): a bucket and a bucket-name parameter per region, all
//! names unique to the test so that tests sharing one emulator never meet.

use super::{sdk_config, unique};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The regions of the staging tests, in configuration order (the first is the home region).
pub const REGIONS: [&str; 3] = ["eu-north-1", "eu-west-1", "us-east-1"];
pub const MIB: usize = 1024 * 1024;

/// A runtime for the SDK calls tests make themselves.
pub fn block_on<F: Future>(f: F) -> F::Output {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
    .block_on(f)
}

pub struct Storage {
    /// Region → emulator URL.
    pub endpoints: BTreeMap<String, String>,
    pub regions: Vec<String>,
    pub id: String,
    /// The organisation configuration parameter.
    pub parameter: String,
    pub bucket_param: String,
    pub artifact_prefix: String,
    pub key_prefix: String,
    /// Working directory with provision.yaml (its endpoints are the emulators').
    pub dir: tempfile::TempDir,
}

impl Storage {
    /// Buckets and bucket-name parameters in every region; `endpoints` maps each region to
    /// its emulator.
    pub fn create(endpoints: BTreeMap<String, String>, key_prefix: &str) -> Storage {
        let id = unique("st").to_lowercase();
        let regions: Vec<String> = endpoints.keys().cloned().collect();
        let storage = Storage {
            parameter: format!("/{id}/startifact"),
            bucket_param: format!("/{id}/bucket"),
            artifact_prefix: format!("/{id}/artifacts"),
            key_prefix: key_prefix.to_string(),
            regions,
            endpoints,
            id,
            dir: tempfile::tempdir().expect("temp dir"),
        };
        block_on(async {
            for region in &storage.regions {
                let s3 = storage.s3(region);
                let mut req = s3.create_bucket().bucket(storage.bucket(region));
                if region != "us-east-1" {
                    req = req.create_bucket_configuration(
                        aws_sdk_s3::types::CreateBucketConfiguration::builder()
                            .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                                region.as_str(),
                            ))
                            .build(),
                    );
                }
                req.send().await.expect("create bucket");
                storage
                    .ssm(region)
                    .put_parameter()
                    .name(&storage.bucket_param)
                    .value(storage.bucket(region))
                    .r#type(aws_sdk_ssm::types::ParameterType::String)
                    .overwrite(true)
                    .send()
                    .await
                    .expect("bucket-name parameter");
            }
        });
        std::fs::write(storage.config_path(), storage.config_yaml()).expect("write provision.yaml");
        storage
    }

    /// All regions on one emulator.
    pub fn on(url: &str, regions: &[&str], key_prefix: &str) -> Storage {
        Storage::create(
            regions
                .iter()
                .map(|r| (r.to_string(), url.to_string()))
                .collect(),
            key_prefix,
        )
    }

    /// [`REGIONS`] on the emulator shared by the test binary.
    pub fn shared(key_prefix: &str) -> Storage {
        Storage::on(&super::shared().url(), &REGIONS, key_prefix)
    }

    pub fn bucket(&self, region: &str) -> String {
        format!("{}-{region}", self.id)
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("provision.yaml")
    }

    pub fn config_yaml(&self) -> String {
        let mut y = format!(
            "version: 1\norganisation: acme\nregions: [{}]\nparameters:\n  configuration: {}\n  bucket_name: {}\n  artifact_prefix: {}\nbucket:\n  key_prefix: \"{}\"\nendpoints:\n",
            self.regions.join(", "),
            self.parameter,
            self.bucket_param,
            self.artifact_prefix,
            self.key_prefix
        );
        for (r, url) in &self.endpoints {
            y.push_str(&format!("  {r}: {url}\n"));
        }
        y
    }

    /// `provision` in the directory with provision.yaml (endpoints from the file).
    pub fn provision(&self) -> Command {
        super::provision(self.dir.path())
    }

    /// `provision` as a CI machine runs it: another directory, no configuration file, only
    /// credentials, `--endpoint-url`, a region and the configuration parameter's name.
    /// (All regions must share one emulator.)
    pub fn ci(&self, cwd: &Path) -> Command {
        let mut cmd = super::provision(cwd);
        let url = self.endpoints.values().next().expect("an endpoint").clone();
        cmd.env("AWS_ENDPOINT_URL", url)
            .env("AWS_REGION", &self.regions[0])
            .env("STARTIFACT_PARAMETER", &self.parameter);
        cmd
    }

    /// Runs `provision setup` and checks it succeeded.
    pub fn setup(&self) {
        let (code, out, err) = super::output(self.provision().arg("setup"));
        assert_eq!(code, 0, "setup failed\nstdout:\n{out}\nstderr:\n{err}");
    }

    pub fn key(&self, project: &str, version: &str) -> String {
        format!("{}{project}@{version}", self.key_prefix)
    }

    pub fn latest_param(&self, project: &str) -> String {
        format!("{}/{project}/latest", self.artifact_prefix)
    }

    /// An S3 client for checks. It leaves checksum validation to the test (which compares
    /// SHA-256 digests): moto reports a copied multipart object's composite checksum as if
    /// it were a full-object one.
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let conf = sdk_config(&self.endpoints[region], region);
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .response_checksum_validation(
                    aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
                )
                .build(),
        )
    }

    pub fn ssm(&self, region: &str) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&sdk_config(&self.endpoints[region], region))
    }

    /// The object's bytes, or `None` when it does not exist.
    pub fn object(&self, region: &str, key: &str) -> Option<Vec<u8>> {
        block_on(async {
            let s3 = self.s3(region);
            match s3
                .get_object()
                .bucket(self.bucket(region))
                .key(key)
                .send()
                .await
            {
                Ok(o) => Some(
                    o.body
                        .collect()
                        .await
                        .expect("object body")
                        .into_bytes()
                        .to_vec(),
                ),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => None,
                Err(e) => panic!("GetObject {key} in {region}: {e:?}"),
            }
        })
    }

    pub fn put_object(&self, region: &str, key: &str, body: &[u8]) {
        block_on(async {
            self.s3(region)
                .put_object()
                .bucket(self.bucket(region))
                .key(key)
                .body(body.to_vec().into())
                .send()
                .await
                .expect("PutObject");
        })
    }

    /// A parameter's value, or `None` when it does not exist.
    pub fn parameter_value(&self, region: &str, name: &str) -> Option<String> {
        block_on(async {
            match self.ssm(region).get_parameter().name(name).send().await {
                Ok(o) => o.parameter.and_then(|p| p.value),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_parameter_not_found()) =>
                {
                    None
                }
                Err(e) => panic!("GetParameter {name} in {region}: {e:?}"),
            }
        })
    }

    pub fn put_parameter(&self, region: &str, name: &str, value: &str) {
        block_on(async {
            self.ssm(region)
                .put_parameter()
                .name(name)
                .value(value)
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .overwrite(true)
                .send()
                .await
                .expect("PutParameter");
        })
    }

    pub fn delete_parameter(&self, region: &str, name: &str) {
        block_on(async {
            self.ssm(region)
                .delete_parameter()
                .name(name)
                .send()
                .await
                .expect("DeleteParameter");
        })
    }

    /// Multipart uploads in progress in a region's bucket.
    pub fn multipart_uploads(&self, region: &str) -> usize {
        block_on(async {
            let out = self
                .s3(region)
                .list_multipart_uploads()
                .bucket(self.bucket(region))
                .send()
                .await
                .expect("ListMultipartUploads");
            out.uploads().len()
        })
    }

    /// Keys in a region's bucket.
    pub fn keys(&self, region: &str) -> Vec<String> {
        block_on(async {
            let out = self
                .s3(region)
                .list_objects_v2()
                .bucket(self.bucket(region))
                .send()
                .await
                .expect("ListObjectsV2");
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(String::from))
                .collect()
        })
    }
}

/// What most staging tests start from: storage in [`REGIONS`] on the shared emulator,
/// `provision setup` done, and an empty working directory (a CI machine's: no provision.yaml).
pub fn set_up(key_prefix: &str) -> (Storage, tempfile::TempDir) {
    let st = Storage::shared(key_prefix);
    st.setup();
    (st, tempfile::tempdir().expect("temp dir"))
}

/// A file of `size` pseudo-random bytes (seeded, so reruns are reproducible).
pub fn random_file(dir: &Path, name: &str, size: usize, seed: u64) -> PathBuf {
    use std::io::Write;
    let path = dir.join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create file"));
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(buf.len());
        rng.fill(&mut buf[..n]);
        f.write_all(&buf[..n]).expect("write file");
        left -= n;
    }
    f.flush().expect("flush file");
    path
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

pub fn sha256_file(path: &Path) -> String {
    sha256_hex(&std::fs::read(path).expect("read file"))
}
