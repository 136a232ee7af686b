//! TLS: Kafka's client `ssl.*` keys under `elastic.https.`, read into what the HTTP client
//! honours; the rest is refused with the key named.

use aqueduct_sdk::{ConfigType, ConnectError, Result};

use super::keys::SSL_PREFIX;
use super::{unsupported, Tls};

/// Kafka's client TLS keys, as Confluent embeds them under `elastic.https.`, with their defaults.
pub(super) const SSL_KEYS: &[(&str, ConfigType, &str)] = &[
    ("ssl.protocol", ConfigType::String, "TLSv1.3"),
    ("ssl.provider", ConfigType::String, ""),
    ("ssl.cipher.suites", ConfigType::List, ""),
    ("ssl.enabled.protocols", ConfigType::List, "TLSv1.2,TLSv1.3"),
    ("ssl.keystore.type", ConfigType::String, "JKS"),
    ("ssl.keystore.location", ConfigType::String, ""),
    ("ssl.keystore.password", ConfigType::Password, ""),
    ("ssl.keystore.key", ConfigType::Password, ""),
    ("ssl.keystore.certificate.chain", ConfigType::Password, ""),
    ("ssl.key.password", ConfigType::Password, ""),
    ("ssl.truststore.type", ConfigType::String, "JKS"),
    ("ssl.truststore.location", ConfigType::String, ""),
    ("ssl.truststore.password", ConfigType::Password, ""),
    ("ssl.truststore.certificates", ConfigType::Password, ""),
    ("ssl.keymanager.algorithm", ConfigType::String, "SunX509"),
    ("ssl.trustmanager.algorithm", ConfigType::String, "PKIX"),
    ("ssl.endpoint.identification.algorithm", ConfigType::String, "https"),
    ("ssl.secure.random.implementation", ConfigType::String, ""),
    ("ssl.engine.factory.class", ConfigType::Class, ""),
];

/// The TLS settings of a parsed config.
pub(super) fn tls(c: &aqueduct_sdk::Config) -> Result<Tls> {
    let key = |k: &str| format!("{SSL_PREFIX}{k}");
    let s = |k: &str| c.string(&key(k)).unwrap_or_default().to_owned();
    let default_of = |k: &str| SSL_KEYS.iter().find(|(n, _, _)| *n == k).map(|(_, _, d)| *d).unwrap_or("");
    for k in [
        "ssl.provider",
        "ssl.keymanager.algorithm",
        "ssl.trustmanager.algorithm",
        "ssl.secure.random.implementation",
        "ssl.engine.factory.class",
        "ssl.protocol",
    ] {
        if s(k) != default_of(k) {
            return Err(unsupported(
                &key(k),
                "the HTTP client's TLS (OpenSSL) cannot be set this way; leave the default",
            ));
        }
    }
    for k in ["ssl.cipher.suites", "ssl.enabled.protocols"] {
        let given = c.list(&key(k)).map(|l| l.join(",")).unwrap_or_default();
        if given != default_of(k) {
            return Err(unsupported(
                &key(k),
                "the HTTP client's TLS (OpenSSL) cannot be set this way; leave the default",
            ));
        }
    }
    let read = |k: &str, path: &str| {
        std::fs::read(path).map_err(|e| ConnectError::config(format!("{}: cannot read {path}: {e}", key(k))))
    };
    let mut trusted_pem = c.string(&key("ssl.truststore.certificates")).unwrap_or_default().as_bytes().to_vec();
    let location = s("ssl.truststore.location");
    if !location.is_empty() {
        if !s("ssl.truststore.type").eq_ignore_ascii_case("PEM") {
            return Err(unsupported(
                &key("ssl.truststore.type"),
                &format!(
                    "only PEM trust stores can be read, {} is not one (convert a JKS/PKCS12 store: keytool -exportcert -rfc)",
                    key("ssl.truststore.location")
                ),
            ));
        }
        trusted_pem.extend(read("ssl.truststore.location", &location)?);
    }
    let keystore = s("ssl.keystore.location");
    let identity = if keystore.is_empty() {
        for k in ["ssl.keystore.key", "ssl.keystore.certificate.chain"] {
            if !c.string(&key(k)).unwrap_or_default().is_empty() {
                return Err(unsupported(
                    &key(k),
                    "PEM client keys are not supported; use a PKCS12 ssl.keystore.location",
                ));
            }
        }
        None
    } else {
        if !s("ssl.keystore.type").eq_ignore_ascii_case("PKCS12") {
            return Err(unsupported(&key("ssl.keystore.type"), "only PKCS12 key stores can be read"));
        }
        let password = c.string(&key("ssl.keystore.password")).unwrap_or_default().to_owned();
        Some((read("ssl.keystore.location", &keystore)?, password))
    };
    let verify_hostname = !s("ssl.endpoint.identification.algorithm").is_empty();
    if !verify_hostname && trusted_pem.is_empty() {
        return Err(unsupported(
            &key("ssl.endpoint.identification.algorithm"),
            "turning host name checks off needs the certificates to trust (ssl.truststore.location of type PEM)",
        ));
    }
    Ok(Tls { trusted_pem, identity, verify_hostname })
}
