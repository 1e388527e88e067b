//! The configuration file: `caucus --config caucus.toml …` (or `CAUCUS_CONFIG`).
//!
//! The file's keys are the `CAUCUS_…` environment variables without the prefix, in
//! lower case, so one precedence rule covers everything: a command-line flag beats
//! the environment, which beats the file, which beats the built-in default.
//!
//! ```toml
//! data = "/var/lib/caucus"
//! http = "0.0.0.0:8080"
//! store = "postgres://caucus@db/caucus"   # leave out for the embedded store
//! dev = false
//! log_format = "json"
//! log = "info"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Keys the file may set, each mapped to the environment variable it stands for.
const KEYS: &[&str] = &[
    "data",
    "http",
    "store",
    "dev",
    "log_format",
    "log",
    "access_key",
    "secret",
];

/// Finds `--config FILE` / `--config=FILE` in `args`, or `CAUCUS_CONFIG`.
pub fn path_from(args: &[String]) -> Option<PathBuf> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(p) = a.strip_prefix("--config=") {
            return Some(PathBuf::from(p));
        }
    }
    std::env::var_os("CAUCUS_CONFIG").map(PathBuf::from)
}

/// Reads the file into `CAUCUS_…` variables, leaving alone those already set.
/// Returns the variables to set; unknown keys and wrong types are errors.
pub fn load(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    parse(&text).with_context(|| format!("in the config file {}", path.display()))
}

fn parse(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let table: BTreeMap<String, toml::Value> = toml::from_str(text)?;
    let mut vars = Vec::new();
    for (key, value) in table {
        anyhow::ensure!(
            KEYS.contains(&key.as_str()),
            "unknown key {key:?}; known keys: {}",
            KEYS.join(", ")
        );
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Integer(i) => i.to_string(),
            other => anyhow::bail!(
                "{key} must be a string, boolean or integer, not {}",
                other.type_str()
            ),
        };
        let var = format!("CAUCUS_{}", key.to_uppercase());
        if std::env::var_os(&var).is_none() {
            vars.push((var, value));
        }
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_caucus_variables() {
        let vars =
            parse("data = \"/srv/caucus\"\ndev = true\nhttp = \"127.0.0.1:9000\"\n").unwrap();
        assert!(vars.contains(&("CAUCUS_DATA".into(), "/srv/caucus".into())));
        assert!(vars.contains(&("CAUCUS_DEV".into(), "true".into())));
        assert!(vars.contains(&("CAUCUS_HTTP".into(), "127.0.0.1:9000".into())));
    }

    #[test]
    fn unknown_keys_and_tables_are_refused() {
        let err = parse("dta = \"x\"").unwrap_err().to_string();
        assert!(err.contains("unknown key \"dta\""), "{err}");
        assert!(parse("[data]\nx = 1").is_err());
        assert!(parse("data = ").is_err(), "malformed TOML");
    }

    #[test]
    fn the_flag_is_found_in_either_form() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            path_from(&args(&["caucus", "--config", "a.toml", "serve"])),
            Some("a.toml".into())
        );
        assert_eq!(
            path_from(&args(&["caucus", "serve", "--config=b.toml"])),
            Some("b.toml".into())
        );
    }
}
