//! Event encoding: a stable type name and schema version per event, and the
//! payload bytes (bincode 2, standard configuration).
//!
//! Payloads derive bincode's own `Encode`/`Decode`, which write exactly the
//! bytes bincode's serde path writes for the same types (the golden fixtures
//! were produced by the serde path and pin this), but decode without serde's
//! detour and read ids into inline buffers instead of heap strings.
//!
//! Each variant's payload struct is encoded on its own, not the whole enum, so
//! the pair (type name, version) stored in the envelope selects the payload
//! schema. Decoding an older version is where upcasting lives: each event enum
//! has an `upcast` function that turns an old payload into the current variant.
//! Stored bytes are never rewritten, and every (type, version) ever written has a
//! golden fixture under `domain/tests/fixtures/`.

/// Why stored bytes could not be turned back into an event.
///
/// None of these is retryable: the bytes are what they are. `UnknownType` and
/// `UnknownVersion` mean the binary is older than the data (upgrade it);
/// `Malformed` means corruption or a codec bug.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// No event of this aggregate has this type name.
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    /// The type is known but this schema version is not.
    #[error("unknown schema version {version} of event type {event_type:?}")]
    UnknownVersion { event_type: String, version: u16 },
    /// The bytes do not decode as the payload of this type and version.
    #[error("malformed payload of {event_type:?} v{version}: {reason}")]
    Malformed {
        event_type: String,
        version: u16,
        reason: String,
    },
}

/// An event enum with a stable wire identity.
pub trait DomainEvent: Sized {
    /// The stable type name, e.g. `"PeerJoined"`. Never changes once written.
    fn event_type(&self) -> &'static str;
    /// The schema version of the payload this value encodes to.
    fn schema_version(&self) -> u16;
    /// The payload bytes (bincode 2 standard config; the same bytes as through
    /// serde). Infallible: the payload types are plain data.
    fn encode(&self) -> Vec<u8>;
    /// The event from its type name, schema version and payload bytes; old
    /// versions are upcast to the current shape.
    fn decode(event_type: &str, version: u16, bytes: &[u8]) -> Result<Self, DecodeError>;
}

/// Most memory one payload may claim while decoding. bincode allocates a
/// container from its length prefix; without a limit a corrupt prefix asks for
/// terabytes and aborts the process. Real payloads are a few kilobytes.
pub const DECODE_LIMIT: usize = 16 * 1024 * 1024;

/// Encodes one payload struct.
pub(crate) fn encode_payload<T: bincode::Encode>(payload: &T) -> Vec<u8> {
    bincode::encode_to_vec(payload, bincode::config::standard())
        .expect("domain payloads are plain data and always encode")
}

/// Decodes one payload struct, requiring every byte to be used.
pub(crate) fn decode_payload<T: bincode::Decode<()>>(
    event_type: &str,
    version: u16,
    bytes: &[u8],
) -> Result<T, DecodeError> {
    let malformed = |reason: String| DecodeError::Malformed {
        event_type: event_type.to_owned(),
        version,
        reason,
    };
    let config = bincode::config::standard().with_limit::<DECODE_LIMIT>();
    let (value, used) =
        bincode::decode_from_slice::<T, _>(bytes, config).map_err(|e| malformed(e.to_string()))?;
    if used != bytes.len() {
        return Err(malformed(format!(
            "{} trailing bytes after the payload",
            bytes.len() - used
        )));
    }
    Ok(value)
}

/// Declares an event enum whose variants each wrap one payload struct, with its
/// [`DomainEvent`] impl and the `TYPES` list of (type name, current version).
/// Older versions go through `Self::upcast(type, version, bytes)`, written by hand.
macro_rules! event_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident($payload:ty) = $version:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $( $(#[$vmeta])* $variant($payload), )*
        }

        impl $name {
            /// Every event type with its current schema version.
            pub const TYPES: &'static [(&'static str, u16)] =
                &[ $( (stringify!($variant), $version), )* ];
        }

        $(
            impl From<$payload> for $name {
                fn from(p: $payload) -> Self {
                    Self::$variant(p)
                }
            }
        )*

        impl $crate::codec::DomainEvent for $name {
            fn event_type(&self) -> &'static str {
                match self { $( Self::$variant(_) => stringify!($variant), )* }
            }

            fn schema_version(&self) -> u16 {
                match self { $( Self::$variant(_) => $version, )* }
            }

            fn encode(&self) -> Vec<u8> {
                match self { $( Self::$variant(p) => $crate::codec::encode_payload(p), )* }
            }

            fn decode(
                event_type: &str,
                version: u16,
                bytes: &[u8],
            ) -> Result<Self, $crate::codec::DecodeError> {
                match event_type {
                    $(
                        stringify!($variant) if version == $version => Ok(Self::$variant(
                            $crate::codec::decode_payload(event_type, version, bytes)?,
                        )),
                    )*
                    _ => Self::upcast(event_type, version, bytes),
                }
            }
        }
    };
}

pub(crate) use event_enum;

/// The error for a (type, version) that neither the current schema nor an upcast
/// knows; used by the hand-written `upcast` functions.
pub(crate) fn unknown(types: &[(&str, u16)], event_type: &str, version: u16) -> DecodeError {
    if types.iter().any(|(t, _)| *t == event_type) {
        DecodeError::UnknownVersion {
            event_type: event_type.to_owned(),
            version,
        }
    } else {
        DecodeError::UnknownType(event_type.to_owned())
    }
}
