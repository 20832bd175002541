//! The DROP API, when `[drop] api_url` is set: `GET /data/download` (the same ZIP as the
//! manual download) and the status upload (`POST /data/upload`, the status CSV), both with
//! the API key from the environment variable `[drop] api_key_env` in `X-API-KEY`. The key is
//! never logged or shown; an error names the endpoint and the HTTP status only.

use crate::error::{Error, Result};
use dsr_core::config::DropSettings;
use std::time::Duration;

fn client() -> Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|_| Error::Drop("cannot build the HTTP client for the DROP API".into()))
}

fn endpoint(drop: &DropSettings, path: &str) -> Result<(String, String)> {
    let base = drop.api_url.as_deref().ok_or_else(|| {
        Error::Refused("the DROP API is not configured: set [drop] api_url".into())
    })?;
    let key = std::env::var(&drop.api_key_env)
        .ok()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            Error::Refused(format!(
                "the DROP API key is not set: export {}",
                drop.api_key_env
            ))
        })?;
    Ok((format!("{}{path}", base.trim_end_matches('/')), key))
}

/// Downloads the lists (a ZIP) from the DROP API.
pub async fn download(drop: &DropSettings) -> Result<Vec<u8>> {
    let (url, key) = endpoint(drop, "/data/download")?;
    let resp = client()?
        .get(&url)
        .header("x-api-key", key)
        .send()
        .await
        .map_err(|_| Error::Drop("GET /data/download: the DROP API cannot be reached".into()))?;
    if !resp.status().is_success() {
        return Err(Error::Drop(format!(
            "GET /data/download answered HTTP {}",
            resp.status().as_u16()
        )));
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|_| Error::Drop("GET /data/download: the answer was cut off".into()))?;
    Ok(bytes.to_vec())
}

/// Uploads a status file to the DROP API.
pub async fn upload(drop: &DropSettings, file_name: &str, csv: &str) -> Result<()> {
    let (url, key) = endpoint(drop, "/data/upload")?;
    let resp = client()?
        .post(&url)
        .header("x-api-key", key)
        .header("content-type", "text/csv")
        .header("x-file-name", file_name)
        .body(csv.to_string())
        .send()
        .await
        .map_err(|_| Error::Drop("POST /data/upload: the DROP API cannot be reached".into()))?;
    if !resp.status().is_success() {
        return Err(Error::Drop(format!(
            "POST /data/upload answered HTTP {}",
            resp.status().as_u16()
        )));
    }
    Ok(())
}
