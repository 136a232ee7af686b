//! `HttpPollSource`: one record per `GET` of a URL.

use std::sync::Arc;
use std::time::Duration;

use aqueduct_sdk::serde_json::json;
use aqueduct_sdk::{
    async_trait, offset_map, ConfigDef, ConfigType, ConnectError, Connector, ConnectorContext, ConnectorFactory,
    ExactlyOnceSupport, Importance, OffsetMap, PluginDescriptor, Props, Result, SourceConnector, SourceRecord,
    SourceTask, SourceTaskContext, TransactionContext, Validator, Value,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The source as a plugin of `version` (its records carry it).
pub fn plugin(version: &'static str) -> PluginDescriptor {
    PluginDescriptor {
        class: "HttpPollSource",
        aliases: &["com.example.aqueduct.HttpPollSourceConnector"],
        version,
        factory: ConnectorFactory::SharedSource(Arc::new(move || {
            Box::new(HttpPollConnector { version, props: Props::new() })
        })),
    }
}

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define("url", ConfigType::String, None, Importance::High, "The http:// URL to GET.")
        .validator(Validator::NonEmpty)
        .define("topic", ConfigType::String, None, Importance::High, "Topic to write the responses to.")
        .validator(Validator::NonEmpty)
        .define("poll.interval.ms", ConfigType::Long, Some("1000"), Importance::Medium, "Time between two GETs.")
        .validator(Validator::at_least(1.0))
        .define("panic.on.poll", ConfigType::Boolean, Some("false"), Importance::Low, "Panic in poll (for tests).")
        .define(
            "transaction.boundary.polls",
            ConfigType::Int,
            Some("0"),
            Importance::Low,
            "With transaction.boundary=connector: commit a transaction after every this many polls (0: never).",
        )
        .validator(Validator::at_least(0.0))
}

/// `transaction.boundary.polls`, when set.
fn boundary_polls(props: &Props) -> Option<i64> {
    props.get("transaction.boundary.polls").and_then(|n| n.trim().parse().ok()).filter(|n| *n > 0)
}

struct HttpPollConnector {
    version: &'static str,
    props: Props,
}

#[async_trait]
impl Connector for HttpPollConnector {
    fn config_def(&self) -> ConfigDef {
        config_def()
    }
    async fn start(&mut self, _context: Arc<dyn ConnectorContext>, props: Props) -> Result<()> {
        let config = config_def().parse(&props)?;
        Url::parse(config.string("url").unwrap_or_default())?;
        self.props = props;
        Ok(())
    }
    fn task_configs(&self, _max_tasks: usize) -> Result<Vec<Props>> {
        Ok(vec![self.props.clone()])
    }
}

impl SourceConnector for HttpPollConnector {
    /// A poll count resumes exactly from its stored offset.
    fn exactly_once_support(&self, _props: &Props) -> Option<ExactlyOnceSupport> {
        Some(ExactlyOnceSupport::Supported)
    }

    fn can_define_transaction_boundaries(&self, props: &Props) -> bool {
        boundary_polls(props).is_some()
    }

    fn create_task(&self) -> Box<dyn aqueduct_sdk::SourceTask> {
        Box::new(HttpPollTask {
            version: self.version,
            url: Url { host: String::new(), port: 80, path: String::new(), text: String::new() },
            topic: String::new(),
            interval: Duration::from_secs(1),
            panic: false,
            polls: 0,
            boundary: None,
        })
    }
}

/// An `http://host[:port]/path` URL.
struct Url {
    host: String,
    port: u16,
    path: String,
    text: String,
}

