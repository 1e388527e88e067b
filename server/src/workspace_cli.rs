//! `caucus workspace …`: create and list workspaces; and the default workspace
//! that the first `caucus serve` on an empty data directory creates.
//!
//! Secrets are printed once, to stdout, when a workspace is created, and never
//! logged. They live in `<data>/workspaces.json` (mode 0600).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use caucus_api::{Secret, WorkspaceStore};
use clap::{Args, Subcommand};

/// `caucus workspace …`.
#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace and print its access key and secret (shown only now).
    Create(CreateArgs),
    /// List the workspaces: name, id and access key (never the secret).
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct DataArg {
    /// Data directory (where `workspaces.json` lives).
    #[arg(long, env = "CAUCUS_DATA", default_value = "caucus-data")]
    pub data: PathBuf,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The workspace's name: 1-64 of a-z A-Z 0-9 space - _ .
    pub name: String,
    /// Print `{"access_key": …, "secret": …}` instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data: DataArg,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data: DataArg,
}

pub fn run(cmd: WorkspaceCommand) -> anyhow::Result<()> {
    match cmd {
        WorkspaceCommand::Create(a) => {
            let store = open(&a.data.data)?;
            let ws = store.create(&a.name)?;
            if a.json {
                let v = serde_json::json!({
                    "id": ws.id,
                    "name": ws.name,
                    "access_key": ws.access_key,
                    "secret": ws.secret.expose(),
                });
                println!("{v}");
            } else {
                println!("Created workspace {} ({})", ws.name, ws.id);
                println!("access key: {}", ws.access_key);
                println!("secret:     {}", ws.secret.expose());
                println!(
                    "The secret is shown only now; it is stored in {}.",
                    store_path(&a.data.data).display()
                );
            }
            Ok(())
        }
        WorkspaceCommand::List(a) => {
            let store = open(&a.data.data)?;
            let list = store.list();
            if a.json {
                let v: Vec<_> = list
                    .iter()
                    .map(|w| serde_json::json!({"id": w.id, "name": w.name, "access_key": w.access_key}))
                    .collect();
                println!("{}", serde_json::Value::Array(v));
            } else {
                for w in list {
                    println!("{}\t{}\t{}", w.name, w.id, w.access_key);
                }
            }
            Ok(())
        }
    }
}

fn store_path(data: &Path) -> PathBuf {
    data.join(caucus_api::workspaces::FILE_NAME)
}

fn open(data: &Path) -> anyhow::Result<WorkspaceStore> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    Ok(WorkspaceStore::open(data)?)
}

/// For `caucus serve`: opens the workspaces of `data`, creating the default
/// workspace on an empty store — with `CAUCUS_ACCESS_KEY` / `CAUCUS_SECRET` when
/// both are set, otherwise generated and printed once.
pub fn ensure_default(data: &Path) -> anyhow::Result<Arc<WorkspaceStore>> {
    let store = open(data)?;
    let from_env = match (
        std::env::var("CAUCUS_ACCESS_KEY")
            .ok()
            .filter(|s| !s.is_empty()),
        std::env::var("CAUCUS_SECRET")
            .ok()
            .filter(|s| !s.is_empty()),
    ) {
        (Some(key), Some(secret)) => Some((key, Secret::new(secret))),
        (None, None) => None,
        _ => anyhow::bail!("set both CAUCUS_ACCESS_KEY and CAUCUS_SECRET, or neither"),
    };
    let given = from_env.is_some();
    let (ws, created) = store.ensure_default(from_env)?;
    if created {
        if given {
            println!(
                "Created workspace {} with the access key from CAUCUS_ACCESS_KEY ({}).",
                ws.name, ws.access_key
            );
        } else {
            println!("Created workspace {} ({}):", ws.name, ws.id);
            println!("  access key: {}", ws.access_key);
            println!("  secret:     {}", ws.secret.expose());
            println!(
                "  The secret is shown only now; it is stored in {}.",
                store_path(data).display()
            );
        }
    }
    Ok(Arc::new(store))
}
