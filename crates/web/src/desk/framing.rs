//! Photo framing: the focal point and the crops set by hand, which decide
//! what each slot's crop of a photo shows ([`newsdesk_domain::crop`]).

use newsdesk_domain::crop::{Focus, Ratio, Rect};
use newsdesk_domain::roles::Permission;
use newsdesk_storage::Framing;

use super::{Actor, Changed, DeskError, FieldError, check_photo_text};
use crate::AppState;

/// What an editor asks for: the focal point in percent of the width and
/// height (as typed), and per ratio an optional crop by its top left corner
/// and width in pixels (the height follows from the ratio).
#[derive(Debug, Clone, Default)]
pub struct FramingInput {
    /// Across, percent from the left edge (0–100).
    pub focus_x: String,
    /// Down, percent from the top edge (0–100).
    pub focus_y: String,
    /// Hand-set crops: ratio, then left, top and width as typed; all empty for none.
    pub crops: Vec<(Ratio, [String; 3])>,
}

fn percent(field: &'static str, label: &str, value: &str) -> Result<f64, FieldError> {
    let v = value.trim();
    let n: f64 = v.parse().map_err(|_| {
        FieldError::new(field, format!("The focal point's {label} must be a number from 0 to 100, not “{v}”."))
    })?;
    if !n.is_finite() || !(0.0..=100.0).contains(&n) {
        return Err(FieldError::new(field, format!("The focal point's {label} must be from 0 to 100 (it is {v}).")));
    }
    Ok(n / 100.0)
}

/// Checks `input` against a `width`×`height` picture: the framing, or every problem by field.
pub fn parse_framing(input: &FramingInput, width: u32, height: u32) -> Result<Framing, Vec<FieldError>> {
    let mut errors = Vec::new();
    let x = percent("focus_x", "left–right position", &input.focus_x).map_err(|e| errors.push(e)).ok();
    let y = percent("focus_y", "top–bottom position", &input.focus_y).map_err(|e| errors.push(e)).ok();
    let mut crops = Vec::new();
    for (ratio, [left, top, w]) in &input.crops {
        let given = [left, top, w].map(|s| s.trim());
        if given.iter().all(|s| s.is_empty()) {
            continue;
        }
        let field = match ratio {
            Ratio::Wide => "crop_16x9",
            Ratio::Standard => "crop_4x3",
            Ratio::Square => "crop_1x1",
        };
        let nums: Option<Vec<u32>> = given.iter().map(|s| s.parse::<u32>().ok()).collect();
        let Some(nums) = nums else {
            errors.push(FieldError::new(
                field,
                format!(
                    "The {} crop needs its left edge, top edge and width as whole numbers of pixels (or all three \
                     empty, to crop around the focal point).",
                    ratio.label()
                ),
            ));
            continue;
        };
        match Rect::fitted(*ratio, nums[0], nums[1], nums[2], width, height) {
            Ok(rect) => crops.push((*ratio, rect)),
            Err(e) => errors.push(FieldError::new(field, e.to_string())),
        }
    }
    match (x, y) {
        (Some(x), Some(y)) if errors.is_empty() => Ok(Framing { focus: Focus { x, y }, crops }),
        _ => Err(errors),
    }
}

/// Sets the framing of photo `id` and makes its crop renditions again (the
/// old ones go); every story showing it changes. Who may: as for its caption
/// ([`check_photo_text`]). Audited in the same transaction.
pub async fn set_framing(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: &FramingInput,
) -> Result<(Framing, Changed), DeskError> {
    actor.require(Permission::UploadMedia)?;
    let not_found = || DeskError::NotFound(format!("There is no photo {id}."));
    let photo = state.store.photo(id).await?.ok_or_else(not_found)?;
    let (w, h) = (u32::try_from(photo.width).unwrap_or(1), u32::try_from(photo.height).unwrap_or(1));
    let framing = parse_framing(input, w, h).map_err(DeskError::Invalid)?;
    check_photo_text(state, actor, id).await?;
    let (_, bytes) = state.store.photo_bytes(&photo.sha256).await?.ok_or_else(not_found)?;
    let made = match state.images.inspect(bytes.into()).await {
        Ok(inspected) => state.images.crop_renditions(&inspected, &framing).await,
        Err(e) => Err(e),
    };
    let renditions = made.map_err(|e| DeskError::Internal(format!("photo {id}: cannot make its crops: {e}")))?;
    let mut detail = format!("focal point {}", framing.focus.percent());
    for (ratio, c) in &framing.crops {
        detail.push_str(&format!("; {} crop {}×{} at {}, {}", ratio.label(), c.width, c.height, c.x, c.y));
    }
    let audit = actor.audit("media.framing", "photo", id, detail);
    let stories = state.store.set_photo_framing(id, &framing, &renditions, &audit).await?.ok_or_else(not_found)?;
    Ok((framing, Changed { stories }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(x: &str, y: &str, crops: Vec<(Ratio, [&str; 3])>) -> FramingInput {
        FramingInput {
            focus_x: x.into(),
            focus_y: y.into(),
            crops: crops.into_iter().map(|(r, c)| (r, c.map(String::from))).collect(),
        }
    }

    #[test]
    fn a_focal_point_in_percent_and_optional_crops_are_read() {
        let f = parse_framing(&input("25", "80.5", vec![(Ratio::Wide, ["", "", ""])]), 2000, 1000).expect("valid");
        assert_eq!(f, Framing { focus: Focus { x: 0.25, y: 0.805 }, crops: Vec::new() });
        let f = parse_framing(&input("50", "50", vec![(Ratio::Square, ["10", "0", "500"])]), 2000, 1000).expect("ok");
        assert_eq!(f.crops, vec![(Ratio::Square, Rect { x: 10, y: 0, width: 500, height: 500 })]);
    }

    #[test]
    fn bad_values_are_named_by_field() {
        let e = parse_framing(&input("120", "x", vec![(Ratio::Standard, ["0", "", "100"])]), 2000, 1000)
            .expect_err("refused");
        let fields: Vec<&str> = e.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["focus_x", "focus_y", "crop_4x3"]);
        assert_eq!(e[0].message, "The focal point's left–right position must be from 0 to 100 (it is 120).");
        let e = parse_framing(&input("50", "50", vec![(Ratio::Wide, ["1900", "0", "400"])]), 2000, 1000)
            .expect_err("outside");
        assert!(e[0].message.contains("runs past the picture's 2000×1000 pixels"), "{}", e[0].message);
    }
}
