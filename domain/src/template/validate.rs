//! Range and shape checks for templates, roles and settings (100ms §1.1).
//!
//! Each function returns the first problem found, naming the field by its path.

use super::error::TemplateError;
use super::role::{
    AudioParams, PublishParams, Role, ScreenParams, SimulcastLayers, SubscribeDegradation,
    VideoParams,
};
use super::settings::{Roles, TemplateSettings};

/// Longest template name, in characters.
pub const MAX_TEMPLATE_NAME_LEN: usize = 100;

fn check(
    field: impl FnOnce() -> String,
    value: i64,
    min: i64,
    max: i64,
) -> Result<(), TemplateError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(TemplateError::range(field(), min, max, value))
    }
}

/// A template name: 1–100 of `a-z A-Z 0-9`, space, `-`, `.`, `_`, `:`.
pub fn validate_template_name(name: &str) -> Result<(), TemplateError> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '.' | '_' | ':');
    if name.is_empty() || name.chars().count() > MAX_TEMPLATE_NAME_LEN || !name.chars().all(ok) {
        return Err(TemplateError::invalid(
            "name",
            "use 1-100 characters of a-z A-Z 0-9 space - . _ :",
        ));
    }
    Ok(())
}

/// Every role (keys must match role names) and the settings.
pub fn validate_template(roles: &Roles, settings: &TemplateSettings) -> Result<(), TemplateError> {
    for (key, role) in roles {
        if *key != role.name {
            return Err(TemplateError::invalid(
                format!("roles.{key}.name"),
                format!("must equal the role's key {key:?}"),
            ));
        }
        validate_role(role)?;
    }
    validate_settings(settings)
}

/// One role. Paths start with `roles.<name>.`.
pub fn validate_role(role: &Role) -> Result<(), TemplateError> {
    let p = format!("roles.{}", role.name);
    check(|| format!("{p}.priority"), role.priority.into(), 1, 5)?;
    check(
        || format!("{p}.maxPeerCount"),
        role.max_peer_count.into(),
        -1,
        i64::from(i32::MAX),
    )?;
    validate_publish(&format!("{p}.publishParams"), &role.publish_params)?;
    if let Some(d) = &role.subscribe_params.subscribe_degradation {
        validate_degradation(&format!("{p}.subscribeParams.subscribeDegradation"), d)?;
    }
    Ok(())
}

fn validate_publish(p: &str, params: &PublishParams) -> Result<(), TemplateError> {
    let mut seen = Vec::new();
    for kind in &params.allowed {
        if seen.contains(kind) {
            return Err(TemplateError::invalid(
                format!("{p}.allowed"),
                format!("{kind} is listed twice"),
            ));
        }
        seen.push(*kind);
    }
    validate_audio(&format!("{p}.audio"), &params.audio)?;
    validate_video(&format!("{p}.video"), &params.video)?;
    validate_screen(&format!("{p}.screen"), &params.screen)?;
    if let Some(sim) = &params.simulcast {
        validate_layers(&format!("{p}.simulcast.video.layers"), &sim.video)?;
        validate_layers(&format!("{p}.simulcast.screen.layers"), &sim.screen)?;
    }
    Ok(())
}

fn validate_audio(p: &str, a: &AudioParams) -> Result<(), TemplateError> {
    check(|| format!("{p}.bitRate"), a.bit_rate.into(), 16, 128)?;
    if a.codec != "opus" {
        return Err(TemplateError::invalid(
            format!("{p}.codec"),
            "must be \"opus\"",
        ));
    }
    Ok(())
}

fn video_codec(field: String, codec: &str) -> Result<(), TemplateError> {
    if matches!(codec, "vp8" | "vp9" | "h264") {
        Ok(())
    } else {
        Err(TemplateError::invalid(
            field,
            "must be \"vp8\", \"vp9\" or \"h264\"",
        ))
    }
}

