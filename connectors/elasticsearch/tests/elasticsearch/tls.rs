//! TLS (`elastic.security.protocol=SSL`): the real server behind a TLS-terminating relay with a
//! certificate from a CA made for the test (the openssl command line).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use aqueduct_sdk::{SinkTask, Value};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};

use crate::common::*;

/// A CA and a server certificate for `localhost` only, in `dir`: ca.pem and server.p12.
fn make_certs(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=aqueduct test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost\n").expect("ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    run(&[
        "pkcs12",
        "-export",
        "-out",
        "server.p12",
        "-inkey",
        "server.key",
        "-in",
        "server.pem",
        "-passout",
        "pass:secret",
    ]);
}

/// Terminates TLS with `server.p12` and relays to the server in plain HTTP; its port.
async fn tls_relay(dir: &Path) -> u16 {
    let p12 = std::fs::read(dir.join("server.p12")).expect("p12");
    let identity = native_tls::Identity::from_pkcs12(&p12, "secret").expect("identity");
    let acceptor =
        Arc::new(tokio_native_tls::TlsAcceptor::from(native_tls::TlsAcceptor::new(identity).expect("acceptor")));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let target = url().trim_start_matches("http://").trim_end_matches('/').to_owned();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, target) = (acceptor.clone(), target.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut plain) = TcpStream::connect(&target).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_trusts_the_configured_ca_and_checks_host_names() {
    let dir = tempfile_dir();
    make_certs(&dir);
    let port = tls_relay(&dir).await;
    let ca = dir.join("ca.pem").display().to_string();
    let topic = unique("es-tls");
    let ctx = context(&[]);
    let base = [("key.ignore", "true"), ("max.retries", "0"), ("elastic.security.protocol", "SSL")];
    let with = |extra: &[(&'static str, String)]| {
        let mut p: Vec<(&'static str, String)> = base.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        p.extend(extra.iter().cloned());
        p
    };
    let start = |pairs: Vec<(&'static str, String)>, url: String| {
        let ctx = ctx.clone();
        async move {
            let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            task(&url, &refs, &ctx).await
        }
    };
    let localhost = format!("https://localhost:{port}");
    let by_ip = format!("https://127.0.0.1:{port}");
    let pem = [
        ("elastic.https.ssl.truststore.type", "PEM".to_owned()),
        ("elastic.https.ssl.truststore.location", ca.clone()),
    ];

    // The test CA trusted: written.
    let mut t = start(with(&pem), localhost.clone()).await;
    let records = vec![record(&topic, 0, 0, Value::Null, json!({"tls": true}))];
    let given = next_offsets(&records);
    t.put(&records).await.expect("put over TLS");
    wait_committable(&mut t, &given, &given, Duration::from_secs(30)).await;
    t.stop().await.expect("stop");
    assert_eq!(documents(&topic).await.len(), 1);

    // System roots only: the certificate is refused.
    let mut t = start(with(&[]), localhost).await;
    assert!(t.put(&records).await.is_err(), "an unknown CA is refused");
    t.stop().await.expect("stop");

    // The name does not match (127.0.0.1 is not in the certificate): refused, unless
    // ssl.endpoint.identification.algorithm is empty.
    let mut t = start(with(&pem), by_ip.clone()).await;
    assert!(t.put(&records).await.is_err(), "a host name mismatch is refused");
    t.stop().await.expect("stop");
    let mut no_check = pem.to_vec();
    no_check.push(("elastic.https.ssl.endpoint.identification.algorithm", String::new()));
    let mut t = start(with(&no_check), by_ip).await;
    let more = vec![record(&topic, 0, 1, Value::Null, json!({"tls": false}))];
    let given = next_offsets(&more);
    t.put(&more).await.expect("host name check off");
    wait_committable(&mut t, &given, &given, Duration::from_secs(30)).await;
    t.stop().await.expect("stop");
    assert_eq!(documents(&topic).await.len(), 2);
    delete_index(&topic).await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique("aqueduct-es-tls"));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}
