//! A private SecantusDB for tests that kill and restart the server: its own port and storage
//! directory, so the shared server (and the tests using it) is never disturbed.

use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mongodb::bson::doc;
use mongodb::Client;

/// A SecantusDB process started by the test (`$AQUEDUCT_CACHE/venv/bin/secantusd-py`).
pub struct PrivateServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl PrivateServer {
    /// Starts a server on a free port with an empty storage directory.
    pub async fn start() -> PrivateServer {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let dir = std::env::temp_dir().join(crate::common::unique("aqueduct-secantus"));
        std::fs::create_dir_all(&dir).expect("storage directory");
        let mut server = PrivateServer { child: None, port, dir };
        server.launch().await;
        server
    }

    /// Its connection string; server selection gives up after a second, so an outage is seen
    /// by the reader rather than hidden by the driver's own resume.
    pub fn uri(&self) -> String {
        format!(
            "mongodb://127.0.0.1:{}/?replicaSet=secantus&serverSelectionTimeoutMS=1000&connectTimeoutMS=1000",
            self.port
        )
    }

    /// A client for [`PrivateServer::uri`].
    pub async fn client(&self) -> Client {
        Client::with_uri_str(self.uri()).await.expect("client")
    }

    /// Kills the server (SIGKILL) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and storage.
    pub async fn restart(&mut self) {
        self.kill();
        self.launch().await;
    }

    async fn launch(&mut self) {
        let cache = std::env::var("AQUEDUCT_CACHE").unwrap_or_else(|_| "/var/cache/aqueduct".to_owned());
        let log = File::options().create(true).append(true).open(self.dir.join("server.log")).expect("log file");
        let child = Command::new(format!("{cache}/venv/bin/secantusd-py"))
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string(), "--storage-path"])
            .arg(self.dir.join("data"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("secantusd-py (scripts/services.sh install mongodb)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let client = self.client().await;
            if client.database("admin").run_command(doc! {"ping": 1}).await.is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "the private SecantusDB on port {} did not start", self.port);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
