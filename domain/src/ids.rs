//! Newtype identifiers.
//!
//! Every id is a validated string, checked once when it is made ([`FromStr`],
//! `TryFrom<String>`, or serde, which goes through the same check) so the rest of
//! the domain never sees a malformed one. Three shapes follow 100ms:
//!
//! - **ObjectId-like** (24 lowercase hex digits): [`WorkspaceId`], [`TemplateId`],
//!   [`RoomId`], [`SessionId`].
//! - **UUID-like** (`8-4-4-4-12` hex digits, either case, as SDKs generate them):
//!   [`PeerId`], [`MessageId`].
//! - **Opaque tokens** (1–128 printable ASCII characters, no spaces): [`TrackId`],
//!   [`StreamId`] and [`RequestToken`]. Track and stream ids are chosen by the
//!   browser (`MediaStreamTrack.id`): Chrome gives a UUID, Firefox wraps one in
//!   braces, so the check is deliberately looser than "UUID".
//!
//! [`RoleName`] (1–100 of `A-Z a-z 0-9 _ -`) and [`UserId`] (1–256 characters, any
//! text without control characters) are names chosen by the customer.
//!
//! Representation: ids up to 38 bytes (every ObjectId, UUID and braced UUID)
//! live inline, so decoding, cloning and comparing them never touches the heap;
//! longer ones are boxed. Serde sees a plain string; the bincode form is the
//! same bytes as a serde string (varint length, UTF-8), decoded straight from
//! the input slice.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A string that is not a valid id of the named kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: expected {expected}")]
pub struct IdError {
    /// Which id type rejected it, e.g. `"RoomId"`.
    pub kind: &'static str,
    /// The rejected text.
    pub value: String,
    /// What a valid value looks like.
    pub expected: &'static str,
}

// Id checks run on every decode (the replay path), so they are written as
// branch-free folds over the bytes, which the compiler vectorizes.

fn all(b: &[u8], class: impl Fn(u8) -> bool) -> bool {
    b.iter().fold(true, |ok, c| ok & class(*c))
}

fn lower_hex(c: u8) -> bool {
    (c.wrapping_sub(b'0') < 10) | (c.wrapping_sub(b'a') < 6)
}

fn hex(c: u8) -> bool {
    lower_hex(c) | (c.wrapping_sub(b'A') < 6)
}

fn graphic(c: u8) -> bool {
    c.wrapping_sub(0x21) < 0x5e
}

fn role_char(c: u8) -> bool {
    (c.wrapping_sub(b'0') < 10)
        | (c.wrapping_sub(b'a') < 26)
        | (c.wrapping_sub(b'A') < 26)
        | (c == b'_')
        | (c == b'-')
}

fn object_id_ok(b: &[u8]) -> bool {
    b.len() == 24 && all(b, lower_hex)
}

fn uuid_ok(b: &[u8]) -> bool {
    b.len() == 36
        && b[8] == b'-'
        && b[13] == b'-'
        && b[18] == b'-'
        && b[23] == b'-'
        && all(b, |c| hex(c) | (c == b'-'))
        && b.iter().filter(|c| **c == b'-').count() == 4
}

fn token_ok(b: &[u8]) -> bool {
    (1..=128).contains(&b.len()) && all(b, graphic)
}

fn role_name_ok(b: &[u8]) -> bool {
    (1..=100).contains(&b.len()) && all(b, role_char)
}

fn user_id_ok(b: &[u8]) -> bool {
    std::str::from_utf8(b)
        .is_ok_and(|s| (1..=256).contains(&s.chars().count()) && !s.chars().any(char::is_control))
}

/// Inline capacity of an id: fits ObjectIds (24), UUIDs (36) and braced UUIDs
/// (38) without a heap allocation, so decoding and cloning ids is cheap.
const INLINE: usize = 38;

/// The bytes of an id: inline when short, boxed otherwise. Always valid UTF-8:
/// built only from bytes an id check accepted, and every check implies UTF-8.
#[derive(Clone)]
enum Buf {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl Buf {
    fn new(b: &[u8]) -> Self {
        if b.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..b.len()].copy_from_slice(b);
            Self::Inline {
                len: b.len() as u8,
                bytes,
            }
        } else {
            Self::Heap(String::from_utf8_lossy(b).into())
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Self::Heap(s) => s.as_bytes(),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // Checked bytes: always valid UTF-8.
            Self::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Self::Heap(s) => s,
        }
    }
}

/// Longest id accepted by the binary decoder, in bytes (the longest valid id,
/// a 256-character user id, is at most 1024 bytes).
const MAX_DECODED_LEN: u64 = 1024;

