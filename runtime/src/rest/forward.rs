//! Forwarding writes to the group leader (distributed mode): a follower passes a write request
//! on to the leader's URL and returns its answer as is, as Kafka Connect's `RestClient` does;
//! during a rebalance it waits briefly for a leader, then answers 409.

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::api::Route;
use super::{ApiError, AppState};

/// Set on a forwarded request, so the leader never forwards it again.
pub const FORWARDED_HEADER: &str = "x-aqueduct-forwarded";
/// How long a write waits for a rebalance to end before it is answered 409.
const REBALANCE_WAIT: Duration = Duration::from_secs(10);
/// Largest body forwarded.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The middleware: writes under `/connectors` go where the herder says (task restarts are the
/// herder's own business: it sends them to the task's worker).
pub async fn forward_writes(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let is_write = matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    let task_restart = path.contains("/tasks/") && path.ends_with("/restart");
    if !is_write || !path.starts_with("/connectors") || task_restart || request.headers().contains_key(FORWARDED_HEADER)
    {
        return next.run(request).await;
    }
    let Ok(herder) = state.herder() else { return next.run(request).await };
    let herder = herder.clone();
    let deadline = tokio::time::Instant::now() + REBALANCE_WAIT;
    let route = loop {
        match herder.route_write().await {
            Route::Rebalancing if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            route => break route,
        }
    };
    match route {
        Route::Local => next.run(request).await,
        Route::Rebalancing => {
            ApiError::new(409, "Request cannot be completed because a rebalance is expected").into_response()
        }
        Route::Forward(base) => forward(&base, request).await.unwrap_or_else(IntoResponse::into_response),
    }
}

async fn forward(base: &str, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let target = format!(
        "{}{}",
        base.trim_end_matches('/'),
        parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or_else(|| parts.uri.path())
    );
    let body = to_bytes(body, MAX_BODY).await.map_err(|e| ApiError::new(400, format!("reading the body: {e}")))?;
    let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes())
        .map_err(|e| ApiError::new(400, format!("method: {e}")))?;
    let mut outgoing = reqwest::Client::new()
        .request(method, &target)
        .timeout(Duration::from_secs(90))
        .header(FORWARDED_HEADER, "1")
        .body(body.to_vec());
    // The content type, and an internal request's signature (KIP-507), go along.
    for name in ["content-type", "x-connect-authorization", "x-connect-request-signature-algorithm"] {
        if let Some(v) = parts.headers.get(name).and_then(|v| v.to_str().ok()) {
            outgoing = outgoing.header(name, v);
        }
    }
    tracing::debug!(%target, "forwarding a write to the leader");
    let answer = outgoing
        .send()
        .await
        .map_err(|e| ApiError::new(500, format!("forwarding the request to the leader at {target}: {e}")))?;
    let code = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::builder().status(code);
    for name in ["content-type", "location"] {
        if let Some(v) = answer.headers().get(name).and_then(|v| v.to_str().ok()) {
            response = response.header(name, v.to_owned());
        }
    }
    let bytes = answer.bytes().await.map_err(|e| ApiError::new(500, format!("reading the leader's answer: {e}")))?;
    response.body(Body::from(bytes)).map_err(|e| ApiError::new(500, e.to_string()))
}
