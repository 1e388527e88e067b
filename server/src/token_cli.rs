//! `caucus token app|management`: mint tokens for local use with a workspace's
//! secret. Prints the token alone on stdout.

use std::path::{Path, PathBuf};

use anyhow::Context;
use caucus_api::auth::{self, AppGrant};
use caucus_api::{Workspace, WorkspaceStore};
use clap::{Args, Subcommand};

/// `caucus token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// An app token: joins one room with one role.
    App(AppArgs),
    /// A management token: calls the REST API.
    Management(ManagementArgs),
}

#[derive(Debug, Args)]
pub struct Common {
    /// Data directory (where `workspaces.json` lives).
    #[arg(long, env = "CAUCUS_DATA", default_value = "caucus-data")]
    pub data: PathBuf,
    /// Workspace name or access key (default: the first workspace).
    #[arg(long)]
    pub workspace: Option<String>,
    /// Validity in seconds.
    #[arg(long, default_value_t = 86_400)]
    pub ttl: i64,
}

#[derive(Debug, Args)]
pub struct AppArgs {
    /// The room's id.
    #[arg(long)]
    pub room: String,
    /// The role to join with.
    #[arg(long)]
    pub role: String,
    /// The user's id (default: a random UUID).
    #[arg(long)]
    pub user: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct ManagementArgs {
    #[command(flatten)]
    pub common: Common,
}

pub fn run(cmd: TokenCommand) -> anyhow::Result<()> {
    let now = auth::now_unix();
    let token = match cmd {
        TokenCommand::App(a) => {
            let ws = workspace(&a.common)?;
            let grant = AppGrant {
                room_id: a.room,
                role: a.role,
                user_id: a.user.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            };
            auth::mint_app(&ws, grant, now, a.common.ttl)?
        }
        TokenCommand::Management(m) => {
            let ws = workspace(&m.common)?;
            auth::mint_management(&ws, now, m.common.ttl)?
        }
    };
    println!("{token}");
    Ok(())
}

fn workspace(c: &Common) -> anyhow::Result<Workspace> {
    anyhow::ensure!(c.ttl > 0, "--ttl must be positive");
    find_workspace(&c.data, c.workspace.as_deref())
}

/// The workspace of `data` named `name` (its name or access key), or the
/// first one; with its secret, for minting tokens.
pub fn find_workspace(data: &Path, name: Option<&str>) -> anyhow::Result<Workspace> {
    let store = WorkspaceStore::open(data)
        .with_context(|| format!("reading workspaces in {}", data.display()))?;
    let list = store.list();
    let found = match name {
        Some(w) => list.into_iter().find(|x| x.name == w || x.access_key == w),
        None => list.into_iter().next(),
    };
    found.with_context(|| {
        format!(
            "no such workspace in {} (run `caucus serve` or `caucus workspace create` first)",
            data.display()
        )
    })
}
