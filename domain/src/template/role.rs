//! A role: what its peers may publish, whom they receive, and what they may do.
//!
//! Field names and defaults are 100ms's (`publishParams`, `bitRate`,
//! `maxPeerCount`, …) because the REST API serializes these types directly.
//! Absent fields take 100ms's defaults when deserialized. Ranges are checked by
//! [`validate_role`](super::validate_role), not by deserialization.

use serde::{Deserialize, Serialize};

use crate::ids::RoleName;

/// One role of a template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    /// Must equal the key under which the role is stored.
    pub name: RoleName,
    #[serde(default)]
    pub publish_params: PublishParams,
    #[serde(default)]
    pub subscribe_params: SubscribeParams,
    #[serde(default)]
    pub permissions: Permissions,
    /// 1–5, 1 is the highest; the order in which roles are degraded.
    #[serde(default = "default_priority")]
    pub priority: u8,
    /// `0` = unlimited, `-1` = nobody may hold this role, `n` = at most n peers.
    #[serde(default)]
    pub max_peer_count: i32,
}

fn default_priority() -> u8 {
    1
}

impl Role {
    /// A role with every default: publishes nothing, subscribes to nothing.
    pub fn new(name: RoleName) -> Self {
        Self {
            name,
            publish_params: PublishParams::default(),
            subscribe_params: SubscribeParams::default(),
            permissions: Permissions::default(),
            priority: default_priority(),
            max_peer_count: 0,
        }
    }

    /// Whether this role may publish `kind` (`publishParams.allowed`).
    pub fn may_publish(&self, kind: PublishKind) -> bool {
        self.publish_params.allowed.contains(&kind)
    }

    /// How many peers may hold the role: `None` = unlimited, `Some(0)` = nobody.
    pub fn peer_limit(&self) -> Option<u32> {
        match self.max_peer_count {
            0 => None,
            n if n < 0 => Some(0),
            n => Some(n.unsigned_abs()),
        }
    }
}

/// What may be published, the names used in `publishParams.allowed`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
#[serde(rename_all = "lowercase")]
pub enum PublishKind {
    Audio,
    Video,
    Screen,
    Simulcast,
}

impl PublishKind {
    /// The 100ms name: `audio`, `video`, `screen`, `simulcast`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Screen => "screen",
            Self::Simulcast => "simulcast",
        }
    }
}

impl std::fmt::Display for PublishKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `publishParams`.
#[derive(
    Clone, Debug, Default, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
#[serde(rename_all = "camelCase")]
pub struct PublishParams {
    /// A subset of audio, video, screen, simulcast.
    #[serde(default)]
    pub allowed: Vec<PublishKind>,
    #[serde(default)]
    pub audio: AudioParams,
    #[serde(default)]
    pub video: VideoParams,
    #[serde(default)]
    pub screen: ScreenParams,
    /// Simulcast layers; `null`/absent when the role does not simulcast.
    #[serde(default)]
    pub simulcast: Option<SimulcastParams>,
}

/// `publishParams.audio`: bitRate 16–128 kbps (default 32), codec `opus`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(rename_all = "camelCase")]
pub struct AudioParams {
    #[serde(default = "AudioParams::default_bit_rate")]
    pub bit_rate: u32,
    #[serde(default = "AudioParams::default_codec")]
    pub codec: String,
}

impl AudioParams {
    fn default_bit_rate() -> u32 {
        32
    }
    fn default_codec() -> String {
        "opus".into()
    }
}

impl Default for AudioParams {
    fn default() -> Self {
        Self {
            bit_rate: Self::default_bit_rate(),
            codec: Self::default_codec(),
        }
    }
}

/// `publishParams.video`: bitRate 30–2000 (256), codec `vp8`, frameRate 1–30
/// (25), width 50–1920 (320), height 50–1080 (180).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(rename_all = "camelCase")]
pub struct VideoParams {
    #[serde(default = "VideoParams::default_bit_rate")]
    pub bit_rate: u32,
    #[serde(default = "default_video_codec")]
    pub codec: String,
    #[serde(default = "VideoParams::default_frame_rate")]
    pub frame_rate: u32,
    #[serde(default = "VideoParams::default_width")]
    pub width: u32,
    #[serde(default = "VideoParams::default_height")]
    pub height: u32,
}

fn default_video_codec() -> String {
    "vp8".into()
}

