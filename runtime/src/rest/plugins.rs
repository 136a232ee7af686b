//! `/connector-plugins` handlers.

use std::collections::HashMap;

use aqueduct_sdk::{ConfigKey, ConnectError, PluginDescriptor, Props};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};

use super::{parse_body, ApiError, ApiResult, AppState};
use crate::converter;
use crate::herder::Herder;
use crate::transforms;
use crate::worker_config::{json_object_to_props, strip_prefix};

/// `GET /connector-plugins[?connectorsOnly=false]`: the connectors; with `connectorsOnly=false`
/// also every converter, header converter, transform and predicate, built in or loaded from `plugin.path`
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
        for c in s.plugins.header_converters() {
            out.push(json!({"class": c.class, "type": "header_converter", "version": c.version}));
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

/// The connector plugin `plugin` at `version` (a version, a Maven range or `latest`; the newest
/// without one): 404 for an unknown plugin, 400 for a version it does not have.
fn find(s: &AppState, plugin: &str, version: Option<&str>) -> ApiResult<PluginDescriptor> {
    s.plugins.find(plugin).map_err(|e| ApiError::new(404, e.to_string()))?;
    s.plugins.find_version(plugin, version).cloned().map_err(|e| ApiError::new(400, e.to_string()))
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

/// `GET /connector-plugins/{plugin}/config[?version=]`: a connector's keys, the common ones
/// first; a transform's, a predicate's or a converter's too (KIP-769); of the version asked for
/// (KIP-891; the newest without one).
pub async fn config(
    State(s): State<AppState>,
    Path(plugin): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let version = q.get("version").map(String::as_str);
    let bad = |e: ConnectError| ApiError::new(400, e.to_string());
    let plugins = &s.plugins;
    let def = if let Some(t) = plugins.transform_version(&plugin, "version", version).map_err(bad)? {
        (t.factory)().config_def()
    } else if let Some(p) = plugins.predicate_version(&plugin, "version", version).map_err(bad)? {
        (p.factory)().config_def()
    } else if let Some(c) = plugins.header_converter_version(&plugin, "version", version).map_err(bad)? {
        (c.factory)().config_def()
    } else {
        // A connector's with the common connector keys first, as Kafka Connect 4.1 lists them.
        Herder::config_def(&find(&s, &plugin, version)?)
    };
    Ok(Json(Value::Array(def.keys().iter().enumerate().map(|(i, k)| definition(k, i + 1)).collect())))
}

/// `PUT /connector-plugins/{plugin}/config/validate`: every key with its errors.
pub async fn validate(
    State(s): State<AppState>,
    Path(plugin_name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let props = json_object_to_props(&parse_body::<Value>(&body)?).map_err(|e| ApiError::new(400, format!("{e:#}")))?;
    // A version that is not installed is an error on the keys naming it, over the newest
    // version's keys, as Kafka Connect 4.1 answers.
    let mut plugin = find(&s, &plugin_name, None)?;
    let mut version_error = None;
    match s.plugins.find_version(&plugin_name, props.get("connector.plugin.version").map(String::as_str)) {
        Ok(found) => plugin = found.clone(),
        Err(e) => version_error = Some(e.message().to_owned()),
    }
    if let Some(class) = props.get("connector.class") {
        if !plugin.answers_to(class) {
            return Err(ApiError::new(
                400,
                format!("Included connector type {class} does not match request type {plugin_name}"),
            ));
        }
    }
    let (def, mut problems) = transforms::enrich(Herder::config_def(&plugin), &s.plugins, &props);
    if let Some(message) = &version_error {
        for key in ["connector.class", "connector.plugin.version"] {
            problems.push((key.to_owned(), message.clone()));
        }
    }
    problems.extend(converter_problems(&s, &props));
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

/// The connector's own `key.converter`, `value.converter` and `header.converter` that cannot be
/// built (an unknown class or version, a bad setting), each with its error.
fn converter_problems(s: &AppState, props: &Props) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for key in ["key.converter", "value.converter", converter::HEADER_CONVERTER] {
        let Some(class) = props.get(key).filter(|c| !c.trim().is_empty()) else { continue };
        let settings = strip_prefix(props, &format!("{key}."));
        if let Err(e) = converter::resolve(&s.plugins, key, class, &settings) {
            problems.push((key.to_owned(), e.message().to_owned()));
        }
    }
    problems
}
