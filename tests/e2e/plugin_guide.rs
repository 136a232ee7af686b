//! `docs/writing-a-connector.md`, step by step, from a temporary directory outside the
//! repository: every ```sh block of the guide runs in order in one shell (`bash -e`), and the
//! block that starts the worker (`aqueduct standalone ...`) is started as the worker under test.
//!
//! What the test adds around the guide's commands, and nothing else: `AQUEDUCT` (the checkout),
//! `PATH` with the `aqueduct` binary under test, `CARGO_TARGET_DIR` (the workspace's target
//! directory, so the plugin's dependencies, pinned by the copied Cargo.lock, are not built
//! again), and a free port in place of the guide's 8083.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::{free_port, read_lines, reqwest, Worker};

/// The guide's ```sh blocks, in order.
fn sh_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_end() == "```sh" => current = Some(String::new()),
            Some(block) if line.trim_end() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the checkout")
}

#[test]
fn the_guide_builds_a_plugin_outside_the_repo_and_runs_it_from_plugin_path() {
    let repo = repo();
    let guide = std::fs::read_to_string(repo.join("docs/writing-a-connector.md")).expect("the guide");
    let blocks = sh_blocks(&guide);
    let (run, setup): (Vec<&String>, Vec<&String>) =
        blocks.iter().partition(|b| b.trim_start().starts_with("aqueduct standalone"));
    assert_eq!(run.len(), 1, "one block starts the worker");
    assert!(setup.len() >= 4, "the guide's setup blocks: {setup:?}");

    let dir = tempfile::tempdir().expect("a temp dir");
    assert!(!dir.path().starts_with(&repo), "outside the repository");
    let bin = Path::new(env!("CARGO_BIN_EXE_aqueduct")).parent().expect("the binary's directory").to_owned();
    let target = bin.parent().expect("the target directory").to_owned();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let script: String = setup.iter().map(|b| b.as_str()).collect::<Vec<_>>().join("\n");
    let out = Command::new("bash")
        .args(["-e", "-c", &script])
        .current_dir(dir.path())
        .env("AQUEDUCT", &repo)
        .env("PATH", &path)
        .env("CARGO_TARGET_DIR", &target)
        .env("RUST_LOG", "off")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the guide's commands failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.lines().any(|l| l.starts_with("Counter\tsource\t1.0.0\tcom.example.CounterConnector\t")),
        "`aqueduct plugins --plugin-path plugins` lists the connector:\n{stdout}\n{stderr}"
    );

    // The guide's worker command, on a free port.
    let project = dir.path().join("my-connector");
    let port = free_port();
    let worker_file = project.join("worker.json");
    let config = std::fs::read_to_string(&worker_file).expect("worker.json");
    std::fs::write(&worker_file, config.replace("8083", &port.to_string())).expect("worker.json");
    let args: Vec<String> = run[0].split_whitespace().skip(1).map(str::to_owned).collect();
    let counts = project.join("counts.txt");
    let start = |logs: &str| {
        // The worker runs in the project directory, as the guide's reader would run it.
        let worker = Worker::run_in(&args, &project, &dir.path().join(logs), port);
        worker
            .wait("numbers in counts.txt", Duration::from_secs(60), || (read_lines(&counts).len() >= 5).then_some(()));
        worker.wait_state("counter", "RUNNING");
        worker
    };
    let worker = start("run1");
    let (_, plugins) = reqwest::blocking_get(&format!("{}/connector-plugins", worker.url)).expect("plugins");
    assert!(plugins.as_array().into_iter().flatten().any(|p| p["class"] == "Counter" && p["version"] == "1.0.0"));
    assert!(worker.terminate(Duration::from_secs(30)), "the worker stops on SIGTERM");
    let first_run = read_lines(&counts).len();

    // Started again, the counter resumes after the last stored number (through the plugin's
    // offset callback into the worker).
    let worker = start("run2");
    worker.wait("more numbers", Duration::from_secs(30), || (read_lines(&counts).len() >= first_run + 5).then_some(()));
    let lines = read_lines(&counts);
    assert_eq!(lines.iter().filter(|l| l.as_str() == "0").count(), 1, "the counter restarted from 0: {lines:?}");
    assert_eq!(lines[..5], ["0", "1", "2", "3", "4"], "{lines:?}");
    assert!(worker.terminate(Duration::from_secs(30)));
}