/// Reads a bincode string (varint length, then bytes) and checks it as an id
/// straight from the input slice when the reader allows, without allocating.
fn decode_id<D: bincode::de::Decoder, T>(
    decoder: &mut D,
    make: impl FnOnce(&[u8]) -> Result<T, IdError>,
) -> Result<T, bincode::error::DecodeError> {
    use bincode::de::read::Reader;
    use bincode::error::DecodeError;
    let len = <u64 as bincode::Decode<D::Context>>::decode(decoder)?;
    if len > MAX_DECODED_LEN {
        return Err(DecodeError::OtherString(format!(
            "id of {len} bytes is too long"
        )));
    }
    let len = len as usize;
    decoder.claim_container_read::<u8>(len)?;
    let invalid = |e: IdError| DecodeError::OtherString(e.to_string());
    if let Some(bytes) = decoder.reader().peek_read(len) {
        let id = make(bytes).map_err(invalid)?;
        decoder.reader().consume(len);
        return Ok(id);
    }
    let mut bytes = vec![0; len];
    decoder.reader().read(&mut bytes)?;
    make(&bytes).map_err(invalid)
}

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $check:path, $expected:literal) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name(Buf);

        impl $name {
            /// What a valid value looks like (used in error messages).
            pub const EXPECTED: &'static str = $expected;

            /// Checks and wraps `value`.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                if $check(value.as_bytes()) {
                    Ok(Self(Buf::new(value.as_bytes())))
                } else {
                    Err(IdError { kind: stringify!($name), value, expected: $expected })
                }
            }

            /// Checks and wraps `value` without taking ownership.
            pub fn parse_str(value: &str) -> Result<Self, IdError> {
                Self::parse_bytes(value.as_bytes())
            }

            fn parse_bytes(value: &[u8]) -> Result<Self, IdError> {
                if $check(value) {
                    Ok(Self(Buf::new(value)))
                } else {
                    Err(IdError {
                        kind: stringify!($name),
                        value: String::from_utf8_lossy(value).into_owned(),
                        expected: $expected,
                    })
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.as_str().to_owned()
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.as_bytes() == other.0.as_bytes()
            }
        }

        impl Eq for $name {}

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        /// Byte order, which is the order of the strings.
        impl Ord for $name {
            fn cmp(&self, other: &Self) -> std::cmp::Ordering {
                self.0.as_bytes().cmp(other.0.as_bytes())
            }
        }

        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.0.as_bytes().hash(state)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.as_str()).finish()
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.into_string()
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse_str(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// A plain string.
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        /// A string, checked like [`new`](Self::new).
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, "{}: {}", stringify!($name), $expected)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::parse_str(v).map_err(E::custom)
                    }
                }
                d.deserialize_str(Visitor)
            }
        }

        /// Same bytes as a serde string: varint length, then UTF-8.
        impl bincode::Encode for $name {
            fn encode<E: bincode::enc::Encoder>(&self, e: &mut E) -> Result<(), bincode::error::EncodeError> {
                bincode::Encode::encode(self.as_str(), e)
            }
        }

        impl<Context> bincode::Decode<Context> for $name {
            fn decode<D: bincode::de::Decoder<Context = Context>>(
                d: &mut D,
            ) -> Result<Self, bincode::error::DecodeError> {
                decode_id(d, $name::parse_bytes)
            }
        }

        bincode::impl_borrow_decode!($name);
    };
}

