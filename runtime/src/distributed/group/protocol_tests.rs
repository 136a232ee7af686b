//! Byte vectors written by hand from Kafka Connect's schemas (field by field), the same payloads
//! as produced by Kafka Connect 4.1.1's own `ConnectProtocol` / `IncrementalCooperativeConnectProtocol`
//! (hex, printed by a small Java program against connect-runtime-4.1.1.jar), and round trips.

use super::*;

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

const URL: &[u8] = b"http://w1:8083/"; // 15 bytes

fn sample_assignment() -> Assignment {
    Assignment {
        error: Assignment::NO_ERROR,
        leader: "leader-1".into(),
        leader_url: "http://w0:8083/".into(),
        config_offset: 42,
        connectors: vec!["c1".into()],
        tasks: vec![ConnectorTaskId::new("c1", 0), ConnectorTaskId::new("c2", 3)],
        revoked_connectors: vec!["c3".into()],
        revoked_tasks: vec![ConnectorTaskId::new("c3", 1)],
        delay_ms: 5000,
    }
}

/// The v1 body of `sample_assignment` after its version header.
fn sample_assignment_body() -> Vec<u8> {
    cat(&[
        &[0x00, 0x00],                                     // error: int16 0
        &[0x00, 0x08],                                     // leader: string length 8
        b"leader-1",                                       //
        &[0x00, 0x0f],                                     // leader-url: string length 15
        b"http://w0:8083/",                                //
        &[0, 0, 0, 0, 0, 0, 0, 42],                        // config-offset: int64 42
        &[0, 0, 0, 2],                                     // assignment: array of 2
        &[0x00, 0x02],                                     //   connector: "c1"
        b"c1",                                             //
        &[0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], //   tasks: [-1 (the connector), 0]
        &[0x00, 0x02],                                     //   connector: "c2"
        b"c2",                                             //
        &[0, 0, 0, 1, 0, 0, 0, 3],                         //   tasks: [3]
        &[0, 0, 0, 1],                                     // revoked: array of 1
        &[0x00, 0x02],                                     //   connector: "c3"
        b"c3",                                             //
        &[0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1], //   tasks: [-1, 1]
        &[0x00, 0x00, 0x13, 0x88],                         // delay: int32 5000
    ])
}

#[test]
fn eager_metadata_is_version_url_offset() {
    let state = WorkerState { url: "http://w1:8083/".into(), config_offset: 7, assignment: None };
    let expected = cat(&[&[0, 0], &[0, 15], URL, &[0, 0, 0, 0, 0, 0, 0, 7]]);
    let bytes = encode_metadata(&state, ConnectProtocol::Eager).expect("encode");
    assert_eq!(bytes.as_ref(), expected.as_slice());
    assert_eq!(expected, hex("0000000f687474703a2f2f77313a383038332f0000000000000007"), "Kafka Connect 4.1.1");
    assert_eq!(decode_metadata(&bytes).expect("decode"), state);
}

#[test]
fn incremental_metadata_without_assignment_has_a_null_allocation() {
    let state = WorkerState { url: "http://w1:8083/".into(), config_offset: 7, assignment: None };
    for (protocol, version, kc) in [
        (ConnectProtocol::Compatible, 1u8, "0001000f687474703a2f2f77313a383038332f0000000000000007ffffffff"),
        (ConnectProtocol::Sessioned, 2u8, "0002000f687474703a2f2f77313a383038332f0000000000000007ffffffff"),
    ] {
        let expected = cat(&[&[0, version], &[0, 15], URL, &[0, 0, 0, 0, 0, 0, 0, 7], &[0xff, 0xff, 0xff, 0xff]]);
        let bytes = encode_metadata(&state, protocol).expect("encode");
        assert_eq!(bytes.as_ref(), expected.as_slice(), "{protocol}");
        assert_eq!(expected, hex(kc), "Kafka Connect 4.1.1, {protocol}");
        assert_eq!(decode_metadata(&bytes).expect("decode"), state);
    }
}

