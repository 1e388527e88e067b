//! Codec errors and the application error codes of docs/quic-protocol.md §8.

/// An application error code (QUIC CONNECTION_CLOSE, RESET_STREAM,
/// STOP_SENDING), docs/quic-protocol.md §8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    NoError = 0x0,
    Superseded = 0x1,
    UnknownStreamType = 0x2,
    UnknownTrack = 0x3,
    ObjectTooLarge = 0x4,
    ProtocolViolation = 0x10,
    MessageTooLarge = 0x11,
    Unauthorized = 0x12,
    Forbidden = 0x13,
    Replaced = 0x14,
    Idle = 0x15,
    Internal = 0x20,
}

impl ErrorCode {
    pub const ALL: [Self; 12] = [
        Self::NoError,
        Self::Superseded,
        Self::UnknownStreamType,
        Self::UnknownTrack,
        Self::ObjectTooLarge,
        Self::ProtocolViolation,
        Self::MessageTooLarge,
        Self::Unauthorized,
        Self::Forbidden,
        Self::Replaced,
        Self::Idle,
        Self::Internal,
    ];

    /// The value on the wire.
    pub fn value(self) -> u32 {
        self as u32
    }

    /// The code of a wire value, if it is one of ours.
    pub fn from_value(v: u64) -> Option<Self> {
        Self::ALL.into_iter().find(|c| u64::from(c.value()) == v)
    }

    /// Whether the error ends the whole connection (as opposed to one stream).
    pub fn closes_connection(self) -> bool {
        !matches!(
            self,
            Self::Superseded | Self::UnknownStreamType | Self::UnknownTrack | Self::ObjectTooLarge
        )
    }
}

/// Why bytes from the peer could not be decoded. Each case maps to the code
/// the receiver answers with ([`CodecError::code`]); the caller closes the
/// connection or resets the stream as [`ErrorCode::closes_connection`] says.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// A value to encode does not fit a QUIC varint (2^62 − 1).
    #[error("{0} does not fit a QUIC varint")]
    VarIntRange(u64),
    /// The stream ended inside a varint, a length-prefixed message or an
    /// object: a malformed varint or a length past the end.
    #[error("the stream ended inside a {0}")]
    Truncated(&'static str),
    /// A control message longer than [`crate::codec::MAX_MESSAGE`].
    #[error("control message of {0} bytes is over the 1 MiB limit")]
    MessageTooLarge(u64),
    /// A control message that is not UTF-8.
    #[error("control message is not UTF-8")]
    NotUtf8,
    /// An object longer than [`crate::codec::MAX_OBJECT`].
    #[error("object of {0} bytes is over the 4 MiB limit")]
    ObjectTooLarge(u64),
    /// An object whose length does not cover its own timestamp and flags.
    #[error("object length {0} is shorter than its timestamp and flags")]
    ShortObject(u64),
    /// Flag bits other than bit 0 set.
    #[error("object flags {0:#04x} set reserved bits")]
    ReservedFlags(u8),
    /// A unidirectional stream whose type is not a group stream.
    #[error("unknown stream type {0:#x}")]
    UnknownStreamType(u64),
}

impl CodecError {
    /// The code the receiver answers with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::MessageTooLarge(_) => ErrorCode::MessageTooLarge,
            Self::ObjectTooLarge(_) => ErrorCode::ObjectTooLarge,
            Self::UnknownStreamType(_) => ErrorCode::UnknownStreamType,
            Self::VarIntRange(_)
            | Self::Truncated(_)
            | Self::NotUtf8
            | Self::ShortObject(_)
            | Self::ReservedFlags(_) => ErrorCode::ProtocolViolation,
        }
    }
}
