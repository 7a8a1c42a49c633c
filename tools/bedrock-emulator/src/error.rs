//! Errors in the restJson1 shape the AWS SDKs parse: an `x-amzn-errortype` header and a JSON
//! body with a `message` member.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An error the emulated service answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: String,
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: impl Into<String>, status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            status,
            message: message.into(),
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("ResourceNotFoundException", StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new("ConflictException", StatusCode::CONFLICT, message)
    }

    /// Builds the error a fault rule names; unknown codes become a 500 with that code.
    pub fn from_code(code: &str, message: impl Into<String>) -> Self {
        let status = match code {
            "ThrottlingException" => StatusCode::TOO_MANY_REQUESTS,
            "ValidationException" => StatusCode::BAD_REQUEST,
            "AccessDeniedException" => StatusCode::FORBIDDEN,
            "ResourceNotFoundException" => StatusCode::NOT_FOUND,
            "ConflictException" => StatusCode::CONFLICT,
            "ServiceQuotaExceededException" => StatusCode::BAD_REQUEST,
            "ServiceUnavailableException" => StatusCode::SERVICE_UNAVAILABLE,
            "UnrecognizedClientException" => StatusCode::FORBIDDEN,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(code, status, message)
    }

    /// The error a fault rule injects, with AWS's own message where the code has a fixed one:
    /// `UnrecognizedClientException` is what every call in an opt-in region the account has
    /// not enabled answers.
    pub fn injected(code: &str) -> Self {
        let message = match code {
            "UnrecognizedClientException" => {
                "The security token included in the request is invalid.".to_owned()
            }
            _ => format!("Injected fault: {code}"),
        };
        Self::from_code(code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(serde_json::json!({ "message": self.message })),
        )
            .into_response();
        if let Ok(value) = HeaderValue::from_str(&self.code) {
            response.headers_mut().insert("x-amzn-errortype", value);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
