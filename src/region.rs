//! AWS region names, checked offline, and the partition each belongs to. The one place
//! `provision` decides whether a region name is usable: the configuration's `regions`,
//! `--region`, `AWS_REGION`, `STARTIFACT_REGIONS` and the regions of the organisation
//! configuration all go through [`check`]; ARNs and URL suffixes through [`partition`].
//!
//! A region launched after this build must work, so the list of known regions only serves to
//! catch typos: a name of the shape AWS gives regions is accepted, and one that is not a known
//! region gets a warning naming the nearest known one (`eu-wset-1`: did you mean eu-west-1?).
//! Only a name that cannot be a region is refused.
//!
//! The regions and partitions are those of the AWS SDK for Rust's endpoint partition data
//! (`partitions` in the `endpoint_lib` of aws-sdk-s3 1.157, the version this crate builds
//! with): partition ids, their region patterns and DNS suffixes.

/// Every region the AWS SDK's partition data lists (as of aws-sdk-s3 1.157), sorted.
pub const KNOWN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-isoe-west-1",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eusc-de-east-1",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "us-isob-west-1",
    "us-isof-east-1",
    "us-isof-south-1",
    "us-west-1",
    "us-west-2",
];

/// An AWS partition: its id (the second field of an ARN) and its DNS suffix
/// (`AWS::URLSuffix`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub id: &'static str,
    pub dns_suffix: &'static str,
}

/// The partitions other than `aws`, by the prefix their region names start with, as the SDK's
/// `regionRegex`es say (`eusc-` widened from the SDK's `eusc-de-`, for the next countries).
const PARTITIONS: &[(&str, Partition)] = &[
    ("us-gov-", partition("aws-us-gov", "amazonaws.com")),
    ("us-iso-", partition("aws-iso", "c2s.ic.gov")),
    ("us-isob-", partition("aws-iso-b", "sc2s.sgov.gov")),
    ("us-isof-", partition("aws-iso-f", "csp.hci.ic.gov")),
    ("eu-isoe-", partition("aws-iso-e", "cloud.adc-e.uk")),
    ("cn-", partition("aws-cn", "amazonaws.com.cn")),
    ("eusc-", partition("aws-eusc", "amazonaws.eu")),
];

/// The standard partition: every region no other partition claims (the SDK's default too).
const AWS: Partition = partition("aws", "amazonaws.com");

const fn partition(id: &'static str, dns_suffix: &'static str) -> Partition {
    Partition { id, dns_suffix }
}

/// The partition `region` belongs to, derived from its name.
pub fn partition_of(region: &str) -> Partition {
    PARTITIONS
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or(AWS, |(_, p)| *p)
}

/// A well-formed region name, known to this build or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    Known,
    /// Not in [`KNOWN_REGIONS`]: a region launched since, or a typo.
    Unknown {
        nearest: &'static str,
        /// The nearest known region is a likely typo's target (one edit away, a swap of two
        /// neighbouring letters included).
        close: bool,
    },
}

impl Checked {
    /// The warning to show for `name`, when it is not a known region.
    pub fn warning(&self, name: &str) -> Option<String> {
        match self {
            Checked::Known => None,
            Checked::Unknown { nearest, close } => Some(if *close {
                format!(
                    "`{name}` is not a region this build of provision knows: did you mean \
                     {nearest}? (used as given, in case AWS launched it since)"
                )
            } else {
                format!(
                    "`{name}` is not a region this build of provision knows (the nearest is \
                     {nearest}); used as given, in case AWS launched it since"
                )
            }),
        }
    }
}

/// Checks a region name: `Err` with the reason when it cannot be a region, else whether it is
/// known. The shape: lowercase words joined by hyphens, two to four of them before a number
/// (`eu-west-1`, `us-gov-west-1`, `eusc-de-east-1`), at most 32 characters.
pub fn check(name: &str) -> Result<Checked, String> {
    if let Some(problem) = malformed(name) {
        let hint = suggestion(name)
            .map(|s| format!("; did you mean {s}?"))
            .unwrap_or_else(|| " (e.g. eu-west-1)".into());
        return Err(format!("`{name}` is not a region name: {problem}{hint}"));
    }
    if KNOWN_REGIONS.contains(&name) {
        return Ok(Checked::Known);
    }
    let (nearest, distance) = KNOWN_REGIONS
        .iter()
        .map(|known| (*known, edit_distance(name, known)))
        .min_by_key(|(_, d)| *d)
        .unwrap_or(("us-east-1", usize::MAX));
    Ok(Checked::Unknown {
        nearest,
        close: distance <= 1,
    })
}

