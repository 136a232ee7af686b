//! A connector's `transforms` and `predicates` keys, as Kafka Connect reads them:
//! `transforms=a,b`, `transforms.<a>.type`, `transforms.<a>.<key>`, `transforms.<a>.predicate`,
//! `transforms.<a>.negate`, `predicates=p`, `predicates.<p>.type`, `predicates.<p>.<key>`.
//! [`enrich`] adds every alias's keys to the connector's [`ConfigDef`] (so validation names a
//! bad `transforms.x.*` key, and `config/validate` lists them in a `Transforms: x` group);
//! [`Stages::parse`] reads them into what a task builds its chain from.

use aqueduct_sdk::config::parse_list;
use aqueduct_sdk::{
    ConfigDef, ConfigType, ConnectError, Importance, PredicateDescriptor, Props, Result, TransformDescriptor, Validator,
};

use crate::plugins::Plugins;

/// One `transforms.<alias>`: its plugin, its own keys, and the predicate it runs under.
#[derive(Clone)]
pub struct StageConfig {
    /// The alias.
    pub alias: String,
    /// The transform plugin.
    pub plugin: TransformDescriptor,
    /// Its keys, `transforms.<alias>.` removed (`type`, `predicate`, `negate` excluded).
    pub props: Props,
    /// `transforms.<alias>.predicate`: the predicate's alias, plugin and keys.
    pub predicate: Option<(String, PredicateDescriptor, Props)>,
    /// `transforms.<alias>.negate`: apply where the predicate does *not* match.
    pub negate: bool,
}

/// A connector's transform stages, in order.
#[derive(Clone, Default)]
pub struct Stages(pub Vec<StageConfig>);

/// Keys the runtime gives every transform alias, beside the transform's own.
const STAGE_KEYS: [&str; 4] = ["type", "predicate", "negate", "plugin.version"];

/// The `<prefix>plugin.version` key of a transform or predicate (KIP-891).
fn version_key(def: ConfigDef, prefix: &str, group: &str, what: &str) -> ConfigDef {
    def.define(
        &format!("{prefix}plugin.version"),
        ConfigType::String,
        Some(""),
        Importance::Low,
        &format!(
            "Version of the {what}: a version, a version range such as [1.0,2.0), or empty or latest for the newest."
        ),
    )
    .group(group)
}

/// The unknown-class problem of `type_key`.
fn not_found(type_key: &str, class: &str) -> KeyProblem {
    (
        type_key.to_owned(),
        format!("Invalid value {class} for configuration {type_key}: Class {class} could not be found."),
    )
}

/// A problem with one key: the key, and the message.
pub type KeyProblem = (String, String);

fn aliases(props: &Props, key: &str, problems: &mut Vec<KeyProblem>) -> Vec<String> {
    let list = parse_list(props.get(key).map(String::as_str).unwrap_or_default());
    let mut seen = Vec::new();
    for alias in &list {
        if seen.contains(alias) {
            let message =
                format!("Invalid value {} for configuration {key}: Duplicate alias provided.", list.join(","));
            problems.push((key.to_owned(), message));
            return Vec::new();
        }
        seen.push(alias.clone());
    }
    seen
}

/// The keys under `prefix`, prefix removed, `excluded` left out.
fn under(props: &Props, prefix: &str, excluded: &[&str]) -> Props {
    props
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|rest| (rest.to_owned(), v.clone())))
        .filter(|(k, _)| !excluded.contains(&k.as_str()))
        .collect()
}

