//! A task's single message transforms: built from the connector's `transforms` / `predicates`
//! keys ([`config`]), run between the converter and the task in both directions (source:
//! poll -> transforms -> converter; sink: converter -> transforms -> put). Each task has its
//! own instances.

pub mod config;

use aqueduct_sdk::{ConnectError, ConnectRecord, Predicate, Props, Result, Transform};

pub use self::config::{enrich, Stages};
use crate::plugins::Plugins;

/// One configured transform, with the predicate deciding where it applies.
struct Stage {
    alias: String,
    class: &'static str,
    transform: Box<dyn Transform>,
    predicate: Option<Box<dyn Predicate>>,
    negate: bool,
}

/// A transform that failed: which one, and why.
#[derive(Debug)]
pub struct StageError {
    /// The failing stage's alias.
    pub alias: String,
    /// Its class.
    pub class: &'static str,
    /// What it returned.
    pub error: ConnectError,
}

impl std::fmt::Display for StageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "transform {} ({}) failed: {}", self.alias, self.class, self.error)
    }
}

/// The transforms of one task, in order.
#[derive(Default)]
pub struct TransformChain {
    stages: Vec<Stage>,
}

impl TransformChain {
    /// Builds and configures the chain a connector config names; an unknown class or a bad
    /// key is a config error naming it.
    pub fn build(plugins: &Plugins, props: &Props) -> Result<Self> {
        let mut stages = Vec::new();
        for stage in Stages::parse(plugins, props)?.0 {
            let mut transform = (stage.plugin.factory)();
            transform.configure(&stage.props).map_err(|e| prefixed(&stage.alias, "transforms", e))?;
            let predicate = match stage.predicate {
                Some((alias, plugin, props)) => {
                    let mut p = (plugin.factory)();
                    p.configure(&props).map_err(|e| prefixed(&alias, "predicates", e))?;
                    Some(p)
                }
                None => None,
            };
            stages.push(Stage {
                alias: stage.alias,
                class: stage.plugin.class,
                transform,
                predicate,
                negate: stage.negate,
            });
        }
        Ok(TransformChain { stages })
    }

    /// Whether there is nothing to run.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Runs the record through every stage whose predicate matches; `Ok(None)` when a stage
    /// dropped it.
    pub fn apply(&mut self, mut record: ConnectRecord) -> std::result::Result<Option<ConnectRecord>, StageError> {
        for stage in &mut self.stages {
            if let Some(p) = &stage.predicate {
                match p.test(&record) {
                    Ok(matches) if matches == stage.negate => continue,
                    Ok(_) => {}
                    Err(error) => return Err(StageError { alias: stage.alias.clone(), class: stage.class, error }),
                }
            }
            match stage.transform.apply(record) {
                Ok(Some(next)) => record = next,
                Ok(None) => return Ok(None),
                Err(error) => return Err(StageError { alias: stage.alias.clone(), class: stage.class, error }),
            }
        }
        Ok(Some(record))
    }
}

fn prefixed(alias: &str, kind: &str, e: ConnectError) -> ConnectError {
    ConnectError::config(format!("{kind}.{alias}: {e}"))
}

#[cfg(test)]
mod tests;
