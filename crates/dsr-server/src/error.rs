//! The one error type of `dsr-server`, and the JSON error body every failure answers with:
//! `{"error": {"code": "...", "message": "...", "field": "..."}}`. Codes are stable; messages
//! name what is wrong and never echo a submitted value.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Errors of the API: each maps to an HTTP status and a stable code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No bearer token, or one that is unknown or revoked (401).
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// The token's scope does not allow this (403).
    #[error("this token's scope does not allow this operation")]
    Forbidden,
    /// No such request, run or route (404).
    #[error("{0}")]
    NotFound(String),
    /// The method is not allowed on this path (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body is larger than the limit (413).
    #[error("request body larger than {0} bytes")]
    TooLarge(usize),
    /// The body is not `application/json` (415).
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    /// The body is not JSON at all (400).
    #[error("{0}")]
    InvalidJson(String),
    /// A path or query parameter is malformed (400).
    #[error("{message}")]
    BadParameter {
        /// The parameter.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The request JSON is well-formed but invalid: a missing, unknown or malformed field (422).
    #[error("{field}: {message}")]
    Invalid {
        /// JSON path of the field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The id is already used by a different request (409).
    #[error("{0}")]
    Conflict(String),
    /// The rules refuse the action, e.g. a second extension (409).
    #[error("{0}")]
    Refused(String),
    /// Something failed inside; details are logged, not returned (500).
    #[error("internal error")]
    Internal,
    /// A Data Rights Protocol endpoint refused the request. Rendered in the protocol's own
    /// error shape (DRP 1.0 §3.06): `{"code": "<HTTP status>", "message", "fatal"}`.
    #[error("{message}")]
    Drp {
        /// HTTP status.
        status: u16,
        /// What is wrong (fixed text, never a claim's value).
        message: String,
        /// Retrying the same message cannot succeed.
        fatal: bool,
    },
    /// Pairwise setup refused: 403 with no body (DRP 1.0 §2.05.1).
    #[error("pairwise setup refused")]
    DrpSetupRefused,
}

impl ApiError {
    /// A DRP refusal.
    pub(crate) fn drp(status: u16, message: impl Into<String>, fatal: bool) -> ApiError {
        ApiError::Drp {
            status,
            message: message.into(),
            fatal,
        }
    }
}

impl ApiError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::InvalidJson(_) | ApiError::BadParameter { .. } => StatusCode::BAD_REQUEST,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) | ApiError::Refused(_) => StatusCode::CONFLICT,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Drp { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            ApiError::DrpSetupRefused => StatusCode::FORBIDDEN,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::TooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::BadParameter { .. } => "bad_parameter",
            ApiError::Invalid { .. } => "invalid_request",
            ApiError::Conflict(_) => "conflict",
            ApiError::Refused(_) => "refused",
            ApiError::Internal => "internal",
            ApiError::Drp { .. } | ApiError::DrpSetupRefused => "drp",
        }
    }

    /// Every code, for the OpenAPI document.
    pub const CODES: [&'static str; 12] = [
        "unauthorized",
        "forbidden",
        "not_found",
        "method_not_allowed",
        "payload_too_large",
        "unsupported_media_type",
        "invalid_json",
        "bad_parameter",
        "invalid_request",
        "conflict",
        "refused",
        "internal",
    ];
}

impl From<dsr_engine::Error> for ApiError {
    fn from(e: dsr_engine::Error) -> ApiError {
        match e {
            dsr_engine::Error::Core(dsr_core::Error::Request { field, message }) => {
                ApiError::Invalid { field, message }
            }
            dsr_engine::Error::Conflict(m) => ApiError::Conflict(m),
            dsr_engine::Error::NotFound(m) => ApiError::NotFound(m),
            dsr_engine::Error::Refused(m) => ApiError::Refused(m),
            other => {
                tracing::error!(error = %other, "request failed");
                ApiError::Internal
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Drp { message, fatal, .. } => {
                let status = self.status();
                let body = json!({"code": status.as_u16().to_string(), "message": message, "fatal": fatal});
                return (status, axum::Json(body)).into_response();
            }
            ApiError::DrpSetupRefused => return StatusCode::FORBIDDEN.into_response(),
            _ => {}
        }
        let mut error = json!({"code": self.code(), "message": self.to_string()});
        if let ApiError::Invalid { field, .. } | ApiError::BadParameter { field, .. } = &self {
            error["field"] = json!(field);
        }
        let mut resp = (self.status(), axum::Json(json!({ "error": error }))).into_response();
        if matches!(self, ApiError::Unauthorized) {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
