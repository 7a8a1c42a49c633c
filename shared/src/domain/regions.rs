//! Where the Bedrock services exist: the control plane's regions (what most families'
//! `REGIONS=all-bedrock` expands to) and lists several families share (Data Automation). A
//! family whose API has regions of its own lists them in its `Family` entry.
//!
//! Sources (AWS documentation, read November 2026; NEEDS PERIODIC REVIEW, Bedrock adds regions
//! often): "Amazon Bedrock endpoints and quotas" (general/latest/gr/bedrock.html) and "Feature
//! support by AWS Region in Amazon Bedrock" (bedrock/latest/userguide/features-regions.html) for
//! the control plane; "Supported Regions and models for batch inference"
//! (batch-inference-supported.html) for batch inference; the Bedrock Data Automation and
//! Nova Reel (async invoke) pages for those two. Each `Family` names its list (`Family::regions`). A region listed here where an account has not enabled it (opt-in regions)
//! fails as one scope of the run, reported and not fatal.

/// Regions with the Bedrock control plane (`bedrock`, `bedrock-agent`) in the `aws` and
/// `aws-us-gov` partitions.
pub const BEDROCK: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ca-central-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
];

/// Bedrock Data Automation (`InvokeDataAutomationAsync`).
pub const DATA_AUTOMATION: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "us-gov-west-1",
    "ap-south-1",
    "ap-southeast-2",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
];

/// Every region name accepted in `REGIONS` (all partitions' public regions), so a typo is a
/// configuration error at cold start rather than a scope failing every run.
const KNOWN: &[&str] = &[
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
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Whether `name` is an AWS region this code knows.
pub fn is_known_region(name: &str) -> bool {
    KNOWN.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::JobKind;

    #[test]
    fn every_family_list_holds_known_regions_without_duplicates() {
        for kind in JobKind::ALL {
            let list = kind.family().regions;
            assert!(!list.is_empty(), "{kind}");
            for region in list {
                assert!(is_known_region(region), "{kind}: {region}");
            }
            let unique: std::collections::BTreeSet<_> = list.iter().collect();
            assert_eq!(unique.len(), list.len(), "{kind} lists a region twice");
        }
    }

    #[test]
    fn family_lists_are_within_the_control_plane_regions() {
        for kind in JobKind::ALL {
            for region in kind.family().regions {
                assert!(BEDROCK.contains(region), "{kind}: {region}");
            }
        }
    }
}
