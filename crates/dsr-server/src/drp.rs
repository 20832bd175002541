//! The Data Rights Protocol (DRP v1.0) endpoints for authorized agents:
//!
//! - `POST /v1/agent/{agent-id}`: pairwise setup. The body is a message signed with the
//!   agent's key (`agent-id` as in the URL, our `business-id`, `issued-at`, `expires-at`); the
//!   answer is `{"agent-id", "token"}`, the agent's bearer token (a new setup revokes the
//!   previous one). Any failure is a bare 403, as the spec says.
//! - `GET /v1/agent/{agent-id}`: `{}` while the bearer token is the agent's live token.
//! - `POST /v1/data-rights-request`: a signed exercise (see [`crate::drp_signed`]); answered
//!   with the DRP status object. An exercise dsr cannot serve (an action without a dsr kind, a
//!   regime other than `ccpa`, no identity claim, no verified claim for a right that needs
//!   verification) is answered `denied` with its reason at once and never enters the pipeline.
//! - `GET /v1/data-rights-request/{id}`, `DELETE /v1/data-rights-request/{id}` (revoke, body
//!   signed): only for the agent that made the request; any other id, existing or not, gets
//!   the same 403, so nothing leaks.
//!
//! Status codes of refusals, in the protocol's error shape (`{"code", "message", "fatal"}`):
//! no or unknown bearer token 401; a body that is not base64 of a signed message, or a
//! malformed claim, 400; a bad signature (altered body, another key), an `agent-id` that is not
//! the token's agent, another `business-id`, `issued-at` in the future beyond the skew,
//! `expires-at` passed or a window longer than configured 403 — these are the checks of the
//! spec's §3.07 authentication chain, whose failures the spec answers with 403, and `fatal`
//! because the same message can never pass; the same signed message again (replay) or a
//! reused `agent-request-id` 409, since the first one was accepted. Nothing is stored for a
//! refused message.

use crate::AppState;
use crate::drp_signed::{self, Mapped};
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dsr_core::config::{Agent, DrpSettings};
use dsr_core::request::validate_request_id;
use dsr_engine::drp::{NewDrp, Revoke};
use serde_json::{Value, json};

type ApiResult = Result<Response, ApiError>;

fn settings(state: &AppState) -> Result<&DrpSettings, ApiError> {
    state
        .config
        .settings
        .drp
        .as_ref()
        .ok_or_else(|| ApiError::drp(404, "the Data Rights Protocol is not configured", true))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

/// The agent of the bearer token, still listed in config.
async fn agent<'a>(
    state: &AppState,
    drp: &'a DrpSettings,
    headers: &HeaderMap,
) -> Result<&'a Agent, ApiError> {
    let unauthorized = || ApiError::drp(401, "a valid agent bearer token is required", false);
    let token = bearer(headers).ok_or_else(unauthorized)?;
    let id = state
        .control
        .drp_token_agent(token)
        .await?
        .ok_or_else(unauthorized)?;
    drp.agent(&id).ok_or_else(|| {
        tracing::warn!(agent = %id, "token of an agent no longer in config");
        ApiError::drp(403, "this agent is not accepted", true)
    })
}

fn read_body(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ApiError> {
    body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::drp(413, format!("body larger than {limit} bytes"), true)
        } else {
            ApiError::drp(400, "the body could not be read", false)
        }
    })
}

/// Decodes and verifies a signed body for `agent`; returns the signature and the JSON object.
fn verified(body: &[u8], agent: &Agent) -> Result<(drp_signed::Signed, Value), ApiError> {
    let signed = drp_signed::decode(body).ok_or_else(|| {
        ApiError::drp(
            400,
            "the body must be base64 of a signed message (signature then JSON)",
            true,
        )
    })?;
    if !drp_signed::verifies(&signed, agent) {
        tracing::info!(agent = %agent.id, "signature refused");
        return Err(ApiError::drp(
            403,
            "the signature does not verify with this agent's key",
            true,
        ));
    }
    let message: Value = serde_json::from_slice(&signed.message)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| ApiError::drp(400, "the signed message is not a JSON object", true))?;
    Ok((signed, message))
}

/// `POST /v1/agent/{agent-id}`.
pub(crate) async fn setup(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let drp = settings(&state)?;
    let agent = drp.agent(&agent_id).ok_or(ApiError::DrpSetupRefused)?;
    let body = body.map_err(|_| ApiError::DrpSetupRefused)?;
    let (signed, message) = verified(&body, agent).map_err(|_| ApiError::DrpSetupRefused)?;
    let now = state.now();
    let window = drp_signed::check_envelope(&message, &agent.id, drp, now, true)
        .map_err(|why| {
            tracing::info!(agent = %agent.id, why, "pairwise setup refused");
            ApiError::DrpSetupRefused
        })?
        .ok_or(ApiError::DrpSetupRefused)?;
    let fresh = state
        .control
        .drp_claim_signature(
            &signed.signature,
            &agent.id,
            window.expires_at.timestamp_millis(),
            now.timestamp_millis(),
        )
        .await?;
    if !fresh {
        tracing::info!(agent = %agent.id, "pairwise setup replayed");
        return Err(ApiError::DrpSetupRefused);
    }
    let token = state.control.drp_create_token(&agent.id).await?;
    tracing::info!(agent = %agent.id, "pairwise token issued");
    Ok(axum::Json(json!({"agent-id": agent.id, "token": token})).into_response())
}

/// `GET /v1/agent/{agent-id}`.
pub(crate) async fn agent_info(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(agent_id): Path<String>,
) -> ApiResult {
    let drp = settings(&state)?;
    let a = agent(&state, drp, &headers).await?;
    if a.id != agent_id {
        return Err(ApiError::drp(403, "the token is not this agent's", true));
    }
    Ok(axum::Json(json!({})).into_response())
}

