//! The `aqueduct` command: the runtime composed with the built-in connector crates.

use aqueduct::builtin_plugins;
use aqueduct_sdk::{ConverterDescriptor, PredicateDescriptor, TransformDescriptor};

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Aqueduct: a Kafka Connect-compatible connector runtime.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs one worker with the given connectors, Kafka Connect's standalone mode.
    ///
    /// WORKER is a JSON object (or .properties file) of worker keys: bootstrap.servers,
    /// key.converter, value.converter, offset.storage.topic or offset.storage.file.filename,
    /// offset.flush.interval.ms, rest.host.name, rest.port, producer.*, consumer.*, admin.*.
    /// Each CONNECTOR is {"name": ..., "config": {...}} or the flat form with "name" inside.
    /// The REST API (default port 8083) manages connectors while it runs. SIGINT or SIGTERM
    /// stops the tasks, flushes their offsets and exits.
    Standalone {
        /// Worker config file.
        worker: PathBuf,
        /// Connector config files.
        connectors: Vec<PathBuf>,
    },
    /// Runs one worker of a group, Kafka Connect's distributed mode.
    ///
    /// WORKER holds the standalone keys plus group.id (required), config.storage.topic,
    /// offset.storage.topic, status.storage.topic (+ .replication.factor, .partitions),
    /// session.timeout.ms, heartbeat.interval.ms, rebalance.timeout.ms,
    /// scheduled.rebalance.max.delay.ms, rest.advertised.host.name and rest.advertised.port.
    /// Connectors are managed through the REST API on any worker and kept in the config topic.
    Distributed {
        /// Worker config file.
        worker: PathBuf,
    },
    /// Lists the plugins built into this binary and those loaded from plugin directories:
    /// connectors, then transforms, predicates and converters (types `transformation`,
    /// `predicate`, `converter`); class, type, version, aliases (and the file of a loaded one),
    /// one a line.
    /// Files that are refused (another SDK, ABI or compiler version) or broken are listed on
    /// stderr with the reason.
    Plugins {
        /// Directories searched as the worker's plugin.path is (and their immediate
        /// subdirectories).
        #[arg(long = "plugin-path", num_args = 1..)]
        plugin_path: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,librdkafka=warn,rdkafka=warn")),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Plugins { plugin_path } => {
            let builtins = builtin_plugins();
            for p in builtins.all() {
                println!("{}\t{}\t{}\t{}", p.class, p.factory.kind(), p.version, p.aliases.join(","));
            }
            for line in components(builtins.transforms(), builtins.predicates(), builtins.converters()) {
                println!("{line}");
            }
            for c in builtins.header_converters() {
                println!("{}\theader_converter\t{}\t{}", c.class, c.version, c.aliases.join(","));
            }
            let scan = aqueduct_runtime::plugin_loader::scan(&plugin_path);
            for plugin in &scan.loaded {
                let file = plugin.file.display();
                for p in &plugin.connectors {
                    let (class, kind, version, aliases) = (p.class, p.factory.kind(), p.version, p.aliases.join(","));
                    println!("{class}\t{kind}\t{version}\t{aliases}\t{file}");
                }
                for line in components(&plugin.transforms, &plugin.predicates, &plugin.converters) {
                    println!("{line}\t{file}");
                }
            }
            for skipped in &scan.skipped {
                eprintln!("skipped: {}", skipped.reason);
            }
            Ok(())
        }
        Command::Distributed { worker } if embedded(&worker) => {
            Err(anyhow::anyhow!("transport=embedded runs in standalone mode only (distributed mode needs Kafka)"))
        }
        Command::Distributed { worker } => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(aqueduct_runtime::distributed::herder::start::run(&worker, builtin_plugins())),
            Err(e) => Err(e.into()),
        },
        Command::Standalone { worker, connectors } => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(aqueduct_runtime::standalone::run(worker, connectors, builtin_plugins())),
            Err(e) => Err(e.into()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// One line per transform, predicate and converter: class, type (as the REST API names it),
/// version, aliases.
fn components(
    transforms: &[TransformDescriptor],
    predicates: &[PredicateDescriptor],
    converters: &[ConverterDescriptor],
) -> Vec<String> {
    let line = |class: &str, kind: &str, version: &str, aliases: &[&str]| {
        format!("{class}\t{kind}\t{version}\t{}", aliases.join(","))
    };
    let transforms = transforms.iter().map(|t| line(t.class, "transformation", t.version, t.aliases));
    let predicates = predicates.iter().map(|p| line(p.class, "predicate", p.version, p.aliases));
    let converters = converters.iter().map(|c| line(c.class, "converter", c.version, c.aliases));
    transforms.chain(predicates).chain(converters).collect()
}

/// Whether the worker file asks for `transport=embedded` (an unreadable file is reported by
/// the command itself).
fn embedded(worker: &std::path::Path) -> bool {
    aqueduct_runtime::worker_config::WorkerConfig::load(worker).is_ok_and(|c| c.embedded())
}