/// Adds the keys of every configured transform and predicate to `def`, and returns the
/// problems that are not about one key's value (an unknown class, a duplicate alias, a
/// predicate alias not in `predicates`).
pub fn enrich(def: ConfigDef, plugins: &Plugins, props: &Props) -> (ConfigDef, Vec<KeyProblem>) {
    let mut problems = Vec::new();
    let mut def = def
        .define(
            "transforms",
            ConfigType::List,
            Some(""),
            Importance::Low,
            "Aliases of the transforms applied to records, in order.",
        )
        .group("Transforms")
        .define(
            "predicates",
            ConfigType::List,
            Some(""),
            Importance::Low,
            "Aliases of the predicates transforms may use.",
        )
        .group("Predicates");
    let predicate_aliases = aliases(props, "predicates", &mut problems);
    for alias in aliases(props, "transforms", &mut problems) {
        let prefix = format!("transforms.{alias}.");
        let group = format!("Transforms: {alias}");
        let type_key = format!("{prefix}type");
        def = def
            .define(&type_key, ConfigType::String, None, Importance::High, "Class of the transform.")
            .group(&group)
            .define(
                &format!("{prefix}negate"),
                ConfigType::Boolean,
                Some("false"),
                Importance::Medium,
                "Apply the transform where its predicate does not match.",
            )
            .group(&group)
            .define(
                &format!("{prefix}predicate"),
                ConfigType::String,
                Some(""),
                Importance::Medium,
                "Alias of the predicate deciding which records the transform applies to.",
            )
            .group(&group)
            .validator(Validator::OneOf(
                std::iter::once(String::new()).chain(predicate_aliases.iter().cloned()).collect(),
            ));
        def = version_key(def, &prefix, &group, "transform");
        if let Some(class) = props.get(&type_key).filter(|c| !c.trim().is_empty()) {
            let version_key = format!("{prefix}plugin.version");
            match plugins.transform_version(class, &version_key, props.get(&version_key).map(String::as_str)) {
                Ok(Some(plugin)) => def = def.merge(&(plugin.factory)().config_def().prefixed(&prefix, &group)),
                Ok(None) => problems.push(not_found(&type_key, class)),
                Err(e) => problems.push((version_key, e.message().to_owned())),
            }
        }
    }
    for alias in &predicate_aliases {
        let prefix = format!("predicates.{alias}.");
        let group = format!("Predicates: {alias}");
        let type_key = format!("{prefix}type");
        def =
            def.define(&type_key, ConfigType::String, None, Importance::High, "Class of the predicate.").group(&group);
        def = version_key(def, &prefix, &group, "predicate");
        if let Some(class) = props.get(&type_key).filter(|c| !c.trim().is_empty()) {
            let version_key = format!("{prefix}plugin.version");
            match plugins.predicate_version(class, &version_key, props.get(&version_key).map(String::as_str)) {
                Ok(Some(plugin)) => def = def.merge(&(plugin.factory)().config_def().prefixed(&prefix, &group)),
                Ok(None) => problems.push(not_found(&type_key, class)),
                Err(e) => problems.push((version_key, e.message().to_owned())),
            }
        }
    }
    (def, problems)
}

impl Stages {
    /// Reads the stages of a connector config; the error names each bad key.
    pub fn parse(plugins: &Plugins, props: &Props) -> Result<Stages> {
        let (def, problems) = enrich(ConfigDef::new(), plugins, props);
        let mut problems: Vec<String> = problems.into_iter().map(|(_, message)| message).collect();
        problems.extend(def.validate(props).into_iter().flat_map(|v| v.errors));
        if !problems.is_empty() {
            return Err(ConnectError::config(problems.join("; ")));
        }
        let mut stages = Vec::new();
        for alias in aliases(props, "transforms", &mut Vec::new()) {
            let prefix = format!("transforms.{alias}.");
            let get = |k: &str| props.get(&format!("{prefix}{k}")).map(|v| v.trim()).unwrap_or_default();
            let version = props.get(&format!("{prefix}plugin.version")).map(String::as_str);
            let plugin = plugins
                .transform_version(get("type"), &format!("{prefix}plugin.version"), version)?
                .ok_or_else(|| ConnectError::config(format!("{prefix}type: unknown transform {}", get("type"))))?
                .clone();
            let predicate = match get("predicate") {
                "" => None,
                p => {
                    let key = format!("predicates.{p}.type");
                    let class = props.get(&key).map(String::as_str).unwrap_or_default();
                    let version_key = format!("predicates.{p}.plugin.version");
                    let descriptor = plugins
                        .predicate_version(class, &version_key, props.get(&version_key).map(String::as_str))?
                        .ok_or_else(|| ConnectError::config(format!("{key}: unknown predicate {class}")))?
                        .clone();
                    let own = under(props, &format!("predicates.{p}."), &["type", "plugin.version"]);
                    Some((p.to_owned(), descriptor, own))
                }
            };
            stages.push(StageConfig {
                alias,
                plugin,
                props: under(props, &prefix, &STAGE_KEYS),
                predicate,
                negate: get("negate").eq_ignore_ascii_case("true"),
            });
        }
        Ok(Stages(stages))
    }
}
