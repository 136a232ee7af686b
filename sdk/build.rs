//! Captures what the plugin declaration carries besides the SDK version: the version of the
//! compiler building the SDK (`aqueduct_sdk::plugin::RUSTC_VERSION`) and the fingerprint of the
//! wire protocol (`aqueduct_sdk::plugin::PROTOCOL`).

use std::process::Command;

/// The files that define what crosses the plugin boundary: the ABI, the calls and callbacks,
/// the wire forms of records, values, schemas and transaction requests, and the names and
/// codes those wire forms spell (schema types, config types and importances, error kinds).
const WIRE_FILES: [&str; 9] = [
    "src/plugin/abi.rs",
    "src/plugin/protocol.rs",
    "src/plugin/wire.rs",
    "src/plugin/wire_record.rs",
    "src/exactly_once.rs",
    "src/record.rs",
    "src/schema.rs",
    "src/config.rs",
    "src/error.rs",
];

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=AQUEDUCT_RUSTC_VERSION={version}");
    println!("cargo:rustc-env=AQUEDUCT_PROTOCOL={:016x}", protocol_fingerprint());
    println!("cargo:rerun-if-env-changed=RUSTC");
    println!("cargo:rerun-if-changed=build.rs");
}

/// FNV-1a over the code of [`WIRE_FILES`] up to their unit tests (`#[cfg(test)]`), whole-line
/// comments and whitespace left out: a change to what crosses the boundary changes it, a
/// reworded doc comment, a reformat or a new test does not. (It errs on the safe side: any other
/// code change in those files changes it too, and a plugin from before that change is refused.)
fn protocol_fingerprint() -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for path in WIRE_FILES {
        println!("cargo:rerun-if-changed={path}");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
        let code = text.lines().map(str::trim).take_while(|line| *line != "#[cfg(test)]");
        let code = code.filter(|line| !line.starts_with("//"));
        for byte in code.flat_map(str::bytes).filter(|b| !b.is_ascii_whitespace()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}