/// A new DRP request id: random, never subject data.
fn new_id() -> String {
    let a: u64 = rand::random();
    let b: u32 = rand::random();
    format!("drp-{a:016x}{b:08x}")
}

/// Checks a status callback URL: `https` (or `http` when the server allows it, for tests),
/// with a host and no credentials.
fn callback_ok(url: &str, insecure: bool) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else {
        return false;
    };
    let scheme_ok = u.scheme() == "https" || (insecure && u.scheme() == "http");
    scheme_ok && u.host().is_some() && u.username().is_empty() && u.password().is_none()
}

/// `POST /v1/data-rights-request`.
pub(crate) async fn exercise(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let drp = settings(&state)?;
    let agent = agent(&state, drp, &headers).await?;
    let body = read_body(body, state.options.max_body_bytes)?;
    let (signed, message) = verified(&body, agent)?;
    let now = state.now();
    let window = drp_signed::check_envelope(&message, &agent.id, drp, now, true)
        .map_err(|why| {
            tracing::info!(agent = %agent.id, why, "signed request refused");
            ApiError::drp(403, why, true)
        })?
        .ok_or_else(|| ApiError::drp(403, "envelope claims are required", true))?;
    let ex = drp_signed::exercise(&message)?;
    if let Some(cb) = &ex.status_callback
        && !callback_ok(cb, state.options.drp_insecure_callbacks)
    {
        return Err(ApiError::drp(
            400,
            "status_callback must be an https URL with a host",
            true,
        ));
    }
    let id = new_id();
    let settings = &state.config.settings;
    let mapped = drp_signed::map(
        &ex,
        &id,
        &agent.id,
        now,
        &settings.identity_types,
        &settings.data_point_types,
    )?;
    if let Some(arid) = &ex.agent_request_id
        && let Some(earlier) = state
            .control
            .drp_by_agent_request_id(&agent.id, arid)
            .await?
    {
        return Ok((
            StatusCode::CONFLICT,
            axum::Json(json!({"code": "409", "message": "agent-request-id was already used", "fatal": true, "request_id": earlier})),
        )
            .into_response());
    }
    let fresh = state
        .control
        .drp_claim_signature(
            &signed.signature,
            &agent.id,
            window.expires_at.timestamp_millis(),
            now.timestamp_millis(),
        )
        .await?;
    if !fresh {
        tracing::info!(agent = %agent.id, "signed request replayed");
        return Err(ApiError::drp(
            409,
            "this signed request was already received",
            true,
        ));
    }
    let exercise_name = ex.exercise.as_deref().unwrap_or("");
    let mut record = NewDrp {
        id: &id,
        agent: &agent.id,
        agent_request_id: ex.agent_request_id.as_deref(),
        exercise: exercise_name,
        regime: ex.regime.as_deref(),
        submitted: false,
        denied: None,
        status_callback: ex.status_callback.as_deref(),
        received_at: now,
    };
    match &mapped {
        Mapped::Submit(req) => {
            let submitted =
                dsr_engine::admission::submit(&state.config, &state.control, &req.to_string())
                    .await;
            if let Err(e) = submitted {
                // Refused after the claim: forget the signature so nothing stays stored.
                state
                    .control
                    .drp_release_signature(&signed.signature)
                    .await?;
                return Err(ApiError::from(e));
            }
            record.submitted = true;
        }
        Mapped::Deny(reason) => record.denied = Some(*reason),
    }
    state.control.drp_insert(&record).await?;
    tracing::info!(drp_request = %id, agent = %agent.id, submitted = record.submitted, "DRP request received");
    let status = state
        .control
        .drp_status(&id, &agent.id)
        .await?
        .ok_or(ApiError::Internal)?;
    Ok(axum::Json(status).into_response())
}

fn not_yours() -> ApiError {
    ApiError::drp(403, "no request with this id for this agent", true)
}

/// `GET /v1/data-rights-request/{id}`.
pub(crate) async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let drp = settings(&state)?;
    let agent = agent(&state, drp, &headers).await?;
    if validate_request_id(&id).is_err() {
        return Err(not_yours());
    }
    let status = state
        .control
        .drp_status(&id, &agent.id)
        .await?
        .ok_or_else(not_yours)?;
    Ok(axum::Json(status).into_response())
}

/// `DELETE /v1/data-rights-request/{id}`: the body is signed (`{"reason"?}` plus, optionally,
/// the envelope claims, checked when present). The reason is not stored: it is the user's
/// free text.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let drp = settings(&state)?;
    let agent = agent(&state, drp, &headers).await?;
    let body = read_body(body, state.options.max_body_bytes)?;
    let (_, message) = verified(&body, agent)?;
    let now = state.now();
    drp_signed::check_envelope(&message, &agent.id, drp, now, false)
        .map_err(|why| ApiError::drp(403, why, true))?;
    if validate_request_id(&id).is_err() {
        return Err(not_yours());
    }
    let outcome = state
        .control
        .drp_revoke(&id, &agent.id, chrono::Utc::now().timestamp_millis())
        .await?
        .ok_or_else(not_yours)?;
    match outcome {
        Revoke::Revoked | Revoke::AlreadyRevoked => {
            tracing::info!(drp_request = %id, agent = %agent.id, "DRP request revoked");
            let status = state
                .control
                .drp_status(&id, &agent.id)
                .await?
                .ok_or_else(not_yours)?;
            Ok(axum::Json(status).into_response())
        }
        Revoke::TooLate(s) => Err(ApiError::drp(
            409,
            format!(
                "the request is already {}; it can no longer be revoked",
                s.key()
            ),
            true,
        )),
    }
}
