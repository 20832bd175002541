//! S3 locations: `s3://bucket` or `s3://bucket/some/prefix`, and keys under them.
//!
//! A location's prefix is a "directory": [`S3Url::key`] joins a relative key under it with a
//! `/`, so `s3://b/evidence` holds `evidence/runs/r1.json` and never `evidence2/…`.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// Longest S3 object key, in bytes.
pub const MAX_KEY_LEN: usize = 1024;

/// A bucket and an optional key prefix, parsed from `s3://bucket/optional/prefix`.
///
/// The prefix is kept without leading or trailing `/` (`""` for the whole bucket); `Display`
/// gives `s3://bucket` or `s3://bucket/prefix`, which parses back to the same value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct S3Url {
    bucket: String,
    prefix: String,
}

impl S3Url {
    /// Parses `s3://bucket[/prefix][/]`. The bucket must follow the S3 naming rules (3–63
    /// characters of `a-z 0-9 . -`, starting and ending with a letter or digit, no `..`, not an
    /// IP address); the prefix must have no empty, `.` or `..` segment, no control character,
    /// no `?` or `#`, and fit in a key.
    pub fn parse(url: &str) -> Result<S3Url, Error> {
        let refuse = |reason| {
            Err(Error::InvalidUrl {
                url: url.to_owned(),
                reason,
            })
        };
        let Some(rest) = url.strip_prefix("s3://") else {
            return refuse("must start with `s3://`");
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return refuse("missing bucket name (expected `s3://bucket/prefix`)");
        }
        if let Err(reason) = check_bucket(bucket) {
            return refuse(reason);
        }
        let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
        if !prefix.is_empty() {
            if prefix.contains(['?', '#']) {
                return refuse("`?` and `#` are not allowed (no query or fragment)");
            }
            if let Err(reason) = check_segments(prefix) {
                return refuse(reason);
            }
            if prefix.len() >= MAX_KEY_LEN {
                return refuse("prefix longer than an S3 key may be");
            }
        }
        Ok(S3Url {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The location of `bucket` with `prefix` (`""` for the whole bucket); the same checks as
    /// [`S3Url::parse`].
    pub fn new(bucket: &str, prefix: &str) -> Result<S3Url, Error> {
        if prefix.is_empty() {
            S3Url::parse(&format!("s3://{bucket}"))
        } else {
            S3Url::parse(&format!("s3://{bucket}/{prefix}"))
        }
    }

    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The prefix, without leading or trailing `/` (`""` for the whole bucket).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The full key of `relative` under this location's prefix (`prefix/relative`, or
    /// `relative` for the whole bucket). `key("")` is the listing prefix of everything here.
    pub fn key(&self, relative: &str) -> String {
        if self.prefix.is_empty() {
            relative.to_owned()
        } else {
            format!("{}/{relative}", self.prefix)
        }
    }

    /// The part of a full `key` below this location's prefix, if it is below it.
    pub fn relative<'a>(&self, key: &'a str) -> Option<&'a str> {
        if self.prefix.is_empty() {
            Some(key)
        } else {
            key.strip_prefix(self.prefix.as_str())?.strip_prefix('/')
        }
    }

    /// The full key of `relative`, checked: non-empty, no leading `/`, no empty, `.` or `..`
    /// segment, no control character, at most [`MAX_KEY_LEN`] bytes in all.
    pub fn checked_key(&self, relative: &str) -> Result<String, Error> {
        let refuse = |reason| {
            Err(Error::InvalidKey {
                key: relative.to_owned(),
                reason,
            })
        };
        if relative.is_empty() {
            return refuse("empty");
        }
        if relative.starts_with('/') {
            return refuse("starts with `/`");
        }
        if let Err(reason) = check_segments(relative) {
            return refuse(reason);
        }
        let key = self.key(relative);
        if key.len() > MAX_KEY_LEN {
            return refuse("longer than 1024 bytes with the prefix");
        }
        Ok(key)
    }
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

impl FromStr for S3Url {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        S3Url::parse(s)
    }
}

/// S3 bucket naming rules (general purpose buckets).
fn check_bucket(bucket: &str) -> Result<(), &'static str> {
    if !(3..=63).contains(&bucket.len()) {
        return Err("bucket name must be 3 to 63 characters long");
    }
    if !bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Err("bucket name may contain only a-z, 0-9, `.` and `-`");
    }
    let alnum = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !alnum(bucket.bytes().next()) || !alnum(bucket.bytes().last()) {
        return Err("bucket name must start and end with a letter or digit");
    }
    if bucket.contains("..") {
        return Err("bucket name must not contain `..`");
    }
    if bucket.split('.').count() == 4 && bucket.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Err("bucket name must not look like an IP address");
    }
    Ok(())
}

