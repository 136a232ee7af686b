//! Sessioned internal requests (KIP-507, `connect.protocol=sessioned`): the leader keeps a
//! session key in the config topic (`session-key`, rotated every `inter.worker.key.ttl.ms`);
//! a worker signs its internal requests to another worker with it (an HMAC of the body in
//! `X-Connect-Authorization`, the algorithm in `X-Connect-Request-Signature-Algorithm`, as
//! Kafka Connect's `InternalRequestSignature`), and the receiver checks the signature against
//! the key it read. Internal requests are the ones a worker makes of another one for its own
//! sake, never a user's: zombie fencing (`PUT /connectors/{name}/fence`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aqueduct_sdk::Props;
use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use tracing::{info, warn};

use super::DistributedHerder;
use crate::distributed::config_topic::SessionKey;
use crate::herder::{HResult, HerderError};

/// Header holding the base64 signature.
pub const SIGNATURE_HEADER: &str = "X-Connect-Authorization";
/// Header naming the signature algorithm.
pub const ALGORITHM_HEADER: &str = "X-Connect-Request-Signature-Algorithm";
/// The one algorithm this worker signs and verifies with (Kafka Connect's default).
const HMAC_SHA256: &str = "HmacSHA256";

/// The `inter.worker.*` keys (Kafka Connect's names and defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSettings {
    /// `inter.worker.key.ttl.ms` (3600000): how long a session key is used before the leader
    /// writes a new one.
    pub key_ttl: Duration,
    /// `inter.worker.key.size` in bits (256, the JVM's default for HmacSHA256).
    pub key_bits: usize,
}

impl SessionSettings {
    /// Reads and checks the keys; every bad key is named. Only HmacSHA256 is offered for
    /// `inter.worker.key.generation.algorithm`, `inter.worker.signature.algorithm` and
    /// `inter.worker.verification.algorithms`.
    pub fn from_props(props: &Props) -> Result<Self, String> {
        let get = |k: &str| props.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let mut problems = Vec::new();
        for key in ["inter.worker.key.generation.algorithm", "inter.worker.signature.algorithm"] {
            if let Some(v) = get(key).filter(|v| *v != HMAC_SHA256) {
                problems.push(format!("{key}={v}: only {HMAC_SHA256} is supported"));
            }
        }
        if let Some(v) = get("inter.worker.verification.algorithms") {
            if !v.split(',').any(|a| a.trim() == HMAC_SHA256) {
                problems.push(format!("inter.worker.verification.algorithms={v}: must include {HMAC_SHA256}"));
            }
        }
        let ttl = match get("inter.worker.key.ttl.ms").map(str::parse::<u64>) {
            None => 3_600_000,
            Some(Ok(ms)) if ms > 0 => ms,
            Some(_) => {
                problems.push("inter.worker.key.ttl.ms: must be a positive number of milliseconds".to_owned());
                0
            }
        };
        let bits = match get("inter.worker.key.size").map(str::parse::<usize>) {
            None => 256,
            Some(Ok(bits)) if bits >= 64 && bits % 8 == 0 => bits,
            Some(_) => {
                problems.push("inter.worker.key.size: must be a multiple of 8 bits, at least 64".to_owned());
                0
            }
        };
        if problems.is_empty() {
            Ok(SessionSettings { key_ttl: Duration::from_millis(ttl), key_bits: bits })
        } else {
            Err(problems.join("; "))
        }
    }

    /// Whether `key` must be replaced now (absent, or older than the TTL).
    pub fn needs_new_key(&self, key: Option<&SessionKey>, now_ms: i64) -> bool {
        match key {
            None => true,
            Some(k) => k.algorithm != HMAC_SHA256 || now_ms - k.creation_timestamp >= self.key_ttl.as_millis() as i64,
        }
    }

    /// A fresh random key.
    pub fn generate(&self, now_ms: i64) -> Result<SessionKey, String> {
        let mut key = vec![0u8; self.key_bits / 8];
        getrandom::fill(&mut key).map_err(|e| format!("generating a session key: {e}"))?;
        Ok(SessionKey { key, algorithm: HMAC_SHA256.to_owned(), creation_timestamp: now_ms })
    }
}

