//! 100ms pagination: `limit` (10–100, default 10) and `start` (the `last` of the
//! previous page); the response is `{limit, data, last}`. Objects are listed in
//! id order and `start` is exclusive.

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u32 = 10;
pub const MIN_LIMIT: u32 = 10;
pub const MAX_LIMIT: u32 = 100;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub limit: u32,
    pub data: Vec<T>,
    /// The id of the last object of this page; pass it as `start` for the next.
    /// `null` when the page is empty.
    pub last: Option<String>,
}

/// Checks `limit`.
pub fn limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let l = limit.unwrap_or(DEFAULT_LIMIT);
    if !(MIN_LIMIT..=MAX_LIMIT).contains(&l) {
        return Err(ApiError::invalid(
            "invalid query parameter",
            format!("limit must be in {MIN_LIMIT}..={MAX_LIMIT}, got {l}"),
        ));
    }
    Ok(l)
}

/// Takes the page after `start` from `items`, which must be in id order.
pub fn paginate<T>(
    items: impl Iterator<Item = (String, T)>,
    limit: u32,
    start: Option<&str>,
) -> Page<T> {
    let mut data = Vec::new();
    let mut last = None;
    for (id, item) in items.filter(|(id, _)| start.is_none_or(|s| id.as_str() > s)) {
        if data.len() == limit as usize {
            break;
        }
        last = Some(id);
        data.push(item);
    }
    Page { limit, data, last }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_the_cursor() {
        let items = || (0..25).map(|i| (format!("{i:02}"), i));
        let p1 = paginate(items(), 10, None);
        assert_eq!(p1.data, (0..10).collect::<Vec<_>>());
        assert_eq!(p1.last.as_deref(), Some("09"));
        let p3 = paginate(items(), 10, Some("19"));
        assert_eq!(p3.data, (20..25).collect::<Vec<_>>());
        let p4 = paginate(items(), 10, Some("24"));
        assert!(p4.data.is_empty() && p4.last.is_none());
        assert!(limit(Some(9)).is_err() && limit(Some(101)).is_err());
        assert_eq!(limit(None).unwrap(), 10);
    }
}
