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
const STAGE_KEYS: [&str; 3] = ["type", "predicate", "negate"];

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
        if let Some(class) = props.get(&type_key).filter(|c| !c.trim().is_empty()) {
            match plugins.transform(class) {
                Some(plugin) => def = def.merge(&(plugin.factory)().config_def().prefixed(&prefix, &group)),
                None => problems.push((
                    type_key.clone(),
                    format!("Invalid value {class} for configuration {type_key}: Class {class} could not be found."),
                )),
            }
        }
    }
    for alias in &predicate_aliases {
        let prefix = format!("predicates.{alias}.");
        let group = format!("Predicates: {alias}");
        let type_key = format!("{prefix}type");
        def =
            def.define(&type_key, ConfigType::String, None, Importance::High, "Class of the predicate.").group(&group);
        if let Some(class) = props.get(&type_key).filter(|c| !c.trim().is_empty()) {
            match plugins.predicate(class) {
                Some(plugin) => def = def.merge(&(plugin.factory)().config_def().prefixed(&prefix, &group)),
                None => problems.push((
                    type_key.clone(),
                    format!("Invalid value {class} for configuration {type_key}: Class {class} could not be found."),
                )),
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
            let plugin = plugins
                .transform(get("type"))
                .ok_or_else(|| ConnectError::config(format!("{prefix}type: unknown transform {}", get("type"))))?
                .clone();
            let predicate = match get("predicate") {
                "" => None,
                p => {
                    let key = format!("predicates.{p}.type");
                    let class = props.get(&key).map(String::as_str).unwrap_or_default();
                    let descriptor = plugins
                        .predicate(class)
                        .ok_or_else(|| ConnectError::config(format!("{key}: unknown predicate {class}")))?
                        .clone();
                    Some((p.to_owned(), descriptor, under(props, &format!("predicates.{p}."), &["type"])))
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
