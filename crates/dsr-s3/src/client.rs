//! Building an S3 client: the SDK's standard environment, overridden by [`S3Options`], over
//! one HTTP client (hyper + rustls with the `ring` provider; no aws-lc, no OpenSSL).
//!
//! From the environment (and the usual shared config files) come the credentials
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, profiles, …), the region
//! (`AWS_REGION`) and the endpoint (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`). An S3-compatible
//! server such as moto or MinIO also needs path-style addressing
//! (`http://host:port/bucket/key`), [`S3Options::path_style`].

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::Credentials;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use crate::Error;

/// Overrides of the SDK's standard configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Options {
    /// Endpoint URL (`http://127.0.0.1:9000`); `None`: `AWS_ENDPOINT_URL` or AWS itself.
    pub endpoint: Option<String>,
    /// Region (`eu-west-1`); `None`: `AWS_REGION` or the shared config.
    pub region: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key` instead of `bucket.endpoint/key`), needed
    /// by moto and MinIO.
    pub path_style: bool,
}

/// An S3 client configured from the standard environment, overridden by `opts`.
///
/// Fails if an endpoint override is not an `http://` or `https://` URL, or if no region is
/// configured anywhere. Credentials are resolved lazily, on the first request.
pub async fn client(opts: &S3Options) -> Result<Client, Error> {
    Ok(build_client(opts, None).await?.0)
}

/// [`client`], with the resolved SDK configuration (credentials provider, region, endpoint)
/// for other S3 libraries that should resolve them the same way.
pub async fn client_with_config(
    opts: &S3Options,
) -> Result<(Client, aws_config::SdkConfig), Error> {
    build_client(opts, None).await
}

/// [`client`], with fixed credentials instead of the environment's when given.
pub(crate) async fn build_client(
    opts: &S3Options,
    credentials: Option<Credentials>,
) -> Result<(Client, aws_config::SdkConfig), Error> {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
    if let Some(region) = &opts.region {
        if region.is_empty() {
            return Err(Error::Config {
                reason: "empty region".to_owned(),
            });
        }
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &opts.endpoint {
        check_endpoint(endpoint)?;
        loader = loader.endpoint_url(endpoint.clone());
    }
    if let Some(credentials) = credentials {
        loader = loader.credentials_provider(credentials);
    }
    let sdk = loader.load().await;
    if sdk.region().is_none() {
        return Err(Error::Config {
            reason: "no region: set AWS_REGION (or pass a region)".to_owned(),
        });
    }
    let conf = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(opts.path_style)
        .build();
    Ok((Client::from_conf(conf), sdk))
}

fn check_endpoint(endpoint: &str) -> Result<(), Error> {
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(()),
        _ => Err(Error::Config {
            reason: format!("endpoint {endpoint:?} is not an http:// or https:// URL"),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_http_urls() {
        check_endpoint("http://127.0.0.1:9000").unwrap();
        check_endpoint("https://s3.example.com").unwrap();
        for bad in ["", "127.0.0.1:9000", "http://", "ftp://x", "http:///x"] {
            assert!(
                matches!(check_endpoint(bad), Err(Error::Config { .. })),
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn options_override_the_environment() {
        let opts = S3Options {
            endpoint: Some("http://127.0.0.1:1".into()),
            region: Some("eu-west-3".into()),
            path_style: true,
        };
        let c = build_client(&opts, Some(Credentials::new("k", "s", None, None, "test")))
            .await
            .unwrap()
            .0;
        let conf = c.config();
        assert_eq!(conf.region().map(|r| r.as_ref()), Some("eu-west-3"));
        // Path-style: the bucket is in the path of the endpoint, not in the host name.
        let presigned = c
            .get_object()
            .bucket("bkt")
            .key("a/b.json")
            .presigned(
                aws_sdk_s3::presigning::PresigningConfig::expires_in(
                    std::time::Duration::from_secs(60),
                )
                .unwrap(),
            )
            .await
            .unwrap();
        assert!(
            presigned
                .uri()
                .starts_with("http://127.0.0.1:1/bkt/a/b.json?"),
            "{}",
            presigned.uri()
        );
        let bad = S3Options {
            endpoint: Some("localhost:9000".into()),
            ..opts
        };
        assert!(matches!(
            client(&bad).await,
            Err(Error::Config { reason }) if reason.contains("localhost:9000")
        ));
    }
}