impl VideoParams {
    fn default_bit_rate() -> u32 {
        256
    }
    fn default_frame_rate() -> u32 {
        25
    }
    fn default_width() -> u32 {
        320
    }
    fn default_height() -> u32 {
        180
    }
}

impl Default for VideoParams {
    fn default() -> Self {
        Self {
            bit_rate: Self::default_bit_rate(),
            codec: default_video_codec(),
            frame_rate: Self::default_frame_rate(),
            width: Self::default_width(),
            height: Self::default_height(),
        }
    }
}

/// `publishParams.screen`: bitRate ≥ 500 (1024), codec `vp8`, frameRate 1–30
/// (10), width 480–1920 (1280), height 270–1080 (720).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(rename_all = "camelCase")]
pub struct ScreenParams {
    #[serde(default = "ScreenParams::default_bit_rate")]
    pub bit_rate: u32,
    #[serde(default = "default_video_codec")]
    pub codec: String,
    #[serde(default = "ScreenParams::default_frame_rate")]
    pub frame_rate: u32,
    #[serde(default = "ScreenParams::default_width")]
    pub width: u32,
    #[serde(default = "ScreenParams::default_height")]
    pub height: u32,
}

impl ScreenParams {
    fn default_bit_rate() -> u32 {
        1024
    }
    fn default_frame_rate() -> u32 {
        10
    }
    fn default_width() -> u32 {
        1280
    }
    fn default_height() -> u32 {
        720
    }
}

impl Default for ScreenParams {
    fn default() -> Self {
        Self {
            bit_rate: Self::default_bit_rate(),
            codec: default_video_codec(),
            frame_rate: Self::default_frame_rate(),
            width: Self::default_width(),
            height: Self::default_height(),
        }
    }
}

/// `publishParams.simulcast`.
#[derive(
    Clone, Debug, Default, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
#[serde(rename_all = "camelCase")]
pub struct SimulcastParams {
    #[serde(default)]
    pub video: SimulcastLayers,
    #[serde(default)]
    pub screen: SimulcastLayers,
}

/// `{layers: [...]}`: at most 3; the first is `rid f` at scale 1; scale strictly
/// increases and rid strictly decreases (f > h > q).
#[derive(
    Clone, Debug, Default, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode,
)]
#[serde(rename_all = "camelCase")]
pub struct SimulcastLayers {
    #[serde(default)]
    pub layers: Vec<SimulcastLayer>,
}

/// One simulcast layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(rename_all = "camelCase")]
pub struct SimulcastLayer {
    pub rid: Rid,
    /// 1.0–12.0.
    pub scale_resolution_down_by: f64,
    /// 0–2000 kbps.
    pub max_bitrate: u32,
    /// 1–30.
    pub max_framerate: u32,
}

/// A simulcast layer id: full, half, quarter. Ordered f > h > q.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum Rid {
    #[serde(rename = "f")]
    F,
    #[serde(rename = "h")]
    H,
    #[serde(rename = "q")]
    Q,
}

impl Rid {
    /// 3 for f, 2 for h, 1 for q: layers must strictly decrease in rank.
    pub fn rank(self) -> u8 {
        match self {
            Self::F => 3,
            Self::H => 2,
            Self::Q => 1,
        }
    }
}

/// `subscribeParams`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeParams {
    /// Roles whose tracks this role receives. May name roles not (yet) in the
    /// template: they simply match nobody.
    #[serde(default)]
    pub subscribe_to_roles: Vec<RoleName>,
    /// Cap on the total received bitrate, kbps.
    #[serde(default = "default_max_subs_bit_rate")]
    pub max_subs_bit_rate: u32,
    /// Present when subscribe degradation is enabled.
    #[serde(default)]
    pub subscribe_degradation: Option<SubscribeDegradation>,
}

fn default_max_subs_bit_rate() -> u32 {
    3200
}

impl Default for SubscribeParams {
    fn default() -> Self {
        Self {
            subscribe_to_roles: Vec::new(),
            max_subs_bit_rate: default_max_subs_bit_rate(),
            subscribe_degradation: None,
        }
    }
}

/// `subscribeParams.subscribeDegradation`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeDegradation {
    /// 1–100 (default 50).
    #[serde(default = "SubscribeDegradation::default_packet_loss")]
    pub packet_loss_threshold: u32,
    /// 1–10 (default 1).
    #[serde(default = "SubscribeDegradation::default_degrade")]
    pub degrade_grace_period_seconds: u32,
    /// 1–10 (default 4).
    #[serde(default = "SubscribeDegradation::default_recover")]
    pub recover_grace_period_seconds: u32,
}

