//! `caucus serve` starts on an empty data directory, refuses a second server on
//! the same directory, and on SIGTERM flushes the log and exits 0.

use std::io::BufReader;
use std::process::Stdio;
use std::time::Duration;

use caucus_tests::{caucus, read_banner, terminate, wait_exit};

#[test]
fn serve_runs_until_sigterm_and_locks_its_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let mut server = caucus(&["serve", "--data", data, "--http", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let banner = read_banner(&mut stdout);
    assert!(
        banner.contains("http://127.0.0.1:"),
        "the banner names the bound address: {banner}"
    );

    let second = caucus(&["serve", "--data", data, "--http", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(
        !second.status.success(),
        "a second server on the same data directory must not start"
    );
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.to_lowercase().contains("lock") || err.contains("in use"),
        "{err}"
    );

    // Something in the log, so the projections have state to snapshot.
    let addr = banner
        .rsplit("http://")
        .next()
        .unwrap()
        .trim()
        .trim_end_matches('.')
        .to_owned();
    let token = caucus(&["token", "management", "--data", data])
        .output()
        .unwrap();
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let token = String::from_utf8(token.stdout).unwrap();
    let answer = post(
        &addr,
        "/v2/rooms",
        token.trim(),
        r#"{"name": "snapshot-room"}"#,
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    terminate(&server);
    let status =
        wait_exit(&mut server, Duration::from_secs(20)).expect("serve exits after SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    assert!(dir.path().join("data/log").is_dir());
    for projection in ["live-rooms", "session-history", "room-codes"] {
        let file = dir
            .path()
            .join(format!("data/projections/{projection}.json"));
        assert!(file.is_file(), "{} is written on shutdown", file.display());
    }
}

/// One HTTP/1.1 POST over a plain socket; returns the whole answer.
fn post(addr: &str, path: &str, token: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn serve_takes_its_settings_from_a_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("from-config");
    let config = dir.path().join("caucus.toml");
    std::fs::write(
        &config,
        format!(
            "data = {:?}\nhttp = \"127.0.0.1:0\"\n",
            data.to_str().unwrap()
        ),
    )
    .unwrap();
    let mut server = caucus(&["--config", config.to_str().unwrap(), "serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let banner = read_banner(&mut stdout);
    assert!(
        banner.contains("from-config"),
        "the data directory comes from the file: {banner}"
    );
    terminate(&server);
    assert!(
        wait_exit(&mut server, Duration::from_secs(20))
            .expect("exits")
            .success()
    );
    assert!(data.join("log").is_dir());

    std::fs::write(&config, "dta = \"typo\"\n").unwrap();
    let out = caucus(&["--config", config.to_str().unwrap(), "serve"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
