//! Creating driver clients from `connection.uri`.

use aqueduct_sdk::{ConnectError, Result};
use mongodb::options::ClientOptions;
use mongodb::Client;

use crate::errors::to_connect_error;

/// Checks a connection string without I/O: a scheme the driver here supports and at least one host.
pub fn check_uri(uri: &str, key: &str) -> std::result::Result<(), String> {
    if uri.starts_with("mongodb+srv://") {
        return Err(format!(
            "{key}: mongodb+srv:// needs DNS SRV lookups, which this build does not include; \
             list the hosts instead (mongodb://host1,host2/?replicaSet=...)"
        ));
    }
    if !uri.starts_with("mongodb://") {
        return Err(format!("{key}: expected a mongodb:// connection string"));
    }
    if hosts(uri).is_empty() {
        return Err(format!("{key}: no host in the connection string"));
    }
    Ok(())
}

/// The host list as written in the URI (`h1:27017,h2`), without credentials: it names the
/// default source partition, like the MongoDB connector does.
pub fn hosts(uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    authority.rsplit_once('@').map_or(authority, |(_, h)| h).to_owned()
}

/// A client for `uri` (no I/O until the first operation); `app` names it in server logs.
pub async fn connect(uri: &str, key: &str, app: &str) -> Result<Client> {
    check_uri(uri, key).map_err(ConnectError::config)?;
    let mut options = ClientOptions::parse(uri).await.map_err(|e| to_connect_error(e, || format!("parsing {key}")))?;
    if options.app_name.is_none() {
        options.app_name = Some(app.to_owned());
    }
    Client::with_options(options).map_err(|e| to_connect_error(e, || format!("creating a client for {key}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_without_credentials() {
        assert_eq!(hosts("mongodb://u:p@h1:1,h2/db?replicaSet=x"), "h1:1,h2");
        assert_eq!(hosts("mongodb://127.0.0.1:27017/?replicaSet=secantus"), "127.0.0.1:27017");
        assert_eq!(hosts("mongodb://localhost"), "localhost");
        assert!(check_uri("mongodb+srv://x", "connection.uri").expect_err("srv").contains("mongodb+srv"));
        assert!(check_uri("http://x", "connection.uri").is_err());
        assert!(check_uri("mongodb:///db", "connection.uri").is_err());
        assert!(check_uri("mongodb://h", "connection.uri").is_ok());
    }
}