impl SubscribeDegradation {
    fn default_packet_loss() -> u32 {
        50
    }
    fn default_degrade() -> u32 {
        1
    }
    fn default_recover() -> u32 {
        4
    }
}

impl Default for SubscribeDegradation {
    fn default() -> Self {
        Self {
            packet_loss_threshold: Self::default_packet_loss(),
            degrade_grace_period_seconds: Self::default_degrade(),
            recover_grace_period_seconds: Self::default_recover(),
        }
    }
}

/// `permissions`. Everything defaults to false except the three recording and
/// streaming permissions, which default to true.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(rename_all = "camelCase")]
pub struct Permissions {
    #[serde(default)]
    pub end_room: bool,
    #[serde(default)]
    pub remove_others: bool,
    #[serde(default)]
    pub mute: bool,
    #[serde(default)]
    pub unmute: bool,
    #[serde(default)]
    pub change_role: bool,
    #[serde(default)]
    pub send_room_state: bool,
    #[serde(default)]
    pub poll_read: bool,
    #[serde(default)]
    pub poll_write: bool,
    #[serde(default = "yes")]
    pub browser_recording: bool,
    #[serde(default = "yes")]
    pub rtmp_streaming: bool,
    #[serde(default = "yes")]
    pub hls_streaming: bool,
}

fn yes() -> bool {
    true
}

impl Default for Permissions {
    fn default() -> Self {
        Self {
            end_room: false,
            remove_others: false,
            mute: false,
            unmute: false,
            change_role: false,
            send_room_state: false,
            poll_read: false,
            poll_write: false,
            browser_recording: true,
            rtmp_streaming: true,
            hls_streaming: true,
        }
    }
}

/// A permission a command may need, named as in `permissions`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
pub enum Permission {
    EndRoom,
    RemoveOthers,
    Mute,
    Unmute,
    ChangeRole,
}

impl Permission {
    /// The 100ms field name, e.g. `"removeOthers"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EndRoom => "endRoom",
            Self::RemoveOthers => "removeOthers",
            Self::Mute => "mute",
            Self::Unmute => "unmute",
            Self::ChangeRole => "changeRole",
        }
    }
}

impl Permissions {
    /// Whether the permission is granted.
    pub fn grants(&self, p: Permission) -> bool {
        match p {
            Permission::EndRoom => self.end_room,
            Permission::RemoveOthers => self.remove_others,
            Permission::Mute => self.mute,
            Permission::Unmute => self.unmute,
            Permission::ChangeRole => self.change_role,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_fields_are_absent() {
        let role: Role = serde_json::from_str(r#"{"name":"guest"}"#).unwrap();
        assert_eq!(role, Role::new(RoleName::new("guest").unwrap()));
        assert_eq!(role.publish_params.video.frame_rate, 25);
        assert!(role.permissions.hls_streaming);
        assert!(!role.permissions.mute);
    }

    #[test]
    fn serializes_with_100ms_field_names() {
        let mut role = Role::new(RoleName::new("host").unwrap());
        role.subscribe_params.subscribe_degradation = Some(SubscribeDegradation::default());
        role.publish_params.allowed = vec![PublishKind::Audio, PublishKind::Screen];
        let json = serde_json::to_string(&role).unwrap();
        for key in [
            "\"publishParams\"",
            "\"bitRate\"",
            "\"frameRate\"",
            "\"maxPeerCount\"",
            "\"subscribeToRoles\"",
            "\"maxSubsBitRate\"",
            "\"packetLossThreshold\"",
            "\"degradeGracePeriodSeconds\"",
            "\"endRoom\"",
            "\"removeOthers\"",
            "\"changeRole\"",
            "\"allowed\":[\"audio\",\"screen\"]",
        ] {
            assert!(json.contains(key), "{key} missing from {json}");
        }
    }

    #[test]
    fn peer_limit_reads_max_peer_count() {
        let mut role = Role::new(RoleName::new("r").unwrap());
        assert_eq!(role.peer_limit(), None);
        role.max_peer_count = -1;
        assert_eq!(role.peer_limit(), Some(0));
        role.max_peer_count = 3;
        assert_eq!(role.peer_limit(), Some(3));
    }
}
