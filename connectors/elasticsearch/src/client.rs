//! The HTTP client (the `elasticsearch` crate's transport) built from the config, and the few
//! requests the sink makes: `_bulk`, index or data stream creation, and mappings.

use std::time::Duration;

use aqueduct_sdk::{ConnectError, Result};
use elasticsearch::auth::{ClientCertificate, Credentials};
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::headers::{HeaderMap, HeaderValue, CONTENT_TYPE};
use elasticsearch::http::transport::{MultiNodeConnectionPool, SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::http::{Method, Url};
use elasticsearch::Elasticsearch;
use serde_json::{json, Value as Json};

use crate::config::SinkConfig;

/// A request that did not get a usable answer.
#[derive(Debug)]
pub struct RequestError {
    /// Worth retrying: no connection, a timeout, 429 or 5xx.
    pub retriable: bool,
    /// What happened.
    pub message: String,
}

impl RequestError {
    fn new(retriable: bool, message: impl Into<String>) -> Self {
        RequestError { retriable, message: message.into() }
    }
}

/// A client for the configured nodes.
#[derive(Clone)]
pub struct EsClient {
    es: Elasticsearch,
    timeout: Duration,
}

impl EsClient {
    /// Builds the client (no I/O).
    pub fn new(config: &SinkConfig) -> Result<EsClient> {
        let bad = |key: &str, e: &dyn std::fmt::Display| ConnectError::config(format!("{key}: {e}"));
        let urls: Vec<Url> =
            config.urls.iter().map(|u| Url::parse(u).map_err(|e| bad("connection.url", &e))).collect::<Result<_>>()?;
        let mut builder = match urls.as_slice() {
            [one] => TransportBuilder::new(SingleNodeConnectionPool::new(one.clone())),
            _ => TransportBuilder::new(MultiNodeConnectionPool::round_robin(urls, None)),
        };
        builder = builder.enable_meta_header(false).request_body_compression(config.compression);
        if let Some((user, password)) = &config.credentials {
            builder = builder.auth(Credentials::Basic(user.clone(), password.clone()));
        }
        if let Some(tls) = &config.tls {
            if let Some((pkcs12, password)) = &tls.identity {
                let identity = ClientCertificate::Pkcs12(pkcs12.clone(), Some(password.clone()));
                if config.credentials.is_some() {
                    return Err(ConnectError::config(
                        "elastic.https.ssl.keystore.location: a client certificate and connection.username/password \
                         cannot be used together with this client",
                    ));
                }
                builder = builder.auth(Credentials::Certificate(identity));
            }
            if !tls.trusted_pem.is_empty() {
                let certs = Certificate::from_pem(&tls.trusted_pem)
                    .map_err(|e| bad("elastic.https.ssl.truststore.location / ssl.truststore.certificates", &e))?;
                builder = builder.cert_validation(if tls.verify_hostname {
                    CertificateValidation::Full(certs)
                } else {
                    CertificateValidation::Certificate(certs)
                });
            }
        }
        builder = match &config.proxy {
            Some(proxy) => {
                let url = Url::parse(&proxy.url).map_err(|e| bad("proxy.host", &e))?;
                let (user, password) = match &proxy.credentials {
                    Some((u, p)) => (Some(u.as_str()), Some(p.as_str())),
                    None => (None, None),
                };
                builder.proxy(url, user, password)
            }
            None => builder.disable_proxy(),
        };
        let transport = builder.build().map_err(|e| ConnectError::config(format!("building the HTTP client: {e}")))?;
        Ok(EsClient { es: Elasticsearch::new(transport), timeout: config.request_timeout() })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: &'static str,
        body: Option<Vec<u8>>,
    ) -> std::result::Result<(u16, Vec<u8>), RequestError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        let timeout = (!self.timeout.is_zero()).then_some(self.timeout);
        let response = self
            .es
            .send(method, path, headers, None::<&()>, body, timeout)
            .await
            .map_err(|e| RequestError::new(true, format!("{method:?} {path}: {e}")))?;
        let status = response.status_code().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| RequestError::new(true, format!("{method:?} {path}: reading the response: {e}")))?;
        Ok((status, bytes.to_vec()))
    }

    /// Sends one `_bulk` request; `Ok` is the body of a 200 answer.
    pub async fn bulk(&self, body: Vec<u8>) -> std::result::Result<Vec<u8>, RequestError> {
        let (status, bytes) = self.send(Method::Post, "/_bulk", "application/x-ndjson", Some(body)).await?;
        match status {
            200 => Ok(bytes),
            s => Err(RequestError::new(s == 429 || s >= 500, format!("_bulk answered {s}: {}", snippet(&bytes)))),
        }
    }

    /// Creates the index (with `mapping` when given) or data stream unless it exists; puts the
    /// mapping on an existing index that has none.
    pub async fn ensure_index(
        &self,
        index: &str,
        data_stream: bool,
        mapping: Option<&Json>,
    ) -> std::result::Result<(), RequestError> {
        let path = format!("/{}", encode(index));
        let (status, _) = self.send(Method::Head, &path, "application/json", None).await?;
        let created = match status {
            200 => false,
            404 if data_stream => {
                let (s, body) = self
                    .send(Method::Put, &format!("/_data_stream/{}", encode(index)), "application/json", None)
                    .await?;
                accept_created(s, &body, "creating data stream", index)?
            }
            404 => {
                let body = mapping.map(|m| json!({ "mappings": m }).to_string().into_bytes());
                let (s, body) = self.send(Method::Put, &path, "application/json", body).await?;
                accept_created(s, &body, "creating index", index)?
            }
            s => return Err(RequestError::new(s == 429 || s >= 500, format!("HEAD {index} answered {s}"))),
        };
        let Some(mapping) = mapping.filter(|_| !data_stream && !created) else { return Ok(()) };
        let (s, body) = self.send(Method::Get, &format!("{path}/_mapping"), "application/json", None).await?;
        if s != 200 {
            return Err(RequestError::new(
                s == 429 || s >= 500,
                format!("GET {index}/_mapping answered {s}: {}", snippet(&body)),
            ));
        }
        let existing: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
        let has_properties = existing
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|i| i.pointer("/mappings/properties"))
            .and_then(Json::as_object)
            .is_some_and(|p| !p.is_empty());
        if has_properties {
            return Ok(());
        }
        let (s, body) = self
            .send(Method::Put, &format!("{path}/_mapping"), "application/json", Some(mapping.to_string().into_bytes()))
            .await?;
        match s {
            200 => Ok(()),
            s => Err(RequestError::new(
                s == 429 || s >= 500,
                format!("putting the mapping of {index} answered {s}: {}", snippet(&body)),
            )),
        }
    }
}

/// True when created now; an index or stream created meanwhile by someone else is fine too.
fn accept_created(status: u16, body: &[u8], what: &str, index: &str) -> std::result::Result<bool, RequestError> {
    match status {
        200 | 201 => Ok(true),
        400 if String::from_utf8_lossy(body).contains("resource_already_exists_exception") => Ok(false),
        s => Err(RequestError::new(s == 429 || s >= 500, format!("{what} {index} answered {s}: {}", snippet(body)))),
    }
}

fn encode(index: &str) -> String {
    index
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.+".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(500).collect()
}
