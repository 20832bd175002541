//! Routes and handlers. Each handler checks the token first, then the body (type, size, JSON,
//! fields), and only then touches the control DB, so bad input stores nothing.

use crate::error::ApiError;
use crate::{AppState, drp, openapi, runs};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dsr_core::request::validate_request_id;
use dsr_engine::control::{Status, Submitted};
use dsr_engine::portal::{ListFilter, Scope};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

type ApiResult = Result<Response, ApiError>;

/// The router with every route, the body limit and JSON fallbacks.
pub(crate) fn router(state: AppState) -> Router {
    let limit = state.options.max_body_bytes;
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/healthz", get(health))
        .route("/v1/requests", post(submit).get(list))
        .route("/v1/requests/{id}", get(show))
        .route(
            "/v1/requests/{id}/receipt-confirmation",
            post(confirm_receipt),
        )
        .route("/v1/requests/{id}/extension", post(extend))
        .route("/v1/runs", post(start_run))
        .route("/v1/runs/{id}", get(show_run))
        .route("/v1/metrics", get(metrics))
        .route(
            "/v1/agent/{agent_id}",
            post(drp::setup).get(drp::agent_info),
        )
        .route("/v1/data-rights-request", post(drp::exercise))
        .route(
            "/v1/data-rights-request/{id}",
            get(drp::status).delete(drp::revoke),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

async fn openapi_json() -> Response {
    axum::Json(openapi::document()).into_response()
}

async fn health(State(state): State<AppState>) -> ApiResult {
    state.control.count().await?;
    Ok(axum::Json(json!({"status": "ok"})).into_response())
}

/// Checks the bearer token against `needed`.
async fn authorize(state: &AppState, headers: &HeaderMap, needed: Scope) -> Result<(), ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .ok_or(ApiError::Unauthorized)?;
    let Some((id, scope)) = state.control.token_scope(token).await? else {
        return Err(ApiError::Unauthorized);
    };
    if !scope.allows(needed) {
        tracing::info!(token = %id, needed = needed.key(), "token scope refused");
        return Err(ApiError::Forbidden);
    }
    Ok(())
}

/// The JSON body: `application/json`, within the limit, syntactically JSON.
fn json_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Value, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(state.options.max_body_bytes)
        } else {
            ApiError::InvalidJson("the body could not be read".into())
        }
    })?;
    serde_json::from_slice::<Value>(&bytes).map_err(|e| {
        // serde_json's syntax messages name a position, never the input.
        ApiError::InvalidJson(format!("body is not JSON: {e}"))
    })
}

/// A path id, checked like request ids.
fn path_id(id: &str) -> Result<(), ApiError> {
    validate_request_id(id).map_err(|m| ApiError::BadParameter {
        field: "id".into(),
        message: format!("id {m}"),
    })
}

/// Query parameters, refusing a malformed query string and any parameter not in `allowed`.
fn query(
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
    allowed: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let q = q.map(|Query(q)| q).map_err(|_| ApiError::BadParameter {
        field: "(query)".into(),
        message: "malformed query string".into(),
    })?;
    match q.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) if k.len() <= 64 => Err(ApiError::BadParameter {
            field: k.clone(),
            message: format!(
                "unknown query parameter; expected one of {}",
                allowed.join(", ")
            ),
        }),
        Some(_) => Err(ApiError::BadParameter {
            field: "(query)".into(),
            message: "unknown query parameter".into(),
        }),
        None => Ok(q),
    }
}

/// A numeric query parameter within `range`; `None` when absent.
fn ranged<T: std::str::FromStr + PartialOrd>(
    q: &HashMap<String, String>,
    name: &str,
    range: std::ops::RangeInclusive<T>,
    message: &str,
) -> Result<Option<T>, ApiError> {
    q.get(name)
        .map(|v| {
            v.parse::<T>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| ApiError::BadParameter {
                    field: name.into(),
                    message: message.into(),
                })
        })
        .transpose()
}

