//! The handlers: JSON in, the queue's records out; queue refusals become
//! 404, 409, 429 and 503.

use crate::App;
use http::StatusCode;
use serde_json::json;
use server_kit::{json, json_status, ApiError, Req, Response};
use shared::tasks::{BatchRequest, Priority, QueueError, Status, TaskRequest, TaskType};
use shared::{FieldError, ValidationFailure};
use std::sync::Arc;

/// Largest `limit` of a listing.
const MAX_LIMIT: usize = 100;

fn from_queue(e: QueueError) -> ApiError {
    let message = e.to_string();
    match e {
        QueueError::Full { .. } => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "queue_full", message)
        }
        QueueError::NotFound(_) => ApiError::not_found(message),
        QueueError::AlreadyFinished(..) => {
            ApiError::new(StatusCode::CONFLICT, "already_finished", message)
        }
        QueueError::NotRetryable(..) => {
            ApiError::new(StatusCode::CONFLICT, "not_retryable", message)
        }
        QueueError::Closed => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", message)
        }
    }
}

fn journal_failed(e: std::io::Error) -> ApiError {
    ApiError::internal(format!("the journal could not record the task: {e}"))
}

/// `POST /tasks`: 201 with the task record.
pub async fn submit(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let request: TaskRequest = req.json().await?;
    let spec = request.validate()?;
    let task = app.queue.submit(spec.clone()).map_err(from_queue)?;
    if let Some(j) = &app.journal {
        // Durable before the answer; a failed write takes the task back.
        if let Err(e) = j.submitted(&task.id, &spec) {
            let _ = app.queue.cancel(&task.id);
            return Err(journal_failed(e));
        }
    }
    json_status(StatusCode::CREATED, &task)
}

/// `POST /tasks/batch`: 201 with the batch id and its tasks.
pub async fn batch(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let request: BatchRequest = req.json().await?;
    let batch = request.validate()?;
    let specs = batch.tasks.clone();
    let (batch_id, tasks) = app
        .queue
        .submit_batch(batch.tasks, batch.parallel, batch.max_concurrent)
        .map_err(from_queue)?;
    if let Some(j) = &app.journal {
        for (task, spec) in tasks.iter().zip(&specs) {
            if let Err(e) = j.submitted(&task.id, spec) {
                for t in &tasks {
                    let _ = app.queue.cancel(&t.id);
                }
                return Err(journal_failed(e));
            }
        }
    }
    json_status(
        StatusCode::CREATED,
        &json!({
            "batch_id": batch_id,
            "count": tasks.len(),
            "execute_parallel": batch.parallel,
            "max_concurrent": if batch.parallel { batch.max_concurrent } else { 1 },
            "tasks": tasks,
        }),
    )
}

/// `GET /tasks/{id}`.
pub async fn get(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let id: String = req.param("id")?;
    let task = app
        .queue
        .get(&id)
        .ok_or_else(|| from_queue(QueueError::NotFound(id)))?;
    json(&task)
}

/// `DELETE /tasks/{id}`: cancels; 409 when already finished.
pub async fn cancel(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let id: String = req.param("id")?;
    json(&app.queue.cancel(&id).map_err(from_queue)?)
}

/// `POST /tasks/{id}/retry`: 409 unless failed or cancelled.
pub async fn retry(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let id: String = req.param("id")?;
    json(&app.queue.retry(&id).map_err(from_queue)?)
}

fn enum_param<T: serde::de::DeserializeOwned>(
    value: Option<&str>,
    name: &str,
    choices: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let v = value.filter(|v| !v.is_empty())?;
    let parsed = serde_json::from_value(serde_json::Value::String(v.to_owned())).ok();
    if parsed.is_none() {
        errors.push(FieldError::new(
            name,
            "one_of",
            format!("must be one of {choices}"),
        ));
    }
    parsed
}

/// `GET /tasks?status&task_type&priority&limit&offset`: newest first.
pub async fn list(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let q = req.query();
    let limit = q.get::<usize>("limit")?.unwrap_or(20);
    let offset = q.get::<usize>("offset")?.unwrap_or(0);
    let mut errors = Vec::new();
    let status: Option<Status> = enum_param(
        q.str("status"),
        "status",
        "pending, running, completed, failed, cancelled, retrying",
        &mut errors,
    );
    let task_type: Option<TaskType> = enum_param(
        q.str("task_type"),
        "task_type",
        "computation, io_operation, network_request, data_processing, email_sending, report_generation",
        &mut errors,
    );
    let priority: Option<Priority> = enum_param(
        q.str("priority"),
        "priority",
        "low, normal, high, urgent",
        &mut errors,
    );
    if !(1..=MAX_LIMIT).contains(&limit) {
        errors.push(FieldError::new(
            "limit",
            "range",
            format!("must be from 1 to {MAX_LIMIT}"),
        ));
    }
    ValidationFailure::check(errors)?;
    let (total, tasks) = app.queue.list(status, task_type, priority, limit, offset);
    json(&json!({ "tasks": tasks, "total": total, "limit": limit, "offset": offset }))
}

/// `GET /stats`.
pub async fn stats(app: Arc<App>) -> Result<Response, ApiError> {
    json(&json!({
        "queue": app.queue.stats(),
        "durable": app.journal.is_some(),
        "uptime_seconds": app.started.elapsed().as_secs(),
    }))
}

/// `GET /health`: says whether accepted tasks survive a restart.
pub async fn health(app: Arc<App>) -> Result<Response, ApiError> {
    json(&json!({
        "status": "ok",
        "category": "background_tasks",
        "durable": app.journal.is_some(),
        "storage": if app.journal.is_some() { "journal" } else { "memory only" },
        "active_tasks": app.queue.active(),
        "uptime_seconds": app.started.elapsed().as_secs(),
    }))
}