/// `/`-separated segments: none empty, `.` or `..`; no control characters.
fn check_segments(path: &str) -> Result<(), &'static str> {
    if path.chars().any(char::is_control) {
        return Err("contains a control character");
    }
    for segment in path.split('/') {
        match segment {
            "" => return Err("empty path segment (`//`, or a leading `/`)"),
            "." | ".." => return Err("path segment `.` or `..`"),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn reason(url: &str) -> &'static str {
        match S3Url::parse(url) {
            Err(Error::InvalidUrl { reason, .. }) => reason,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn parses_bucket_and_prefix() {
        let u = S3Url::parse("s3://my-bucket").unwrap();
        assert_eq!((u.bucket(), u.prefix()), ("my-bucket", ""));
        assert_eq!(u.to_string(), "s3://my-bucket");
        assert_eq!(S3Url::parse("s3://my-bucket/").unwrap(), u);
        let u = S3Url::parse("s3://my.bucket-1/evidence/prod/").unwrap();
        assert_eq!((u.bucket(), u.prefix()), ("my.bucket-1", "evidence/prod"));
        assert_eq!(u.to_string(), "s3://my.bucket-1/evidence/prod");
        assert_eq!(S3Url::parse(&u.to_string()).unwrap(), u);
        assert_eq!("s3://abc/x".parse::<S3Url>().unwrap().prefix(), "x");
        assert_eq!(
            S3Url::new("abc", "x/y").unwrap().to_string(),
            "s3://abc/x/y"
        );
        assert_eq!(S3Url::new("abc", "").unwrap().to_string(), "s3://abc");
    }

    #[test]
    fn refuses_bad_urls_saying_why() {
        assert_eq!(reason("https://b/x"), "must start with `s3://`");
        assert_eq!(reason("S3://bucket"), "must start with `s3://`");
        assert!(reason("s3://").starts_with("missing bucket"));
        assert!(reason("s3:///prefix").starts_with("missing bucket"));
        assert!(reason("s3://ab").contains("3 to 63"));
        assert!(reason(&format!("s3://{}", "a".repeat(64))).contains("3 to 63"));
        assert!(reason("s3://My-Bucket").contains("a-z"));
        assert!(reason("s3://my_bucket").contains("a-z"));
        assert!(reason("s3://-bucket").contains("start and end"));
        assert!(reason("s3://bucket./x").contains("start and end"));
        assert!(reason("s3://a..b").contains("`..`"));
        assert!(reason("s3://192.168.1.1").contains("IP address"));
        assert!(reason("s3://bucket//x").contains("empty path segment"));
        assert!(reason("s3://bucket/a//b").contains("empty path segment"));
        assert!(reason("s3://bucket/a/../b").contains("`..`"));
        assert!(reason("s3://bucket/a/./b").contains("`.`"));
        assert!(reason("s3://bucket/a?versionId=1").contains("query"));
        assert!(reason("s3://bucket/a\nb").contains("control"));
        assert!(reason(&format!("s3://bucket/{}", "a".repeat(1024))).contains("longer"));
    }

    #[test]
    fn keys_join_under_the_prefix() {
        let u = S3Url::parse("s3://bkt/ev").unwrap();
        assert_eq!(u.key("runs/r1.json"), "ev/runs/r1.json");
        assert_eq!(u.key(""), "ev/");
        assert_eq!(u.relative("ev/runs/r1.json"), Some("runs/r1.json"));
        assert_eq!(u.relative("ev2/runs/r1.json"), None);
        assert_eq!(u.relative("ev"), None);
        let whole = S3Url::parse("s3://bkt").unwrap();
        assert_eq!(whole.key("runs/r1.json"), "runs/r1.json");
        assert_eq!(whole.key(""), "");
        assert_eq!(whole.relative("x/y"), Some("x/y"));
    }

    #[test]
    fn checked_keys() {
        let u = S3Url::parse("s3://bkt/ev").unwrap();
        assert_eq!(
            u.checked_key("reports/r 1.json").unwrap(),
            "ev/reports/r 1.json"
        );
        for (bad, why) in [
            ("", "empty"),
            ("/abs", "starts with `/`"),
            ("a//b", "empty path segment"),
            ("a/", "empty path segment"),
            ("a/../b", "`..`"),
            ("a\u{0}b", "control"),
        ] {
            match u.checked_key(bad) {
                Err(Error::InvalidKey { key, reason }) => {
                    assert_eq!(key, bad);
                    assert!(reason.contains(why), "{bad:?}: {reason}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(u.checked_key(&"k".repeat(1022)).is_err());
        assert!(u.checked_key(&"k".repeat(1021)).is_ok());
    }
}
