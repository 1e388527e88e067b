//! The log's conformance suite through [`MeteredLog`]: the wrapper the server
//! hands the engine must keep the whole contract of the store it wraps (every
//! method passed through, checkpoint listing included).

use std::sync::Arc;

use caucus_api::metrics::{MeteredLog, Metrics};
use caucus_eventlog::conformance::StoreFactory;
use caucus_eventlog::{EventLog, MemoryLog};

struct Metered;

#[async_trait::async_trait]
impl StoreFactory for Metered {
    type Handle = Arc<MemoryLog>;

    async fn create(&self) -> (Arc<dyn EventLog>, Self::Handle) {
        let log = MemoryLog::new();
        (MeteredLog::wrap(log.clone(), Metrics::new()), log)
    }

    async fn reopen(&self, handle: &mut Self::Handle) -> Arc<dyn EventLog> {
        MeteredLog::wrap(handle.clone(), Metrics::new())
    }
}

caucus_eventlog::conformance_tests!(Metered);
