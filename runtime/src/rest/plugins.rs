//! `/connector-plugins` handlers.

use std::collections::HashMap;

use aqueduct_sdk::{ConfigKey, PluginDescriptor};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};

use super::{parse_body, ApiError, ApiResult, AppState};
use crate::herder::Herder;
use crate::transforms;
use crate::worker_config::json_object_to_props;

/// `GET /connector-plugins[?connectorsOnly=false]`: the connectors; with `connectorsOnly=false`
/// also every converter, transform and predicate, built in or loaded from `plugin.path`
/// (Kafka Connect's `{"class", "type", "version"}`).
pub async fn list(State(s): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    let mut out: Vec<Value> = s
        .plugins
        .all()
        .iter()
        .map(|p| json!({"class": p.class, "type": p.factory.kind(), "version": p.version}))
        .collect();
    if q.get("connectorsOnly").is_some_and(|v| v.eq_ignore_ascii_case("false")) {
        for c in s.plugins.converters() {
            out.push(json!({"class": c.class, "type": "converter", "version": c.version}));
        }
        for t in s.plugins.transforms() {
            out.push(json!({"class": t.class, "type": "transformation", "version": t.version}));
        }
        for p in s.plugins.predicates() {
            out.push(json!({"class": p.class, "type": "predicate", "version": p.version}));
        }
    }
    Json(Value::Array(out))
}

fn find(s: &AppState, plugin: &str) -> ApiResult<PluginDescriptor> {
    s.plugins.find(plugin).cloned().map_err(|e| ApiError::new(404, e.to_string()))
}

fn definition(key: &ConfigKey, order: usize) -> Value {
    json!({
        "name": key.name,
        "type": key.ty.name(),
        "required": key.default.is_none(),
        "default_value": key.default,
        "importance": key.importance.name(),
        "documentation": key.documentation,
        "group": key.group,
        "width": "NONE",
        "display_name": key.name,
        "dependents": [],
        "order": order,
    })
}

/// `GET /connector-plugins/{plugin}/config`: the plugin's own keys; a transform's or a
/// predicate's too (KIP-769).
pub async fn config(State(s): State<AppState>, Path(plugin): Path<String>) -> ApiResult<Json<Value>> {
    let def = if let Some(t) = s.plugins.transform(&plugin) {
        (t.factory)().config_def()
    } else if let Some(p) = s.plugins.predicate(&plugin) {
        (p.factory)().config_def()
    } else if let Some(c) = s.plugins.converter(&plugin) {
        (c.factory)().config_def()
    } else {
        find(&s, &plugin)?.factory.config_def()
    };
    Ok(Json(Value::Array(def.keys().iter().enumerate().map(|(i, k)| definition(k, i + 1)).collect())))
}

/// `PUT /connector-plugins/{plugin}/config/validate`: every key with its errors.
pub async fn validate(
    State(s): State<AppState>,
    Path(plugin_name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let plugin = find(&s, &plugin_name)?;
    let props = json_object_to_props(&parse_body::<Value>(&body)?).map_err(|e| ApiError::new(400, format!("{e:#}")))?;
    if let Some(class) = props.get("connector.class") {
        if !plugin.answers_to(class) {
            return Err(ApiError::new(
                400,
                format!("Included connector type {class} does not match request type {plugin_name}"),
            ));
        }
    }
    let (def, problems) = transforms::enrich(Herder::config_def(&plugin), &s.plugins, &props);
    let mut validations = def.validate(&props);
    for (key, message) in problems {
        if let Some(v) = validations.iter_mut().find(|v| v.name == key) {
            v.errors.push(message);
        }
    }
    for extra in plugin.factory.validate(&props) {
        if let Some(v) = validations.iter_mut().find(|v| v.name == extra.name) {
            for e in extra.errors {
                if !v.errors.contains(&e) {
                    v.errors.push(e);
                }
            }
        }
    }
    let mut groups: Vec<&str> = Vec::new();
    let mut configs = Vec::new();
    let mut error_count = 0;
    for (i, (key, v)) in def.keys().iter().zip(&validations).enumerate() {
        if let Some(g) = key.group.as_deref() {
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
        error_count += v.errors.len();
        configs.push(json!({
            "definition": definition(key, i + 1),
            "value": {
                "name": v.name,
                "value": v.value,
                "recommended_values": v.recommended_values,
                "errors": v.errors,
                "visible": true,
            }
        }));
    }
    Ok(Json(json!({"name": plugin.class, "error_count": error_count, "groups": groups, "configs": configs})))
}
