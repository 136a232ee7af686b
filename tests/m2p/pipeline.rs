//! The configs of `configs/mongo-to-postgres/`, pointed at another database, collection and
//! table (so tests and benchmarks run beside each other), in either transport.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// How records travel from the source task to the sink task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// In-process channels; offsets in a file (`worker.json`).
    Embedded,
    /// Through a Kafka topic (`worker-kafka.json`).
    Kafka,
}

impl Transport {
    /// The worker file of this transport in `configs/mongo-to-postgres/`.
    pub fn worker_file(self) -> &'static str {
        match self {
            Transport::Embedded => "worker.json",
            Transport::Kafka => "worker-kafka.json",
        }
    }
    /// `embedded` or `kafka`.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Embedded => "embedded",
            Transport::Kafka => "kafka",
        }
    }
}

/// `configs/mongo-to-postgres/` of this checkout.
pub fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/mongo-to-postgres")
}

fn read(file: &str) -> anyhow::Result<Value> {
    let path = configs_dir().join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// One copy of the pipeline: its own names everywhere.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Connector names start with this; it is also the topic prefix.
    pub name: String,
    /// MongoDB database.
    pub db: String,
    /// MongoDB collection.
    pub collection: String,
    /// Postgres table (`schema.table`).
    pub table: String,
    /// MongoDB connection string.
    pub mongodb: String,
}

impl Pipeline {
    /// A pipeline named `name` (letters, digits, `_`): database `name`, collection `customers`,
    /// table `public.<name>_customers`.
    pub fn new(name: &str) -> Pipeline {
        Pipeline {
            name: name.to_owned(),
            db: name.to_owned(),
            collection: "customers".into(),
            table: format!("public.{name}_customers"),
            mongodb: super::mongodb_uri(),
        }
    }

    /// `mongo-source.json` with this pipeline's names.
    pub fn source(&self) -> anyhow::Result<Value> {
        let mut c = read("mongo-source.json")?;
        c["name"] = json!(format!("{}-source", self.name));
        let config = &mut c["config"];
        config["connection.uri"] = json!(self.mongodb);
        config["database"] = json!(self.db);
        config["collection"] = json!(self.collection);
        config["topic.prefix"] = json!(self.name);
        Ok(c)
    }

    /// `postgres-sink.json` with this pipeline's names.
    pub fn sink(&self) -> anyhow::Result<Value> {
        let mut c = read("postgres-sink.json")?;
        c["name"] = json!(format!("{}-sink", self.name));
        let config = &mut c["config"];
        config["topics"] = json!(format!("{}.{}.{}", self.name, self.db, self.collection));
        config["table.name.format"] = json!(self.table);
        Ok(c)
    }

    /// The transport's worker file with this pipeline's offsets file (under `dir`) and REST port.
    pub fn worker(&self, transport: Transport, dir: &Path, rest_port: u16) -> anyhow::Result<Value> {
        let mut w = read(transport.worker_file())?;
        w["rest.port"] = json!(rest_port.to_string());
        w["offset.storage.file.filename"] = json!(dir.join("offsets.json").display().to_string());
        if transport == Transport::Kafka {
            if let Ok(kafka) = std::env::var("AQUEDUCT_TEST_KAFKA") {
                w["bootstrap.servers"] = json!(kafka);
            }
        }
        Ok(w)
    }

    /// Writes the worker and both connector files into `dir`; returns the `aqueduct standalone`
    /// arguments.
    pub fn write(&self, transport: Transport, dir: &Path, rest_port: u16) -> anyhow::Result<Vec<String>> {
        std::fs::create_dir_all(dir)?;
        let mut args = vec!["standalone".to_owned()];
        for (file, value) in [
            ("worker.json", self.worker(transport, dir, rest_port)?),
            ("mongo-source.json", self.source()?),
            ("postgres-sink.json", self.sink()?),
        ] {
            let path = dir.join(file);
            std::fs::write(&path, serde_json::to_string_pretty(&value)?)?;
            args.push(path.display().to_string());
        }
        Ok(args)
    }
}
