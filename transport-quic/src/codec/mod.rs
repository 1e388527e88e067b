//! The wire codec of docs/quic-protocol.md, sans-IO: bytes in, typed items
//! or a typed [`CodecError`] (with its [`ErrorCode`]) out.
//!
//! Layout: [`varint`] (RFC 9000 §16), [`control`] (the control stream's
//! length-prefixed JSON), [`media`] (group streams, objects, datagrams),
//! [`error`] (errors and close codes).

pub mod control;
pub mod error;
pub mod media;
pub mod varint;

pub use control::{ControlDecoder, MAX_MESSAGE, encode_message};
pub use error::{CodecError, ErrorCode};
pub use media::{
    Datagram, GROUP_STREAM, GroupDecoder, GroupHeader, GroupItem, MAX_OBJECT, Object,
    PRIORITY_AUDIO, PRIORITY_VIDEO,
};
