//! The REST API: Kafka Connect's paths, status codes and JSON shapes.

pub mod api;
mod connectors;
pub mod forward;
mod plugins;

use std::sync::{Arc, Mutex, OnceLock};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::json;

use crate::herder::HerderError;
use crate::plugins::Plugins;
pub use api::{ConnectHerder, Route};

/// The state every handler sees.
#[derive(Clone)]
pub struct AppState {
    /// The herder, once the worker reached Kafka and loaded its offsets.
    pub herder: Arc<OnceLock<Arc<dyn ConnectHerder>>>,
    /// Why the herder is not there yet (e.g. Kafka unreachable).
    pub startup_problem: Arc<Mutex<String>>,
    /// The plugins, answerable before Kafka is reachable.
    pub plugins: Plugins,
    /// The Kafka cluster id, shown at `GET /`.
    pub kafka_cluster_id: Arc<OnceLock<String>>,
}

impl AppState {
    /// State for a worker that is still starting.
    pub fn new(plugins: Plugins) -> Self {
        AppState {
            herder: Arc::default(),
            startup_problem: Arc::new(Mutex::new("the worker is starting".to_owned())),
            plugins,
            kafka_cluster_id: Arc::default(),
        }
    }

    /// The herder, or 503 with the reason the worker is not ready.
    pub fn herder(&self) -> ApiResult<&Arc<dyn ConnectHerder>> {
        self.herder.get().ok_or_else(|| {
            let problem = self.startup_problem.lock().map(|p| p.clone()).unwrap_or_default();
            ApiError::new(503, format!("The worker is not ready yet: {problem}"))
        })
    }
}

/// An error response: `{"error_code": N, "message": "..."}`.
#[derive(Debug)]
pub struct ApiError(pub HerderError);

impl ApiError {
    /// An error with a status code and message.
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        ApiError(HerderError { code, message: message.into() })
    }
}

impl From<HerderError> for ApiError {
    fn from(e: HerderError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.0.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, Json(json!({"error_code": self.0.code, "message": self.0.message}))).into_response()
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;

/// Parses a JSON request body, answering 400 with the parser's reason when malformed.
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| ApiError::new(400, format!("Malformed JSON in request body: {e}")))
}

/// Every route.
pub fn router(state: AppState) -> Router {
    use connectors::*;
    Router::new()
        .route("/", get(root))
        .route("/connectors", get(list).post(create))
        .route("/connectors/{name}", get(info).delete(delete))
        .route("/connectors/{name}/config", get(config).put(put_config).patch(patch_config))
        .route("/connectors/{name}/status", get(status))
        .route("/connectors/{name}/tasks", get(tasks))
        .route("/connectors/{name}/tasks/{task}/status", get(task_status))
        .route("/connectors/{name}/tasks/{task}/restart", post(restart_task))
        .route("/connectors/{name}/restart", post(restart))
        .route("/connectors/{name}/pause", put(pause))
        .route("/connectors/{name}/resume", put(resume))
        .route("/connectors/{name}/stop", put(stop))
        .route("/connectors/{name}/topics", get(topics))
        .route("/connectors/{name}/topics/reset", put(reset_topics))
        .route("/connectors/{name}/offsets", get(offsets).patch(alter_offsets).delete(reset_offsets))
        .route("/connectors/{name}/fence", put(fence))
        .route("/connector-plugins", get(plugins::list))
        .route("/connector-plugins/{plugin}/config", get(plugins::config))
        .route("/connector-plugins/{plugin}/config/validate", put(plugins::validate))
        .layer(axum::middleware::from_fn_with_state(state.clone(), forward::forward_writes))
        .fallback(|| async { ApiError::new(404, "HTTP 404 Not Found") })
        .method_not_allowed_fallback(|| async { ApiError::new(405, "HTTP 405 Method Not Allowed") })
        .with_state(state)
}

async fn root(axum::extract::State(state): axum::extract::State<AppState>) -> Json<serde_json::Value> {
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "commit": option_env!("AQUEDUCT_COMMIT").unwrap_or("unknown"),
        "kafka_cluster_id": state.kafka_cluster_id.get().cloned(),
    }))
}