#[test]
fn sessioned_assignment_matches_the_schema_and_kafka_connect() {
    let bytes = encode_assignment(&sample_assignment(), ConnectProtocol::Sessioned).expect("encode");
    let expected = cat(&[&[0x00, 0x02], &sample_assignment_body()]);
    assert_eq!(bytes.as_ref(), expected.as_slice());
    let kc = "0002000000086c65616465722d31000f687474703a2f2f77303a383038332f000000000000002a00000002000263310000\
              0002ffffffff00000000000263320000000100000003000000010002633300000002ffffffff0000000100001388";
    assert_eq!(expected, hex(kc), "Kafka Connect 4.1.1");
    assert_eq!(decode_assignment(&bytes).expect("decode"), sample_assignment());

    let compatible = encode_assignment(&sample_assignment(), ConnectProtocol::Compatible).expect("encode");
    assert_eq!(compatible.as_ref(), cat(&[&[0x00, 0x01], &sample_assignment_body()]).as_slice());
    assert_eq!(header_version(&compatible), Ok(1));
}

#[test]
fn metadata_embeds_the_current_assignment_with_the_protocol_version() {
    let state = WorkerState { url: "http://w1:8083/".into(), config_offset: 7, assignment: Some(sample_assignment()) };
    let bytes = encode_metadata(&state, ConnectProtocol::Sessioned).expect("encode");
    let allocation = cat(&[&[0x00, 0x02], &sample_assignment_body()]);
    let len = u8::try_from(allocation.len()).expect("short");
    let expected = cat(&[&[0, 2], &[0, 15], URL, &[0, 0, 0, 0, 0, 0, 0, 7], &[0, 0, 0, len], &allocation]);
    assert_eq!(bytes.as_ref(), expected.as_slice());
    let kc = "0002000f687474703a2f2f77313a383038332f00000000000000070000005f0002000000086c65616465722d31000f6874\
              74703a2f2f77303a383038332f000000000000002a000000020002633100000002ffffffff0000000000026332000000\
              0100000003000000010002633300000002ffffffff0000000100001388";
    assert_eq!(expected, hex(kc), "Kafka Connect 4.1.1");
    assert_eq!(decode_metadata(&bytes).expect("decode"), state);
}

#[test]
fn eager_assignment_has_no_revocations_and_decodes_with_defaults() {
    let mut assignment = sample_assignment();
    assignment.error = Assignment::CONFIG_MISMATCH;
    assert_eq!(encode_assignment(&assignment, ConnectProtocol::Eager), Err(ProtocolError::EagerRevocation));
    assignment.revoked_connectors.clear();
    assignment.revoked_tasks.clear();
    assignment.delay_ms = 0;
    let bytes = encode_assignment(&assignment, ConnectProtocol::Eager).expect("encode");
    let kc = "0000000100086c65616465722d31000f687474703a2f2f77303a383038332f000000000000002a00000002000263310000\
              0002ffffffff00000000000263320000000100000003";
    assert_eq!(bytes.as_ref(), hex(kc).as_slice(), "Kafka Connect 4.1.1");
    let decoded = decode_assignment(&bytes).expect("decode");
    assert!(decoded.failed());
    assert_eq!(decoded, assignment);
}

#[test]
fn connectors_and_tasks_are_grouped_by_connector_once() {
    let mut assignment = Assignment::new("l", "u", -1);
    assignment.connectors = vec!["a".into(), "a".into()];
    assignment.tasks = vec![ConnectorTaskId::new("b", 0), ConnectorTaskId::new("a", 1), ConnectorTaskId::new("b", 1)];
    let bytes = encode_assignment(&assignment, ConnectProtocol::Compatible).expect("encode");
    let expected = cat(&[
        &[0, 1, 0, 0, 0, 1],
        b"l",
        &[0, 1],
        b"u",
        &[0xff; 8],                                                    // config-offset -1
        &[0, 0, 0, 2],                                                 // two connectors
        &[0, 1, b'a', 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1], // a: [-1, 1]
        &[0, 1, b'b', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1],             // b: [0, 1]
        &[0, 0, 0, 0],                                                 // revoked: empty
        &[0, 0, 0, 0],                                                 // delay 0
    ]);
    assert_eq!(bytes.as_ref(), expected.as_slice());
    let decoded = decode_assignment(&bytes).expect("decode");
    assert_eq!(decoded.connectors, vec!["a".to_owned()]);
    assert_eq!(decoded.tasks.len(), 3);
}

