//! OpenAPI schemas of the domain's template types, whose serde shape the API
//! sends and accepts as is (the domain crate knows nothing of OpenAPI). Used
//! only as `value_type`s in the document; a router test checks that real
//! objects validate against the fields named here.

#![allow(dead_code)]

use std::collections::BTreeMap;

use utoipa::ToSchema;

/// What a role may publish.
#[derive(Debug, ToSchema)]
#[schema(as = PublishKind)]
#[allow(non_camel_case_types)]
pub enum PublishKindSchema {
    audio,
    video,
    screen,
    simulcast,
}

/// `publishParams.audio`: bitRate 16–128 kbps.
#[derive(Debug, ToSchema)]
#[schema(as = AudioParams)]
#[allow(non_snake_case)]
pub struct AudioParamsSchema {
    bitRate: Option<u32>,
    codec: Option<String>,
}

/// `publishParams.video` (bitRate 30–2000, frameRate 1–30, width 50–1920,
/// height 50–1080) and `publishParams.screen` (bitRate ≥ 500, frameRate 1–30,
/// width 480–1920, height 270–1080).
#[derive(Debug, ToSchema)]
#[schema(as = VideoParams)]
#[allow(non_snake_case)]
pub struct VideoParamsSchema {
    bitRate: Option<u32>,
    codec: Option<String>,
    frameRate: Option<u32>,
    width: Option<u32>,
    height: Option<u32>,
}

/// One simulcast layer.
#[derive(Debug, ToSchema)]
#[schema(as = SimulcastLayer)]
#[allow(non_snake_case)]
pub struct SimulcastLayerSchema {
    /// `f`, `h` or `q`.
    rid: String,
    scaleResolutionDownBy: f64,
    maxBitrate: u32,
    maxFramerate: u32,
}

/// `{layers: [...]}`, at most 3.
#[derive(Debug, ToSchema)]
#[schema(as = SimulcastLayers)]
pub struct SimulcastLayersSchema {
    layers: Option<Vec<SimulcastLayerSchema>>,
}

/// `publishParams.simulcast`.
#[derive(Debug, ToSchema)]
#[schema(as = SimulcastParams)]
pub struct SimulcastParamsSchema {
    video: Option<SimulcastLayersSchema>,
    screen: Option<SimulcastLayersSchema>,
}

/// `publishParams`.
#[derive(Debug, ToSchema)]
#[schema(as = PublishParams)]
pub struct PublishParamsSchema {
    allowed: Option<Vec<PublishKindSchema>>,
    audio: Option<AudioParamsSchema>,
    video: Option<VideoParamsSchema>,
    screen: Option<VideoParamsSchema>,
    simulcast: Option<SimulcastParamsSchema>,
}

/// `subscribeParams.subscribeDegradation`.
#[derive(Debug, ToSchema)]
#[schema(as = SubscribeDegradation)]
#[allow(non_snake_case)]
pub struct SubscribeDegradationSchema {
    packetLossThreshold: Option<u32>,
    degradeGracePeriodSeconds: Option<u32>,
    recoverGracePeriodSeconds: Option<u32>,
}

/// `subscribeParams`.
#[derive(Debug, ToSchema)]
#[schema(as = SubscribeParams)]
#[allow(non_snake_case)]
pub struct SubscribeParamsSchema {
    subscribeToRoles: Option<Vec<String>>,
    maxSubsBitRate: Option<u32>,
    subscribeDegradation: Option<SubscribeDegradationSchema>,
}

/// `permissions`.
#[derive(Debug, ToSchema)]
#[schema(as = Permissions)]
#[allow(non_snake_case)]
pub struct PermissionsSchema {
    endRoom: Option<bool>,
    removeOthers: Option<bool>,
    mute: Option<bool>,
    unmute: Option<bool>,
    changeRole: Option<bool>,
    sendRoomState: Option<bool>,
    pollRead: Option<bool>,
    pollWrite: Option<bool>,
    browserRecording: Option<bool>,
    rtmpStreaming: Option<bool>,
    hlsStreaming: Option<bool>,
}

/// A role (100ms field names). In a body, `name` defaults to the role's key.
#[derive(Debug, ToSchema)]
#[schema(as = Role)]
#[allow(non_snake_case)]
pub struct RoleSchema {
    name: Option<String>,
    publishParams: Option<PublishParamsSchema>,
    subscribeParams: Option<SubscribeParamsSchema>,
    permissions: Option<PermissionsSchema>,
    /// 1–5, 1 is the highest.
    priority: Option<u8>,
    /// 0 = unlimited, -1 = nobody, n = at most n.
    maxPeerCount: Option<i32>,
}

/// Role name → role.
#[derive(Debug, ToSchema)]
#[schema(as = Roles)]
pub struct RolesSchema(BTreeMap<String, RoleSchema>);

/// `settings.recording` (upload credentials are not stored).
#[derive(Debug, ToSchema)]
#[schema(as = RecordingSettings)]
pub struct RecordingSettingsSchema {
    enabled: Option<bool>,
    #[schema(value_type = Option<Object>)]
    upload: Option<()>,
}

/// `settings.roomState`.
#[derive(Debug, ToSchema)]
#[schema(as = RoomStateSettings)]
#[allow(non_snake_case)]
pub struct RoomStateSettingsSchema {
    /// Seconds, a multiple of 5 in 5–3600.
    messageInterval: Option<u32>,
    sendPeerList: Option<bool>,
    stopRoomStateOnJoin: Option<bool>,
    enabled: Option<bool>,
}

/// A template's `settings`.
#[derive(Debug, ToSchema)]
#[schema(as = TemplateSettings)]
#[allow(non_snake_case)]
pub struct TemplateSettingsSchema {
    /// `in`, `us`, `eu` or `auto`.
    region: Option<String>,
    recording: Option<RecordingSettingsSchema>,
    roomState: Option<RoomStateSettingsSchema>,
}
