//! `/connectors` handlers.

use std::collections::HashMap;

use aqueduct_sdk::Props;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::{parse_body, ApiError, ApiResult, AppState};
use crate::herder::TargetState;
use crate::worker_config::json_object_to_props;

fn props_from(value: &Value) -> ApiResult<Props> {
    json_object_to_props(value).map_err(|e| ApiError::new(400, format!("{e:#}")))
}

/// `GET /connectors[?expand=status&expand=info]`
pub async fn list(State(s): State<AppState>, RawQuery(query): RawQuery) -> ApiResult<Json<Value>> {
    let names = s.herder()?.names().await;
    let expand: Vec<String> =
        query.unwrap_or_default().split('&').filter_map(|kv| kv.strip_prefix("expand=")).map(str::to_owned).collect();
    if expand.is_empty() {
        return Ok(Json(json!(names)));
    }
    let mut out = Map::new();
    for name in names {
        let mut entry = Map::new();
        if expand.iter().any(|e| e == "status") {
            entry.insert("status".into(), s.herder()?.status(&name).await?);
        }
        if expand.iter().any(|e| e == "info") {
            entry.insert("info".into(), json!(s.herder()?.info(&name).await?));
        }
        out.insert(name, Value::Object(entry));
    }
    Ok(Json(Value::Object(out)))
}

/// `POST /connectors` with `{"name": ..., "config": {...}}`
pub async fn create(State(s): State<AppState>, body: Bytes) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    let config = body.get("config").cloned().unwrap_or(Value::Object(Map::new()));
    let mut props = props_from(&config)?;
    if name.trim().is_empty() {
        return Err(ApiError::new(400, "Connector name must not be empty"));
    }
    check_name(&name, &mut props)?;
    let (info, _) = s.herder()?.put_connector(props, false).await?;
    let location = format!("/connectors/{name}");
    Ok((StatusCode::CREATED, [(axum::http::header::LOCATION, location)], Json(json!(info))).into_response())
}

/// The config's `name` must match the URL's; when absent it is set from it.
fn check_name(name: &str, props: &mut Props) -> ApiResult<()> {
    match props.get("name") {
        Some(n) if n != name => Err(ApiError::new(
            400,
            format!("Connector name configuration ({n}) doesn't match connector name in the URL ({name})"),
        )),
        _ => {
            props.insert("name".to_owned(), name.to_owned());
            Ok(())
        }
    }
}

/// `GET /connectors/{name}`
pub async fn info(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.herder()?.info(&name).await?)))
}

/// `DELETE /connectors/{name}`
pub async fn delete(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    s.herder()?.delete(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /connectors/{name}/config`
pub async fn config(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.herder()?.info(&name).await?.config)))
}

/// `PUT /connectors/{name}/config`: creates (201) or updates (200).
pub async fn put_config(State(s): State<AppState>, Path(name): Path<String>, body: Bytes) -> ApiResult<Response> {
    let mut props = props_from(&parse_body::<Value>(&body)?)?;
    check_name(&name, &mut props)?;
    let (info, created) = s.herder()?.put_connector(props, true).await?;
    let code = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((code, Json(json!(info))).into_response())
}

/// `PATCH /connectors/{name}/config`: merges keys; `null` removes a key.
pub async fn patch_config(State(s): State<AppState>, Path(name): Path<String>, body: Bytes) -> ApiResult<Json<Value>> {
    let patch: Value = parse_body(&body)?;
    let Some(patch) = patch.as_object() else {
        return Err(ApiError::new(400, "The request body must be a JSON object"));
    };
    let mut props = s.herder()?.info(&name).await?.config;
    let mut set = Map::new();
    for (k, v) in patch {
        if v.is_null() {
            props.remove(k);
        } else {
            set.insert(k.clone(), v.clone());
        }
    }
    props.extend(props_from(&Value::Object(set))?);
    check_name(&name, &mut props)?;
    let (info, _) = s.herder()?.put_connector(props, true).await?;
    Ok(Json(json!(info)))
}

/// `GET /connectors/{name}/status`
pub async fn status(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.herder()?.status(&name).await?))
}

/// `GET /connectors/{name}/tasks`
pub async fn tasks(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.herder()?.tasks(&name).await?))
}

fn task_id(task: &str) -> ApiResult<usize> {
    task.parse().map_err(|_| ApiError::new(404, format!("Task {task} not found")))
}

/// `GET /connectors/{name}/tasks/{task}/status`
pub async fn task_status(
    State(s): State<AppState>,
    Path((name, task)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(s.herder()?.task_status(&name, task_id(&task)?).await?))
}

/// `POST /connectors/{name}/tasks/{task}/restart`
pub async fn restart_task(
    State(s): State<AppState>,
    Path((name, task)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.herder()?.restart_task(&name, task_id(&task)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /connectors/{name}/restart?includeTasks=&onlyFailed=`: 204 for a plain connector
/// restart, 202 with the restart plan otherwise: the status with what is restarted shown as
/// RESTARTING (the connector unless `onlyFailed` and not FAILED; with `includeTasks`, each task
/// unless `onlyFailed` and not FAILED), as Kafka Connect answers.
pub async fn restart(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let flag = |k: &str| q.get(k).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let (include_tasks, only_failed) = (flag("includeTasks"), flag("onlyFailed"));
    s.herder()?.restart(&name, include_tasks, only_failed).await?;
    if !include_tasks && !only_failed {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let mut plan = s.herder()?.status(&name).await?;
    let restarts = |state: &Value| !only_failed || state == "FAILED";
    if restarts(&plan["connector"]["state"]) {
        plan["connector"]["state"] = json!("RESTARTING");
    }
    for task in plan["tasks"].as_array_mut().into_iter().flatten() {
        if include_tasks && restarts(&task["state"]) {
            task["state"] = json!("RESTARTING");
        }
    }
    Ok((StatusCode::ACCEPTED, Json(plan)).into_response())
}

/// `PUT /connectors/{name}/pause`
pub async fn pause(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    s.herder()?.set_target(&name, TargetState::Paused).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `PUT /connectors/{name}/resume`
pub async fn resume(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    s.herder()?.set_target(&name, TargetState::Started).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `PUT /connectors/{name}/stop`
pub async fn stop(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    s.herder()?.set_target(&name, TargetState::Stopped).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /connectors/{name}/topics`
pub async fn topics(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    let topics = s.herder()?.topics(&name).await?;
    Ok(Json(json!({ name: { "topics": topics } })))
}

/// `PUT /connectors/{name}/topics/reset`
pub async fn reset_topics(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    s.herder()?.reset_topics(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /connectors/{name}/offsets`
pub async fn offsets(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.herder()?.offsets(&name).await?))
}

/// `PATCH /connectors/{name}/offsets` with `{"offsets": [{"partition": {...}, "offset": {...}}]}`
pub async fn alter_offsets(State(s): State<AppState>, Path(name): Path<String>, body: Bytes) -> ApiResult<Json<Value>> {
    let body: Value = parse_body(&body)?;
    Ok(Json(s.herder()?.change_offsets(&name, Some(body)).await?))
}

/// `DELETE /connectors/{name}/offsets`
pub async fn reset_offsets(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.herder()?.change_offsets(&name, None).await?))
}

/// `PUT /connectors/{name}/fence`: internal, signed by the sending worker (distributed mode).
pub async fn fence(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    s.herder()?.fence_zombies(&name, &headers, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}