fn validate_video(p: &str, v: &VideoParams) -> Result<(), TemplateError> {
    check(|| format!("{p}.bitRate"), v.bit_rate.into(), 30, 2000)?;
    video_codec(format!("{p}.codec"), &v.codec)?;
    check(|| format!("{p}.frameRate"), v.frame_rate.into(), 1, 30)?;
    check(|| format!("{p}.width"), v.width.into(), 50, 1920)?;
    check(|| format!("{p}.height"), v.height.into(), 50, 1080)
}

fn validate_screen(p: &str, s: &ScreenParams) -> Result<(), TemplateError> {
    check(
        || format!("{p}.bitRate"),
        s.bit_rate.into(),
        500,
        i64::from(u32::MAX),
    )?;
    video_codec(format!("{p}.codec"), &s.codec)?;
    check(|| format!("{p}.frameRate"), s.frame_rate.into(), 1, 30)?;
    check(|| format!("{p}.width"), s.width.into(), 480, 1920)?;
    check(|| format!("{p}.height"), s.height.into(), 270, 1080)
}

fn validate_layers(p: &str, l: &SimulcastLayers) -> Result<(), TemplateError> {
    if l.layers.len() > 3 {
        return Err(TemplateError::invalid(p, "at most 3 layers"));
    }
    for (i, layer) in l.layers.iter().enumerate() {
        let lp = format!("{p}[{i}]");
        let scale = layer.scale_resolution_down_by;
        if !(1.0..=12.0).contains(&scale) {
            return Err(TemplateError::invalid(
                format!("{lp}.scaleResolutionDownBy"),
                format!("must be in 1.0..=12.0, got {scale}"),
            ));
        }
        check(
            || format!("{lp}.maxBitrate"),
            layer.max_bitrate.into(),
            0,
            2000,
        )?;
        check(
            || format!("{lp}.maxFramerate"),
            layer.max_framerate.into(),
            1,
            30,
        )?;
        if i == 0 {
            if layer.rid != super::role::Rid::F || scale != 1.0 {
                return Err(TemplateError::invalid(
                    lp,
                    "the first layer must be rid \"f\" with scaleResolutionDownBy 1",
                ));
            }
        } else {
            let prev = &l.layers[i - 1];
            if layer.rid.rank() >= prev.rid.rank() {
                return Err(TemplateError::invalid(
                    format!("{lp}.rid"),
                    "rids must strictly decrease (f > h > q)",
                ));
            }
            if scale <= prev.scale_resolution_down_by {
                return Err(TemplateError::invalid(
                    format!("{lp}.scaleResolutionDownBy"),
                    "must strictly increase from layer to layer",
                ));
            }
        }
    }
    Ok(())
}

fn validate_degradation(p: &str, d: &SubscribeDegradation) -> Result<(), TemplateError> {
    check(
        || format!("{p}.packetLossThreshold"),
        d.packet_loss_threshold.into(),
        1,
        100,
    )?;
    check(
        || format!("{p}.degradeGracePeriodSeconds"),
        d.degrade_grace_period_seconds.into(),
        1,
        10,
    )?;
    check(
        || format!("{p}.recoverGracePeriodSeconds"),
        d.recover_grace_period_seconds.into(),
        1,
        10,
    )
}

/// Template settings: `roomState.messageInterval` is a multiple of 5 in 5–3600;
/// an upload target names a known type and a bucket.
pub fn validate_settings(s: &TemplateSettings) -> Result<(), TemplateError> {
    let interval = s.room_state.message_interval;
    check(
        || "settings.roomState.messageInterval".into(),
        interval.into(),
        5,
        3600,
    )?;
    if !interval.is_multiple_of(5) {
        return Err(TemplateError::invalid(
            "settings.roomState.messageInterval",
            format!("must be a multiple of 5, got {interval}"),
        ));
    }
    if let Some(up) = &s.recording.upload {
        if !matches!(up.kind.as_str(), "s3" | "gs" | "oss" | "azure") {
            return Err(TemplateError::invalid(
                "settings.recording.upload.type",
                "must be s3, gs, oss or azure",
            ));
        }
        if up.location.is_empty() {
            return Err(TemplateError::invalid(
                "settings.recording.upload.location",
                "bucket location is missing",
            ));
        }
    }
    Ok(())
}