impl Url {
    fn parse(text: &str) -> Result<Url> {
        let invalid =
            || ConnectError::config(format!("Invalid value {text} for configuration url: not an http:// URL"));
        let rest = text.strip_prefix("http://").ok_or_else(invalid)?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().map_err(|_| invalid())?),
            None => (authority, 80),
        };
        if host.is_empty() {
            return Err(invalid());
        }
        let path = if path.is_empty() { "/" } else { path };
        Ok(Url { host: host.to_owned(), port, path: path.to_owned(), text: text.to_owned() })
    }

    /// `GET`s the URL: the status code and the body.
    async fn get(&self) -> Result<(i32, String)> {
        let failed = |e: std::io::Error| ConnectError::retriable(format!("GET {}: {e}", self.text));
        let mut stream = TcpStream::connect((self.host.as_str(), self.port)).await.map_err(failed)?;
        let request =
            format!("GET {} HTTP/1.0\r\nHost: {}\r\nConnection: close\r\nAccept: */*\r\n\r\n", self.path, self.host);
        stream.write_all(request.as_bytes()).await.map_err(failed)?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.map_err(failed)?;
        let response = String::from_utf8_lossy(&response);
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status =
            head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| {
                ConnectError::retriable(format!("GET {}: not an HTTP response: {head:.80}", self.text))
            })?;
        Ok((status, body.to_owned()))
    }

    fn partition(&self) -> OffsetMap {
        offset_map([("url", json!(self.text))])
    }
}

struct HttpPollTask {
    version: &'static str,
    url: Url,
    topic: String,
    interval: Duration,
    panic: bool,
    polls: i64,
    /// Every how many polls a transaction ends, and where to say so.
    boundary: Option<(i64, TransactionContext)>,
}

#[async_trait]
impl SourceTask for HttpPollTask {
    async fn start(&mut self, context: SourceTaskContext, props: Props) -> Result<()> {
        let config = config_def().parse(&props)?;
        self.url = Url::parse(config.string("url").unwrap_or_default())?;
        self.topic = config.string("topic").unwrap_or_default().to_owned();
        self.interval = Duration::from_millis(config.long("poll.interval.ms").unwrap_or(1000).unsigned_abs());
        self.panic = config.boolean("panic.on.poll").unwrap_or(false);
        self.boundary = boundary_polls(&props).zip(context.transaction_context().cloned());
        // Resume the count after the last poll whose record Kafka acknowledged.
        if let Some(stored) = context.offset(&self.url.partition()) {
            self.polls = stored.get("polls").and_then(|p| p.as_i64()).unwrap_or(0);
        }
        // Reaches the worker's log, under this task's connector and task fields.
        aqueduct_sdk::plugin::tracing::info!(url = %self.url.text, polls = self.polls, "polling started");
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if self.panic {
            panic!("HttpPollSource was told to panic (panic.on.poll=true)");
        }
        if self.polls > 0 {
            tokio::time::sleep(self.interval).await;
        }
        let (status, body) = self.url.get().await?;
        self.polls += 1;
        let value = Value::Map(vec![
            (Value::from("url"), Value::from(self.url.text.as_str())),
            (Value::from("status"), Value::Int32(status)),
            (Value::from("body"), Value::from(body)),
            (Value::from("poll"), Value::Int64(self.polls)),
            (Value::from("version"), Value::from(self.version)),
        ]);
        let offset = offset_map([("polls", json!(self.polls))]);
        let record = SourceRecord::new(self.url.partition(), offset, self.topic.clone(), value)
            .with_key(None, Value::from(self.url.text.as_str()));
        if let Some((every, transactions)) = &self.boundary {
            if self.polls % every == 0 {
                transactions.commit_transaction_after(&record);
            }
        }
        Ok(vec![record])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let url = Url::parse("http://127.0.0.1:9200/_cluster/health").expect("valid");
        assert_eq!((url.host.as_str(), url.port, url.path.as_str()), ("127.0.0.1", 9200, "/_cluster/health"));
        assert_eq!(Url::parse("http://example.com").expect("valid").path, "/");
        assert!(Url::parse("https://example.com").is_err());
        assert!(Url::parse("http://:80/").is_err());
    }
}
