//! Event tracking and the dashboard.

use crate::App;
use chrono::{NaiveDate, Utc};
use http::StatusCode;
use serde_json::json;
use server_kit::{json, json_status, ApiError, Req, Response};
use shared::realworld::analytics::{EventRequest, EVENT_TYPES};
use shared::FieldError;
use std::sync::Arc;

/// `POST /api/analytics/track`: 202 once the event is in the aggregates.
pub async fn track(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let request: EventRequest = req.json().await?;
    let analytics = &app.world.analytics;
    let event = request
        .validate(Utc::now(), analytics.limits().window_days)
        .map_err(ApiError::validation)?;
    let event = analytics.track(event);
    json_status(
        StatusCode::ACCEPTED,
        &json!({
            "accepted": true,
            "event_id": event.id,
            "event_type": EVENT_TYPES[event.kind],
            "session_id": event.session_id,
            "timestamp": event.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }),
    )
}

fn date(req_value: Option<&str>, name: &str) -> Result<Option<NaiveDate>, ApiError> {
    req_value
        .map(|v| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("query parameter `{name}` must be a date (YYYY-MM-DD), got {v:?}"),
                )
            })
        })
        .transpose()
}

/// `GET /api/analytics/dashboard?date_from&date_to`: aggregates over the
/// inclusive range (either end open).
pub async fn dashboard(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let q = req.query();
    let from = date(q.str("date_from"), "date_from")?;
    let to = date(q.str("date_to"), "date_to")?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(ApiError::validation(shared::ValidationFailure::single(
                FieldError::new("date_to", "range", "must not be before date_from"),
            )));
        }
    }
    json(&app.world.analytics.dashboard(from, to))
}