string_id!(
    /// A workspace (100ms "customer"): an isolated set of templates and rooms.
    WorkspaceId, object_id_ok, "24 lowercase hex digits"
);
string_id!(
    /// A template ("policy"): a named set of roles and settings.
    TemplateId, object_id_ok, "24 lowercase hex digits"
);
string_id!(
    /// A room. Always server-generated.
    RoomId, object_id_ok, "24 lowercase hex digits"
);
string_id!(
    /// One session of a room: from the first join to the last leave.
    SessionId, object_id_ok, "24 lowercase hex digits"
);
string_id!(
    /// A peer: one connection of one user to one session. Generated by the client.
    PeerId, uuid_ok, "a UUID (8-4-4-4-12 hex digits)"
);
string_id!(
    /// A broadcast message.
    MessageId, uuid_ok, "a UUID (8-4-4-4-12 hex digits)"
);
string_id!(
    /// A published media track (chosen by the client's media stack).
    TrackId, token_ok, "1-128 printable ASCII characters without spaces"
);
string_id!(
    /// The media stream a track belongs to (chosen by the client's media stack).
    StreamId, token_ok, "1-128 printable ASCII characters without spaces"
);
string_id!(
    /// The token of a role-change request; the target sends it back to accept.
    RequestToken, token_ok, "1-128 printable ASCII characters without spaces"
);
string_id!(
    /// A role's name, the key of a template's `roles` map.
    RoleName, role_name_ok, "1-100 characters of A-Z a-z 0-9 _ -"
);
string_id!(
    /// The customer's own id for a user (the token's `user_id`).
    UserId, user_id_ok, "1-256 characters without control characters"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_are_24_lowercase_hex() {
        assert!(RoomId::new("65f0c2a1b2c3d4e5f6a7b8c9").is_ok());
        assert!(RoomId::new("65F0C2A1B2C3D4E5F6A7B8C9").is_err());
        assert!(RoomId::new("65f0c2a1b2c3d4e5f6a7b8c").is_err());
        assert!(RoomId::new("65f0c2a1b2c3d4e5f6a7b8cz").is_err());
    }

    #[test]
    fn peer_ids_are_uuids_of_either_case() {
        assert!(PeerId::new("0b5e2a4c-6a3f-4c1e-9d2b-7f8e9a0b1c2d").is_ok());
        assert!(PeerId::new("0B5E2A4C-6A3F-4C1E-9D2B-7F8E9A0B1C2D").is_ok());
        assert!(PeerId::new("0b5e2a4c6a3f4c1e9d2b7f8e9a0b1c2d").is_err());
        assert!(PeerId::new("").is_err());
    }

    #[test]
    fn track_ids_accept_firefox_braces() {
        assert!(TrackId::new("{0b5e2a4c-6a3f-4c1e-9d2b-7f8e9a0b1c2d}").is_ok());
        assert!(TrackId::new("has space").is_err());
    }

    #[test]
    fn role_names_and_user_ids() {
        assert!(RoleName::new("__internal_recorder").is_ok());
        assert!(RoleName::new("host 1").is_err());
        assert!(UserId::new("alice@example.com").is_ok());
        assert!(UserId::new("").is_err());
    }

    #[test]
    fn long_ids_live_on_the_heap_and_behave_the_same() {
        let long = "u".repeat(200);
        let id = UserId::new(long.clone()).unwrap();
        assert_eq!(id.as_str(), long);
        let short = UserId::new("v").unwrap();
        assert_eq!(id.cmp(&short), long.as_str().cmp("v"));
        assert_eq!(id.clone(), id);
    }

    #[test]
    fn non_ascii_user_ids_round_trip() {
        let id = UserId::new("zoë-ñandú").unwrap();
        let bytes = bincode::encode_to_vec(&id, bincode::config::standard()).unwrap();
        let (back, _): (UserId, usize) =
            bincode::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
        assert_eq!(back, id);
        assert!(UserId::new("tab\there").is_err());
    }

    #[test]
    fn binary_form_is_the_serde_string_form() {
        for id in ["0b5e2a4c-6a3f-4c1e-9d2b-7f8e9a0b1c2d", "x"] {
            let t = TrackId::new(id).unwrap();
            let native = bincode::encode_to_vec(&t, bincode::config::standard()).unwrap();
            let serde = bincode::serde::encode_to_vec(id, bincode::config::standard()).unwrap();
            assert_eq!(native, serde);
            let (back, _): (TrackId, usize) =
                bincode::serde::decode_from_slice(&serde, bincode::config::standard()).unwrap();
            assert_eq!(back, t);
        }
    }

    #[test]
    fn json_form_is_a_checked_string() {
        let id: PeerId = serde_json::from_str("\"0b5e2a4c-6a3f-4c1e-9d2b-7f8e9a0b1c2d\"").unwrap();
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"0b5e2a4c-6a3f-4c1e-9d2b-7f8e9a0b1c2d\""
        );
        assert!(serde_json::from_str::<PeerId>("\"nope\"").is_err());
        let map: std::collections::BTreeMap<RoleName, u8> =
            serde_json::from_str(r#"{"host": 1, "guest": 2}"#).unwrap();
        assert_eq!(
            map.keys().map(RoleName::as_str).collect::<Vec<_>>(),
            ["guest", "host"]
        );
    }

    #[test]
    fn uuid_dashes_must_be_in_place() {
        assert!(PeerId::new("0b5e2a4c6-a3f-4c1e-9d2b-7f8e9a0b1c2d").is_err());
        assert!(PeerId::new("0b5e2a4c-6a3f-4c1e-9d2b-7f8e9a0b1c-d").is_err());
        assert!(PeerId::new("0b5e2a4c-6a3f-4c1e-9d2b-7f8e9a0b1c2g").is_err());
    }

    #[test]
    fn error_names_the_kind() {
        let e = RoomId::new("x").unwrap_err();
        assert_eq!(e.kind, "RoomId");
        assert!(e.to_string().contains("24 lowercase hex digits"));
    }
}
