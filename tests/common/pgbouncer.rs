//! A PgBouncer of the test's own, in transaction mode in front of the test
//! Postgres, as a deployment with several replicas runs one (README,
//! "Several replicas and PgBouncer"). Ended when its guard drops, also when
//! the test fails.
//!
//! Without the `pgbouncer` binary (Debian's package) [`PgBouncer::start`]
//! answers `None` and the test skips, unless `ROTA_REQUIRE_PGBOUNCER` is set
//! (as in CI), where that is a failure.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BINARIES: [&str; 2] = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"];

pub struct PgBouncer {
    port: u16,
    dir: PathBuf,
    log: Arc<Mutex<String>>,
    _child: Child,
}

impl PgBouncer {
    /// A PgBouncer sharing at most `servers` server connections per database
    /// among all its clients: few, so that clients take turns on them.
    pub async fn start(servers: u32) -> Option<PgBouncer> {
        let Some(binary) = BINARIES.iter().find(|b| std::path::Path::new(b).exists()) else {
            if std::env::var_os("ROTA_REQUIRE_PGBOUNCER").is_some() {
                panic!("PgBouncer is required (ROTA_REQUIRE_PGBOUNCER): apt-get install -y pgbouncer");
            }
            eprintln!("skipping a PgBouncer test: install pgbouncer (apt-get install -y pgbouncer) to run it");
            return None;
        };
        let server = url::Url::parse(&super::server_url()).expect("ROTA_TEST_DATABASE_URL is a URL");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("addr").port()
        };
        let dir = std::env::temp_dir().join(format!("rota-pgbouncer-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("PgBouncer's directory");
        let user = server.username();
        let user = if user.is_empty() { "postgres" } else { user };
        std::fs::write(dir.join("userlist.txt"), format!("\"{user}\" \"\"\n")).expect("userlist");
        let ini = format!(
            "[databases]\n\
             * = host={host} port={server_port}\n\
             [pgbouncer]\n\
             listen_addr = 127.0.0.1\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = trust\n\
             auth_file = {userlist}\n\
             pool_mode = transaction\n\
             default_pool_size = {servers}\n\
             max_client_conn = 500\n\
             log_connections = 0\n\
             log_disconnections = 0\n\
             log_stats = 0\n",
            host = server.host_str().unwrap_or("127.0.0.1"),
            server_port = server.port().unwrap_or(5432),
            userlist = dir.join("userlist.txt").display(),
        );
        let config = dir.join("pgbouncer.ini");
        std::fs::write(&config, ini).expect("pgbouncer.ini");
        let mut command = Command::new(binary);
        if running_as_root() {
            // PgBouncer refuses to run as root; it reads its files as nobody.
            use std::os::unix::fs::PermissionsExt;
            for path in [&dir, &config] {
                let mode = if path.is_dir() { 0o755 } else { 0o644 };
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("permissions");
            }
            std::fs::set_permissions(dir.join("userlist.txt"), std::fs::Permissions::from_mode(0o644))
                .expect("permissions");
            command.arg("-u").arg("nobody");
        }
        let mut child = command
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start pgbouncer");
        // PgBouncer says when it listens; wait for that line, not a timer.
        // Its log is kept (and its pipe drained) for as long as it runs.
        let log = Arc::new(Mutex::new(String::new()));
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let (up_tx, up_rx) = tokio::sync::oneshot::channel();
        let kept = log.clone();
        tokio::spawn(async move {
            let mut up = Some(up_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                let started = line.contains("process up");
                kept.lock().expect("log").push_str(&format!("{line}\n"));
                if started && let Some(up) = up.take() {
                    let _ = up.send(());
                }
            }
        });
        let started = tokio::time::timeout(std::time::Duration::from_secs(10), up_rx).await;
        let bouncer = PgBouncer {
            port,
            dir,
            log,
            _child: child,
        };
        assert!(
            matches!(started, Ok(Ok(()))),
            "PgBouncer did not start; its log:\n{}",
            bouncer.log()
        );
        Some(bouncer)
    }

    /// The URL of `database` through this PgBouncer.
    pub fn url(&self, database: &str) -> String {
        let server = url::Url::parse(&super::server_url()).expect("ROTA_TEST_DATABASE_URL is a URL");
        let user = match server.username() {
            "" => "postgres",
            u => u,
        };
        format!("postgres://{user}@127.0.0.1:{}/{database}", self.port)
    }

    /// The port it listens on, at 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What PgBouncer logged so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        // The child is killed as it drops (kill_on_drop).
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether this process runs as root (its effective user id is 0).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?.to_owned();
            line.split_whitespace().nth(2).map(|effective| effective == "0")
        })
        .unwrap_or(false)
}
