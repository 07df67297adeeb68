//! Store and multipart failures as the suite's JSON errors.

use http::StatusCode;
use server_kit::ApiError;
use shared::files::StoreError;
use shared::FieldError;

/// The HTTP error for a store failure; only file-system faults are 500s.
pub fn from_store(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound(id) => ApiError::not_found(format!("no file with id {id:?}")),
        StoreError::TooLarge { limit } => too_large(limit),
        StoreError::ReadOnly(id) => ApiError::new(
            StatusCode::CONFLICT,
            "read_only",
            format!("{id:?} is a seeded fixture and cannot be deleted"),
        ),
        StoreError::NotAnImage(why) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_an_image",
            why.clone(),
        )
        .with_details(vec![FieldError::new("file_id", "not_an_image", why)]),
        StoreError::Invalid(failure) => ApiError::validation(failure),
        StoreError::Io(e) => {
            tracing::error!("storage failure: {e}");
            ApiError::internal(format!("storage failure: {e}"))
        }
    }
}

/// 413 for a file or request over `limit` bytes.
pub fn too_large(limit: u64) -> ApiError {
    ApiError::payload_too_large(usize::try_from(limit).unwrap_or(usize::MAX))
}

/// The HTTP error for a multipart parsing failure.
pub fn from_multipart(e: multer::Error) -> ApiError {
    match e {
        multer::Error::StreamSizeExceeded { limit } => too_large(limit),
        multer::Error::FieldSizeExceeded { limit, field_name } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "form field {:?} exceeds the limit of {limit} bytes",
                field_name.unwrap_or_default()
            ),
        ),
        multer::Error::StreamReadFailed(cause) => ApiError::bad_request(
            "body_read_error",
            format!("could not read the request body: {cause}"),
        ),
        other => ApiError::bad_request(
            "malformed_multipart",
            format!("malformed multipart body: {other}"),
        ),
    }
}

/// 422 naming one field.
pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> ApiError {
    let message = message.into();
    ApiError::validation(shared::ValidationFailure::single(FieldError::new(
        field, code, message,
    )))
}
