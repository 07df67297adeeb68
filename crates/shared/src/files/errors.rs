//! Store and multipart failures as the contract's errors: only file-system
//! faults are 500s.

use super::framing::Violation;
use super::StoreError;
use crate::api::Error;
use crate::FieldError;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => Self::not_found(format!("no file with id {id:?}")),
            StoreError::TooLarge { limit } => Self::payload_too_large(limit),
            StoreError::ReadOnly(id) => Self::conflict(
                "read_only",
                format!("{id:?} is a seeded fixture and cannot be deleted"),
            ),
            StoreError::NotAnImage(why) => Self::new(422, "not_an_image", why.clone())
                .with_details(vec![FieldError::new("file_id", "not_an_image", why)]),
            StoreError::Invalid(failure) => Self::validation(failure),
            StoreError::Full { limit } => Self::new(
                507,
                "insufficient_storage",
                format!("uploads in progress fill the storage quota of {limit} bytes"),
            ),
            StoreError::Io(e) => {
                tracing::error!("storage failure: {e}");
                Self::internal(format!("storage failure: {e}"))
            }
        }
    }
}

impl From<multer::Error> for Error {
    fn from(e: multer::Error) -> Self {
        match e {
            multer::Error::StreamSizeExceeded { limit } => Self::payload_too_large(limit),
            multer::Error::FieldSizeExceeded { limit, field_name } => Self::new(
                413,
                "payload_too_large",
                format!(
                    "form field {:?} exceeds the limit of {limit} bytes",
                    field_name.unwrap_or_default()
                ),
            ),
            multer::Error::StreamReadFailed(cause) => match cause.downcast_ref::<Violation>() {
                Some(v @ Violation::HeaderTooLarge) => {
                    Self::new(413, "payload_too_large", v.to_string())
                }
                Some(v @ Violation::NoBoundary) => {
                    Self::bad_request("malformed_multipart", v.to_string())
                }
                None => Self::bad_request(
                    "body_read_error",
                    format!("could not read the request body: {cause}"),
                ),
            },
            other => Self::bad_request(
                "malformed_multipart",
                format!("malformed multipart body: {other}"),
            ),
        }
    }
}