/// Why `name` does not have a region's shape, if it does not.
fn malformed(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.len() > 32 {
        return Some("a region name has at most 32 characters");
    }
    if name
        .chars()
        .any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
    {
        return Some("only lowercase letters, digits and hyphens are allowed");
    }
    let parts: Vec<&str> = name.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return Some("it is empty");
    };
    let is_number =
        !number.is_empty() && number.len() <= 2 && number.chars().all(|c| c.is_ascii_digit());
    if !is_number {
        return Some("a region name ends with a one- or two-digit number (`-1`)");
    }
    if !(2..=4).contains(&words.len())
        || words
            .iter()
            .any(|w| w.is_empty() || !w.chars().all(|c| c.is_ascii_lowercase()))
    {
        return Some(
            "a region name is two to four lowercase words and a number, joined by hyphens",
        );
    }
    None
}

/// A known region a malformed name was probably meant to be (`EU-WEST-1`, `eu_west_1`).
fn suggestion(name: &str) -> Option<&'static str> {
    let cleaned: String = name
        .trim()
        .chars()
        .map(|c| {
            if c == '_' || c == ' ' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    KNOWN_REGIONS.iter().copied().find(|r| *r == cleaned)
}

/// Edit distance with adjacent transpositions (optimal string alignment): `eu-wset-1` is one
/// edit from `eu-west-1`.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_regions_are_accepted_silently() {
        for r in [
            "eu-west-1",
            "us-gov-west-1",
            "eusc-de-east-1",
            "cn-north-1",
            "us-isob-east-1",
        ] {
            assert_eq!(check(r), Ok(Checked::Known), "{r}");
        }
        assert!(KNOWN_REGIONS.windows(2).all(|w| w[0] < w[1]), "sorted");
    }

    #[test]
    fn a_region_launched_after_the_build_is_accepted_with_the_nearest_named() {
        let checked = check("eusc-de-west-1").unwrap();
        assert_eq!(
            checked,
            Checked::Unknown {
                nearest: "eusc-de-east-1",
                close: false
            }
        );
        let warning = checked.warning("eusc-de-west-1").unwrap();
        assert!(
            warning.contains("the nearest is eusc-de-east-1"),
            "{warning}"
        );
        assert!(check("ap-southeast-12").is_ok());
        assert!(check("nz-north-1").is_ok());
    }

    #[test]
    fn a_typo_is_accepted_with_a_did_you_mean() {
        let checked = check("eu-wset-1").unwrap();
        assert_eq!(
            checked,
            Checked::Unknown {
                nearest: "eu-west-1",
                close: true
            }
        );
        assert!(
            checked
                .warning("eu-wset-1")
                .unwrap()
                .contains("did you mean eu-west-1?")
        );
        assert_eq!(edit_distance("eu-wset-1", "eu-west-1"), 1);
        assert_eq!(edit_distance("eu-west-4", "eu-west-3"), 1);
    }

    #[test]
    fn malformed_names_are_refused_with_the_reason() {
        for (bad, why) in [
            ("", "empty"),
            ("EU-WEST-1", "did you mean eu-west-1?"),
            ("eu_west_1", "did you mean eu-west-1?"),
            ("eu west 1", "did you mean eu-west-1?"),
            ("eu-west", "ends with a one- or two-digit number"),
            ("eu-west-", "ends with a one- or two-digit number"),
            ("euwest1", "ends with a one- or two-digit number"),
            ("west-1", "two to four lowercase words"),
            ("eu--west-1", "two to four lowercase words"),
            ("eu-west1-1", "two to four lowercase words"),
            ("eu-west-123", "ends with a one- or two-digit number"),
            ("https://x", "only lowercase letters"),
            ("a-b-c-d-e-1", "two to four"),
            ("aws-global", "ends with a one- or two-digit number"),
            (&"a".repeat(40), "at most 32"),
        ] {
            let err = check(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn partitions_come_from_the_name() {
        let id = |r| partition_of(r).id;
        assert_eq!(id("eu-west-1"), "aws");
        assert_eq!(id("nz-north-1"), "aws");
        assert_eq!(id("cn-north-1"), "aws-cn");
        assert_eq!(id("us-gov-west-1"), "aws-us-gov");
        assert_eq!(id("us-iso-east-1"), "aws-iso");
        assert_eq!(id("us-isob-east-1"), "aws-iso-b");
        assert_eq!(id("us-isof-south-1"), "aws-iso-f");
        assert_eq!(id("eu-isoe-west-1"), "aws-iso-e");
        assert_eq!(id("eusc-de-east-1"), "aws-eusc");
        assert_eq!(id("eusc-fr-south-1"), "aws-eusc");
        assert_eq!(partition_of("eusc-de-east-1").dns_suffix, "amazonaws.eu");
        assert_eq!(
            partition_of("cn-northwest-1").dns_suffix,
            "amazonaws.com.cn"
        );
        assert_eq!(partition_of("us-east-2").dns_suffix, "amazonaws.com");
        for r in KNOWN_REGIONS {
            assert!(check(r).is_ok(), "{r}");
        }
    }
}
