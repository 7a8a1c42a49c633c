//! Many accounts and regions in one process: every request is resolved to the (account, region)
//! it addresses, and its handler gets that scope's own store. Handlers take a `Scoped`
//! (module `scoped`) instead of the whole `App`, so a handler cannot see another scope's jobs by
//! mistake.
//!
//! - Region: the SigV4 credential scope of the `Authorization` header
//!   (`Credential=<key id>/<date>/<region>/<service>/aws4_request`); unsigned requests (curl,
//!   the control API) may name it with a `region` query parameter; else the default region.
//! - Account: a key id whose last 12 characters are digits belongs to that account
//!   (`AKIA0000222222222222` -> `222222222222`, as the keys `AssumeRole` hands out); any other key
//!   id (`testing`) belongs to the default account. Unsigned requests may name it with `account`.

use serde::{Deserialize, Serialize};

/// One account in one region: where a job lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

impl Scope {
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            account: account.into(),
            region: region.into(),
        }
    }

    /// The scope an ARN names (`arn:aws:bedrock:{region}:{account}:...`), when it names both.
    pub fn of_arn(arn: &str) -> Option<Scope> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(_), Some(_), Some(region), Some(account), Some(_)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        (!region.is_empty() && is_account(account)).then(|| Scope::new(account, region))
    }

    /// `account/region`, the key of per-scope statistics.
    pub fn label(&self) -> String {
        format!("{}/{}", self.account, self.region)
    }
}

/// A 12-digit AWS account id.
pub fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account an access key id belongs to (see the module docs), if it names one.
pub fn account_of_key(key_id: &str) -> Option<&str> {
    let tail = key_id.get(key_id.len().checked_sub(12)?..)?;
    is_account(tail).then_some(tail)
}

/// The access key id and region of a SigV4 `Authorization` header.
pub fn credential_scope(authorization: &str) -> Option<(&str, &str)> {
    let credential = authorization.split("Credential=").nth(1)?;
    let credential = credential.split([',', ' ']).next()?;
    let mut parts = credential.split('/');
    let key = parts.next().filter(|k| !k.is_empty())?;
    let _date = parts.next()?;
    let region = parts.next().filter(|r| !r.is_empty())?;
    Some((key, region))
}

#[cfg(test)]
mod tests {
    use crate::scope::*;

    #[test]
    fn a_key_ending_in_twelve_digits_names_its_account() {
        assert_eq!(account_of_key("AKIA0000222222222222"), Some("222222222222"));
        assert_eq!(account_of_key("testing"), None);
        assert_eq!(account_of_key("AKIAIOSFODNN7EXAMPLE"), None);
        assert_eq!(account_of_key("123456789012"), Some("123456789012"));
    }

    #[test]
    fn the_credential_scope_gives_key_and_region() {
        let header = "AWS4-HMAC-SHA256 Credential=AKIA0000222222222222/20260101/eu-west-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(
            credential_scope(header),
            Some(("AKIA0000222222222222", "eu-west-1"))
        );
        assert_eq!(credential_scope("Bearer x"), None);
    }

    #[test]
    fn an_arn_names_its_scope() {
        assert_eq!(
            Scope::of_arn("arn:aws:bedrock:us-west-2:222222222222:model-invocation-job/abc"),
            Some(Scope::new("222222222222", "us-west-2"))
        );
        assert_eq!(
            Scope::of_arn("arn:aws:bedrock:us-west-2::foundation-model/x"),
            None
        );
        assert_eq!(Scope::of_arn("abc123def456"), None);
    }
}
