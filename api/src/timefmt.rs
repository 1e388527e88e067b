//! RFC3339 timestamps at the API boundary; [`Timestamp`] (µs) inside.

use caucus_domain::Timestamp;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `2026-11-22T01:02:03.123456Z`.
pub fn rfc3339(t: Timestamp) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.unix_micros()) * 1000)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// Parses an RFC3339 time (a query filter such as `after`).
pub fn parse(s: &str) -> Option<Timestamp> {
    let d = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    let us = d.unix_timestamp_nanos() / 1000;
    i64::try_from(us).ok().map(Timestamp::from_unix_micros)
}

/// The current time from the system clock.
pub fn now() -> Timestamp {
    let us = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000;
    Timestamp::from_unix_micros(i64::try_from(us).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let t = Timestamp::from_unix_micros(1_800_000_000_123_456);
        let s = rfc3339(t);
        assert_eq!(s, "2027-01-15T08:00:00.123456Z");
        assert_eq!(parse(&s), Some(t));
        assert_eq!(parse("yesterday"), None);
    }
}