#[test]
fn null_arrays_and_missing_trailing_fields_take_defaults() {
    // v1 with null assignment and revoked arrays and the delay present.
    let bytes = cat(&[
        &[0, 1, 0, 0, 0, 1],
        b"l",
        &[0, 1],
        b"u",
        &[0, 0, 0, 0, 0, 0, 0, 3],
        &[0xff; 4],
        &[0xff; 4],
        &[0, 0, 0, 9],
    ]);
    let decoded = decode_assignment(&bytes).expect("decode");
    assert!(decoded.connectors.is_empty() && decoded.revoked_tasks.is_empty());
    assert_eq!(decoded.delay_ms, 9);
    // Everything after the config offset missing.
    let short = &bytes[..bytes.len() - 12];
    assert_eq!(decode_assignment(short).expect("decode").delay_ms, 0);
    // A zero-length (not null) allocation has no header: Kafka Connect fails on it too.
    let empty_allocation = cat(&[&[0, 5, 0, 1], b"u", &[0; 8], &[0, 0, 0, 0]]);
    assert_eq!(decode_metadata(&empty_allocation), Err(ProtocolError::Truncated("version")));
    // Bytes after the last known field (a future version's) are ignored.
    let future = cat(&[&[0, 3, 0, 1], b"u", &[0; 8], &[0xff; 4], b"more"]);
    assert_eq!(decode_metadata(&future).expect("decode").url, "u");
}

#[test]
fn malformed_payloads_are_errors_not_panics() {
    assert_eq!(decode_metadata(&[]), Err(ProtocolError::Truncated("version")));
    assert_eq!(decode_metadata(&[0xff, 0xff]), Err(ProtocolError::UnsupportedVersion(-1)));
    assert_eq!(decode_metadata(&[0, 1, 0, 9, b'x']), Err(ProtocolError::Truncated("url")));
    assert_eq!(decode_metadata(&[0, 1, 0xff, 0xff]), Err(ProtocolError::NegativeLength { field: "url", len: -1 }));
    assert_eq!(decode_metadata(&[0, 1, 0, 1, 0xff]), Err(ProtocolError::InvalidUtf8("url")));
    let huge_array = cat(&[&[0, 1, 0, 0, 0, 1], b"l", &[0, 1], b"u", &[0; 8], &[0x7f, 0xff, 0xff, 0xff]]);
    assert_eq!(decode_assignment(&huge_array), Err(ProtocolError::Truncated("connector")));
    let long = "x".repeat(40_000);
    let state = WorkerState { url: long, config_offset: 0, assignment: None };
    assert!(matches!(
        encode_metadata(&state, ConnectProtocol::Eager),
        Err(ProtocolError::TooLong { field: "url", .. })
    ));
}

#[test]
fn protocols_are_offered_as_kafka_connect_offers_them() {
    let names = |p: ConnectProtocol| p.offered().iter().map(|p| p.name()).collect::<Vec<_>>();
    assert_eq!(names(ConnectProtocol::Sessioned), ["sessioned", "compatible", "default"]);
    assert_eq!(names(ConnectProtocol::Compatible), ["compatible", "default"]);
    assert_eq!(names(ConnectProtocol::Eager), ["default"]);
    assert_eq!(ConnectProtocol::from_name("Sessioned"), Some(ConnectProtocol::Sessioned));
    assert_eq!(ConnectProtocol::from_mode("eager"), Some(ConnectProtocol::Eager));
    assert_eq!(ConnectProtocol::from_name("eager"), None);
    assert_eq!(ConnectorTaskId::new("c", 2).to_string(), "c-2");
}