impl DistributedHerder {
    /// The leader's upkeep in a sessioned group: writes a new session key when there is none
    /// or the current one is older than `inter.worker.key.ttl.ms` (logged when it cannot).
    pub(super) async fn ensure_session_key(&self) {
        let view = self.view();
        if !view.is_leader || !view.sessioned {
            return;
        }
        let now = now_ms();
        if !self.session.needs_new_key(self.configs.session_key().as_ref(), now) {
            return;
        }
        let written = match self.session.generate(now) {
            Ok(key) => self.configs.put_session_key(key).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match written {
            Ok(()) => info!("wrote a new session key to the config topic"),
            Err(e) => warn!(error = %e, "could not write a new session key; internal requests wait for one"),
        }
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn mac(key: &SessionKey, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; the error case cannot happen.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.key).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    mac
}

/// The headers signing `body` with `key`.
pub fn sign(key: &SessionKey, body: &[u8]) -> [(&'static str, String); 2] {
    let signature = BASE64.encode(mac(key, body).finalize().into_bytes());
    [(SIGNATURE_HEADER, signature), (ALGORITHM_HEADER, HMAC_SHA256.to_owned())]
}

/// Checks an internal request's signature as Kafka Connect does: 400 when it is missing or
/// uses another algorithm, 403 when it does not match, 503 before this worker read a key.
pub fn verify(key: Option<&SessionKey>, headers: &HeaderMap, body: &[u8]) -> HResult<()> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(signature), Some(algorithm)) = (header(SIGNATURE_HEADER), header(ALGORITHM_HEADER)) else {
        return Err(HerderError::new(400, "Internal request missing required signature"));
    };
    if algorithm != HMAC_SHA256 {
        return Err(HerderError::new(
            400,
            format!(
                "This worker does not support inter-worker communication using the algorithm '{algorithm}'. The worker supports the following algorithms: [{HMAC_SHA256}]"
            ),
        ));
    }
    let Some(key) = key else {
        return Err(HerderError::new(
            503,
            "This worker is still starting up and has not been able to read a session key from the config topic yet",
        ));
    };
    let valid = BASE64.decode(signature).is_ok_and(|bytes| mac(key, body).verify_slice(&bytes).is_ok());
    if valid {
        Ok(())
    } else {
        Err(HerderError::new(403, "Internal request contained invalid signature."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn reads_defaults_and_names_bad_keys() {
        let s = SessionSettings::from_props(&Props::new()).expect("defaults");
        assert_eq!(s, SessionSettings { key_ttl: Duration::from_secs(3600), key_bits: 256 });
        let e = SessionSettings::from_props(&props(&[
            ("inter.worker.signature.algorithm", "HmacSHA1"),
            ("inter.worker.key.ttl.ms", "-5"),
            ("inter.worker.verification.algorithms", "HmacSHA512"),
        ]))
        .expect_err("bad keys");
        for key in
            ["inter.worker.signature.algorithm", "inter.worker.key.ttl.ms", "inter.worker.verification.algorithms"]
        {
            assert!(e.contains(key), "{e}");
        }
    }

    #[test]
    fn keys_rotate_after_their_ttl() {
        let s = SessionSettings { key_ttl: Duration::from_secs(10), key_bits: 256 };
        let key = s.generate(1_000).expect("key");
        assert_eq!(key.key.len(), 32);
        assert!(s.needs_new_key(None, 1_000));
        assert!(!s.needs_new_key(Some(&key), 10_999));
        assert!(s.needs_new_key(Some(&key), 11_000));
        assert_ne!(key.key, s.generate(1_000).expect("key").key, "keys are random");
    }

    #[test]
    fn a_signature_verifies_only_with_its_key_and_body() {
        let s = SessionSettings { key_ttl: Duration::from_secs(10), key_bits: 256 };
        let (key, other) = (s.generate(0).expect("key"), s.generate(0).expect("key"));
        let signed = headers(&sign(&key, b"{}"));
        assert!(verify(Some(&key), &signed, b"{}").is_ok());
        assert_eq!(verify(Some(&key), &signed, b"{ }").map_err(|e| e.code), Err(403));
        assert_eq!(verify(Some(&other), &signed, b"{}").map_err(|e| e.code), Err(403));
        assert_eq!(verify(None, &signed, b"{}").map_err(|e| e.code), Err(503));
        assert_eq!(verify(Some(&key), &HeaderMap::new(), b"{}").map_err(|e| e.code), Err(400));
        let mut wrong = signed.clone();
        wrong.insert(ALGORITHM_HEADER, "HmacSHA1".parse().expect("value"));
        assert_eq!(verify(Some(&key), &wrong, b"{}").map_err(|e| e.code), Err(400));
    }

    #[test]
    fn matches_a_kafka_connect_signature() {
        // HmacSHA256 of "{}" under the key 0x00..0x1f, as javax.crypto.Mac (Java 17) computed it.
        let key = SessionKey { key: (0u8..32).collect(), algorithm: HMAC_SHA256.into(), creation_timestamp: 0 };
        let [(_, signature), _] = sign(&key, b"{}");
        let expected = "hiJ/6WcioiR9z+4SwH2JwbBWe7yapqjYBIOPZqPahD8=";
        assert_eq!(signature, expected);
    }
}
