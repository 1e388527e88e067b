//! The conformance suite against the in-memory store, which keeps the suite
//! itself honest (a restart of a memory store is the same instance).

use std::sync::Arc;

use caucus_eventlog::conformance::StoreFactory;
use caucus_eventlog::{EventLog, MemoryLog};

struct Memory;

#[async_trait::async_trait]
impl StoreFactory for Memory {
    type Handle = Arc<MemoryLog>;

    async fn create(&self) -> (Arc<dyn EventLog>, Self::Handle) {
        let log = MemoryLog::new();
        (log.clone(), log)
    }

    async fn reopen(&self, handle: &mut Self::Handle) -> Arc<dyn EventLog> {
        handle.clone()
    }
}

caucus_eventlog::conformance_tests!(Memory);
