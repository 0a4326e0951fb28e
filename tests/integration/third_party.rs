use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{Guard, free_port, netlab, root, start_until, temp_file, text};

/// `redis-server`, if installed; `.ci/run` installs it and sets NETLAB_REQUIRE_REDIS so that CI
/// fails rather than skips when it is missing.
fn redis_server(test: &str) -> Option<&'static str> {
    let installed = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if installed {
        return Some("redis-server");
    }
    assert!(
        std::env::var_os("NETLAB_REQUIRE_REDIS").is_none(),
        "{test}: redis-server is required here (NETLAB_REQUIRE_REDIS is set) but not installed"
    );
    eprintln!("skipped {test}: redis-server is not installed (apt-get install redis-server)");
    None
}

/// A real Redis server on a free port of 127.0.0.1, started for `test` (ended when the guard
/// drops), and its port; `None` (the test skips, saying why) where redis-server is missing.
pub fn start_redis(test: &str) -> Option<(Guard, u16)> {
    let redis = redis_server(test)?;
    let port = free_port();
    let dir = temp_file("redis.keep", "");
    let mut command = Command::new(redis);
    command
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir.parent().unwrap());
    let (redis, _log, _) = start_until(
        command,
        "Ready to accept connections",
        Duration::from_secs(20),
    );
    Some((redis, port))
}

/// A netlab client speaks RESP to a real Redis server that the test starts on a free port.
#[test]
fn netlab_client_talks_to_a_real_redis_server() {
    let test = "netlab_client_talks_to_a_real_redis_server";
    let Some((_redis, port)) = start_redis(test) else {
        return;
    };
    let template =
        std::fs::read_to_string(root().join("tests/fixtures/redis_client.yaml")).unwrap();
    let file = temp_file(
        "redis_client.yaml",
        &template.replace("PORT", &port.to_string()),
    );
    let (code, stdout, stderr) = text(
        &netlab()
            .args(["run", "--transcript", file.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("✓ client  expect \"+PONG\\r\\n\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("✓ client  expect \"$8\\r\\nWelcome!\\r\\n\""),
        "{stdout}"
    );
    assert!(stdout.contains("✓ client  expect_close"), "{stdout}");
}
