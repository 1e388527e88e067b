//! The HTTP side of delivery: one signed `POST`, with a timeout, a bounded
//! response read, no redirects, and the URL policy applied to every address a
//! name resolves to (so DNS cannot point a public name at a private address).
//! The only module that knows reqwest.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use caucus_domain::Timestamp;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::endpoint::Endpoint;
use super::payload::Payload;
use super::policy::{UrlPolicy, is_private};
use super::signer::signature_header;

/// Limits of one request.
#[derive(Clone, Copy, Debug)]
pub struct ClientConfig {
    /// Whole request, connect included.
    pub timeout: Duration,
    /// Most response body bytes read; the rest is dropped with the connection.
    pub max_response_bytes: usize,
    pub policy: UrlPolicy,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_response_bytes: 64 * 1024,
            policy: UrlPolicy::default(),
        }
    }
}

/// What one attempt gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The response status, when there was a response.
    pub status: Option<u16>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    pub latency: Duration,
}

impl Outcome {
    /// A 2xx answer.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Sends webhooks; cheap to share.
#[derive(Clone, Debug)]
pub struct Sender {
    client: reqwest::Client,
    config: ClientConfig,
}

#[derive(Debug)]
struct PolicyResolver {
    policy: UrlPolicy,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.allow_private || !is_private(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no address the policy allows").into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

impl Sender {
    pub fn new(config: ClientConfig) -> Self {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Caucus-Webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(256)
            .dns_resolver(Arc::new(PolicyResolver {
                policy: config.policy,
            }))
            .build()
            .expect("the TLS backend (rustls + ring) initializes");
        Self { client, config }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// One signed attempt of `payload` to `endpoint`, at `now`.
    pub async fn send(&self, endpoint: &Endpoint, payload: &Payload, now: Timestamp) -> Outcome {
        let started = Instant::now();
        let fail = |error: String| Outcome {
            status: None,
            error: Some(error),
            latency: started.elapsed(),
        };
        // IP literals skip the resolver: check them (and the scheme) here.
        if let Err(e) = self.config.policy.check_url(&endpoint.url) {
            return fail(e.to_string());
        }
        let id = payload.id.to_string();
        let ts = now.unix_micros().div_euclid(1_000_000);
        let signature = signature_header(endpoint.signing_secrets(now), &id, ts, &payload.body);
        let mut request = self
            .client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature);
        for (k, v) in &endpoint.headers {
            request = request.header(k, v);
        }
        let mut response = match request.body(payload.body.clone()).send().await {
            Ok(r) => r,
            Err(e) => return fail(describe(&e)),
        };
        let status = response.status().as_u16();
        let mut read = 0usize;
        let body_error = loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    read += chunk.len();
                    if read >= self.config.max_response_bytes {
                        break None; // enough: drop the rest with the connection
                    }
                }
                Ok(None) => break None,
                Err(e) => break Some(describe(&e)),
            }
        };
        let error = match body_error {
            Some(e) => Some(e),
            None if (300..400).contains(&status) => Some("redirects are not followed".into()),
            None => None,
        };
        Outcome {
            status: Some(status),
            error,
            latency: started.elapsed(),
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect error"
    } else {
        "request error"
    };
    let mut cause = String::new();
    let mut source = e.source();
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {cause}")
    }
}