async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    authorize(&state, &headers, Scope::Portal).await?;
    let value = json_body(&state, &headers, body)?;
    let (req, outcome) =
        dsr_engine::admission::submit(&state.config, &state.control, &value.to_string()).await?;
    tracing::info!(request = %req.id, kind = req.kind.key(), new = (outcome == Submitted::New), "request submitted");
    let view = state.control.view(&req.id, state.now()).await?;
    let code = match outcome {
        Submitted::New => StatusCode::CREATED,
        Submitted::AlreadyStored => StatusCode::OK,
    };
    Ok((code, axum::Json(json!({ "request": view }))).into_response())
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    authorize(&state, &headers, Scope::Portal).await?;
    let q = query(q, &["status", "overdue", "limit"])?;
    let status = match q.get("status") {
        None => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| ApiError::BadParameter {
            field: "status".into(),
            message: format!(
                "unknown status; expected one of {}",
                Status::ALL.map(Status::key).join(", ")
            ),
        })?),
    };
    let overdue = match q.get("overdue").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::BadParameter {
                field: "overdue".into(),
                message: "must be true or false".into(),
            });
        }
    };
    let limit =
        ranged(&q, "limit", 1..=10_000, "must be a number from 1 to 10000")?.unwrap_or(1000);
    let now = state.now();
    let filter = ListFilter {
        status,
        overdue,
        limit,
    };
    let requests = state.control.list(&filter, now).await?;
    Ok(axum::Json(json!({ "now": now.to_rfc3339(), "requests": requests })).into_response())
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    authorize(&state, &headers, Scope::Portal).await?;
    path_id(&id)?;
    let Some(view) = state.control.view(&id, state.now()).await? else {
        return Err(ApiError::NotFound(format!("no request with id {id}")));
    };
    let events: Vec<Value> = state
        .control
        .events(&id)
        .await?
        .into_iter()
        .map(|(at, event, _)| json!({"at": at, "event": event}))
        .collect();
    Ok(axum::Json(json!({ "request": view, "events": events })).into_response())
}

async fn confirm_receipt(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    authorize(&state, &headers, Scope::Portal).await?;
    path_id(&id)?;
    let now = state.now();
    if state.control.view(&id, now).await?.is_none() {
        return Err(ApiError::NotFound(format!("no request with id {id}")));
    }
    state.control.confirm_receipt(&id, now).await?;
    let view = state.control.view(&id, now).await?;
    Ok(axum::Json(json!({ "request": view })).into_response())
}

/// `POST /v1/requests/{id}/extension`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtensionBody {
    /// Why more time is needed; sent to the requester and kept in the event history.
    reason: String,
}

async fn extend(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    authorize(&state, &headers, Scope::Admin).await?;
    path_id(&id)?;
    let value = json_body(&state, &headers, body)?;
    let b: ExtensionBody = fields(value)?;
    if b.reason.trim().is_empty() || b.reason.chars().count() > 500 {
        return Err(ApiError::Invalid {
            field: "reason".into(),
            message: "must be 1-500 characters".into(),
        });
    }
    let view = state.control.extend(&id, &b.reason, state.now()).await?;
    tracing::info!(request = %id, "deadline extended");
    Ok(axum::Json(json!({ "request": view })).into_response())
}

/// Decodes a body into `T`, naming the field at fault (never its value).
fn fields<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        let message = if inner.starts_with("unknown field") || inner.starts_with("missing field") {
            inner
                .split(", expected")
                .next()
                .unwrap_or(&inner)
                .to_string()
        } else {
            "wrong type or value".to_string()
        };
        ApiError::Invalid {
            field: if path == "." { "(body)".into() } else { path },
            message,
        }
    })
}

/// `POST /v1/runs`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunBody {
    /// Only these requests; every admitted request when absent.
    #[serde(default)]
    requests: Option<Vec<String>>,
}

async fn start_run(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    authorize(&state, &headers, Scope::Admin).await?;
    let value = json_body(&state, &headers, body)?;
    let b: RunBody = fields(value)?;
    if let Some(ids) = &b.requests {
        if ids.is_empty() || ids.len() > 10_000 {
            return Err(ApiError::Invalid {
                field: "requests".into(),
                message: "must list 1-10000 request ids (or be left out for all)".into(),
            });
        }
        let now = state.now();
        for (i, id) in ids.iter().enumerate() {
            validate_request_id(id).map_err(|m| ApiError::Invalid {
                field: format!("requests[{i}]"),
                message: m,
            })?;
            if state.control.view(id, now).await?.is_none() {
                return Err(ApiError::Invalid {
                    field: format!("requests[{i}]"),
                    message: "no request with this id".into(),
                });
            }
        }
    }
    let id = runs::start(&state, b.requests).await?;
    tracing::info!(run = %id, "on-demand run started");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/v1/runs/{id}"))],
        axum::Json(json!({ "run": { "id": id, "status": "queued" } })),
    )
        .into_response())
}

async fn show_run(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    authorize(&state, &headers, Scope::Portal).await?;
    path_id(&id)?;
    let Some(mut run) = state.control.portal_run(&id).await? else {
        return Err(ApiError::NotFound(format!("no run with id {id}")));
    };
    if let Some((total, done)) = state.runs.live(&id) {
        run.total = total;
        run.done = done;
    }
    Ok(axum::Json(json!({ "run": run })).into_response())
}

async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    authorize(&state, &headers, Scope::Portal).await?;
    let q = query(q, &["year"])?;
    let year = ranged(&q, "year", 2020..=2100, "must be a year from 2020 to 2100")?
        .unwrap_or_else(|| chrono::Datelike::year(&state.now()));
    let kinds = state.control.metrics(year).await?;
    Ok(axum::Json(json!({
        "year": year,
        "citation": "11 CCR §7102(a)",
        "kinds": kinds,
    }))
    .into_response())
}
