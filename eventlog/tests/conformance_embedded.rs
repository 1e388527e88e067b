//! The conformance suite against the embedded store, each case in a fresh
//! temporary directory; reopening closes the store and opens the directory
//! again. Small segments make the cases cross segment boundaries.

use std::sync::Arc;

use caucus_eventlog::EventLog;
use caucus_eventlog::conformance::StoreFactory;
use caucus_eventlog::embedded::{EmbeddedLog, Options};

struct Embedded;

struct Handle {
    dir: tempfile::TempDir,
    log: Arc<EmbeddedLog>,
}

fn options() -> Options {
    Options {
        segment_bytes: 4096,
        cache_bytes: 16 << 10,
        ..Options::default()
    }
}

#[async_trait::async_trait]
impl StoreFactory for Embedded {
    type Handle = Handle;

    async fn create(&self) -> (Arc<dyn EventLog>, Handle) {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = EmbeddedLog::open_with(dir.path(), options()).expect("open");
        (log.clone(), Handle { dir, log })
    }

    async fn reopen(&self, handle: &mut Handle) -> Arc<dyn EventLog> {
        handle.log.close().await;
        handle.log = EmbeddedLog::open_with(handle.dir.path(), options()).expect("reopen");
        handle.log.clone()
    }
}

caucus_eventlog::conformance_tests!(Embedded);
