//! Renders poll results as a horizontal bar-chart PNG, in memory, with a bundled font.
//!
//! One bar per answer option (labels on the left, where long option texts read best), optional
//! interval whiskers, the value printed at each bar's end, title and subtitle on top. Text is
//! drawn through plotters' `ab_glyph` backend with DejaVu Sans compiled into the binary, so
//! rendering never touches fontconfig or any system font and looks the same on every host.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScaleFont, ScaleFont};

use plotters::backend::{BitMapBackend, RGBPixel};
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind, IntoDrawingArea};
use plotters::element::Rectangle;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, FontDesc, FontFamily, FontStyle, RGBColor, TextStyle, register_font};
use unicode_bidi::BidiInfo;

/// Most bars one chart can hold; the image height grows with the bar count up to this.
pub const MAX_BARS: usize = 25;

/// Longer labels are cut on a char boundary and end in "…".
pub const MAX_LABEL_CHARS: usize = 40;

/// One answer option.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    /// A 0..1 share when `ChartSpec::percent_axis` is set (drawn clamped to the axis, printed
    /// as given), otherwise any value.
    pub value: f64,
    /// Lower end of the whisker; a missing end is drawn as if it were `value`.
    pub low: Option<f64>,
    /// Upper end of the whisker; a missing end is drawn as if it were `value`.
    pub high: Option<f64>,
}

/// What to draw; bars are drawn top to bottom in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    pub title: String,
    /// Small grey line under the title, e.g. "n = 214 · whiskers: 95% interval among respondents".
    pub subtitle: Option<String>,
    pub bars: Vec<Bar>,
    /// `true`: values are shares and the axis runs 0..100%; `false`: axis fits the data.
    pub percent_axis: bool,
    /// Index of a bar to emphasise (the others are muted); out-of-range indices are ignored.
    pub highlight: Option<usize>,
    /// Drawn instead of bars when there are none ("No answers yet"), in the reader's language.
    pub empty: String,
    /// The reader's decimal mark and number-to-`%` gap ("33 %" in German and Spanish).
    pub numbers: crate::locale::Numbers,
}

/// Why a chart could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("too many bars: {count} (at most {MAX_BARS})")]
    TooManyBars { count: usize },
    #[error("bar {index} has a value, low or high that is not a finite number of sane size")]
    InvalidValue { index: usize },
    #[error("font error: {0}")]
    Font(String),
    #[error("drawing failed: {0}")]
    Draw(String),
    #[error("chart caption: {0}")]
    Caption(String),
    #[error("PNG encoding failed: {0}")]
    Encode(#[from] png::EncodingError),
}

/// Renders `spec` into PNG bytes, 800 px wide and as tall as the bar count needs.
///
/// # Errors
/// More than [`MAX_BARS`] bars, a non-finite (or absurdly large) number, or a failure inside
/// the drawing or PNG encoding libraries.
pub fn render_png(spec: &ChartSpec) -> Result<Vec<u8>, ChartError> {
    validate(spec)?;
    bundled_font()?;
    let layout = Layout::new(spec);
    let (w, h) = (WIDTH, layout.height);
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut rgb, (w, h))
            .map_err(|e| ChartError::Draw(e.to_string()))?;
        let root = backend.into_drawing_area();
        root.fill(&BACKGROUND).map_err(draw_err)?;
        draw_header(&root, spec, &layout)?;
        if spec.bars.is_empty() {
            draw_empty(&root, &layout, &spec.empty)?;
        } else {
            draw_bars(&root, spec, &layout)?;
        }
        root.present().map_err(draw_err)?;
    }
    encode_png(&rgb, w, h)
}

// ---------------------------------------------------------------------------------------------
// Look and layout. Font sizes are ab_glyph pixel heights (ascent to descent), so even sizes keep
// plotters' baseline maths on whole pixels.

const WIDTH: u32 = 800;
const PAD: i32 = 24;
const TITLE_SIZE: f64 = 24.0;
const SUBTITLE_SIZE: f64 = 16.0;
const LABEL_SIZE: f64 = 16.0;
const VALUE_SIZE: f64 = 16.0;
const TICK_SIZE: f64 = 14.0;
const MESSAGE_SIZE: f64 = 20.0;
const ROW_H: i32 = 32;
const BAR_H: i32 = 20;
const CAP_H: i32 = 12;
/// Labels never take more than this, so the bars keep at least about half the width.
const MAX_LABEL_W: i32 = 320;
const LABEL_GAP: i32 = 12;
const VALUE_GAP: i32 = 8;
const AXIS_H: i32 = 32;
const EMPTY_H: i32 = 120;
/// Values beyond this cannot be laid out sensibly (and would overflow the tick maths).
const MAX_ABS_VALUE: f64 = 1e15;

const BACKGROUND: RGBColor = RGBColor(255, 255, 255);
const TITLE_COLOR: RGBColor = RGBColor(26, 26, 26);
const SUBTLE_COLOR: RGBColor = RGBColor(102, 102, 102);
const LABEL_COLOR: RGBColor = RGBColor(51, 51, 51);
const TICK_COLOR: RGBColor = RGBColor(120, 120, 120);
const GRID_COLOR: RGBColor = RGBColor(228, 228, 228);
const ZERO_COLOR: RGBColor = RGBColor(150, 150, 150);
const BAR_COLOR: RGBColor = RGBColor(76, 120, 168);
const MUTED_BAR_COLOR: RGBColor = RGBColor(184, 201, 220);
const WHISKER_COLOR: RGBColor = RGBColor(40, 40, 40);
const EMPTY_FILL: RGBColor = RGBColor(245, 246, 248);

const FONT_FAMILY: &str = "sans-serif";
static FONT_TTF: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/fonts/DejaVuSans.ttf"
));

type Area<'a> = DrawingArea<BitMapBackend<'a, RGBPixel>, Shift>;

/// Vertical positions that depend only on the spec's shape, shared by height and drawing.
struct Layout {
    title_baseline: i32,
    subtitle_baseline: i32,
    body_top: i32,
    height: u32,
}

impl Layout {
    fn new(spec: &ChartSpec) -> Self {
        let title_baseline = PAD + 20;
        let subtitle_baseline = title_baseline + 26;
        let header_bottom = if spec.subtitle.is_some() {
            subtitle_baseline
        } else {
            title_baseline
        };
        let body_top = header_bottom + 22;
        let body_h = if spec.bars.is_empty() {
            EMPTY_H
        } else {
            // Validation caps the count at MAX_BARS, so this cannot overflow.
            ROW_H * spec.bars.len() as i32 + AXIS_H
        };
        Layout {
            title_baseline,
            subtitle_baseline,
            body_top,
            height: (body_top + body_h + PAD).unsigned_abs(),
        }
    }
}

fn validate(spec: &ChartSpec) -> Result<(), ChartError> {
    if spec.bars.len() > MAX_BARS {
        return Err(ChartError::TooManyBars {
            count: spec.bars.len(),
        });
    }
    for (index, bar) in spec.bars.iter().enumerate() {
        let sane = |v: f64| v.is_finite() && v.abs() <= MAX_ABS_VALUE;
        if !sane(bar.value) || !bar.low.is_none_or(sane) || !bar.high.is_none_or(sane) {
            return Err(ChartError::InvalidValue { index });
        }
    }
    Ok(())
}

/// Parses the bundled font and registers it with plotters, once per process (plotters keeps
/// registered fonts in a global table). The parsed copy serves our own glyph layout.
fn bundled_font() -> Result<&'static FontRef<'static>, ChartError> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| {
        let font = FontRef::try_from_slice(FONT_TTF).ok()?;
        register_font(FONT_FAMILY, FontStyle::Normal, FONT_TTF).ok()?;
        Some(font)
    })
    .as_ref()
    .ok_or_else(|| ChartError::Font("bundled DejaVu Sans could not be parsed".into()))
}

fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> ChartError {
    ChartError::Draw(e.to_string())
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Drawing.

fn draw_header(root: &Area, spec: &ChartSpec, layout: &Layout) -> Result<(), ChartError> {
    let max_w = WIDTH as i32 - 2 * PAD;
    let title = fit_to_width(&clean_text(&spec.title), TITLE_SIZE, max_w)?;
    draw_text(
        root,
        &visual_order(&title),
        (PAD, layout.title_baseline),
        TITLE_SIZE,
        TITLE_COLOR,
        HPos::Left,
    )?;
    if let Some(subtitle) = &spec.subtitle {
        let subtitle = fit_to_width(&clean_text(subtitle), SUBTITLE_SIZE, max_w)?;
        draw_text(
            root,
            &visual_order(&subtitle),
            (PAD, layout.subtitle_baseline),
            SUBTITLE_SIZE,
            SUBTLE_COLOR,
            HPos::Left,
        )?;
    }
    Ok(())
}

fn draw_empty(root: &Area, layout: &Layout, message: &str) -> Result<(), ChartError> {
    let top = layout.body_top;
    fill_rect(
        root,
        (PAD, top),
        (WIDTH as i32 - PAD, top + EMPTY_H),
        EMPTY_FILL,
    )?;
    draw_text(
        root,
        &visual_order(&clean_text(message)),
        (
            WIDTH as i32 / 2,
            top + EMPTY_H / 2 + center_offset(MESSAGE_SIZE),
        ),
        MESSAGE_SIZE,
        SUBTLE_COLOR,
        HPos::Center,
    )
}

fn draw_bars(root: &Area, spec: &ChartSpec, layout: &Layout) -> Result<(), ChartError> {
    // Labels: cap the column width, then shorten whatever still does not fit.
    let labels: Vec<String> = spec
        .bars
        .iter()
        .map(|b| truncate_chars(&clean_text(&b.label), MAX_LABEL_CHARS))
        .collect();
    let mut label_w = 0;
    for label in &labels {
        label_w = label_w.max(text_width(label, LABEL_SIZE)?);
    }
    let label_w = label_w.min(MAX_LABEL_W);
    let raw: Vec<f64> = spec.bars.iter().map(|b| b.value).collect();
    let values: Vec<String> = format_values(&raw, spec.percent_axis)
        .iter()
        .map(|v| localise_number(v, &spec.numbers))
        .collect();
    let mut value_w = 0;
    for value in &values {
        value_w = value_w.max(text_width(value, VALUE_SIZE)?);
    }

    // Room on the right for the value printed after the longest bar (and for the last tick label).
    let mut axis = Axis::new(&spec.bars, spec.percent_axis);
    for (_, l) in &mut axis.ticks {
        *l = localise_number(l, &spec.numbers);
    }
    let plot_left = PAD + label_w + LABEL_GAP;
    let plot_right = (WIDTH as i32 - PAD - value_w - VALUE_GAP).max(plot_left + 1);
    let x = |v: f64| axis.to_px(v, plot_left, plot_right);
    let top = layout.body_top;
    let bottom = top + ROW_H * spec.bars.len() as i32;

    // Grid first so bars and whiskers sit on top of it.
    for (tick, tick_label) in &axis.ticks {
        let tx = x(*tick);
        let color = if *tick == 0.0 { ZERO_COLOR } else { GRID_COLOR };
        fill_rect(root, (tx, top - 4), (tx + 1, bottom), color)?;
        draw_text(
            root,
            tick_label,
            (tx, bottom + 20),
            TICK_SIZE,
            TICK_COLOR,
            HPos::Center,
        )?;
    }

    let highlight = spec.highlight.filter(|&i| i < spec.bars.len());
    for (i, ((bar, label), value)) in spec.bars.iter().zip(&labels).zip(&values).enumerate() {
        let cy = top + ROW_H * i as i32 + ROW_H / 2;
        let color = match highlight {
            Some(h) if h != i => MUTED_BAR_COLOR,
            _ => BAR_COLOR,
        };
        let (x0, x1) = (x(bar.value.min(0.0)), x(bar.value.max(0.0)));
        fill_rect(root, (x0, cy - BAR_H / 2), (x1, cy + BAR_H / 2), color)?;

        let mut right_edge = x1;
        if bar.low.is_some() || bar.high.is_some() {
            right_edge = right_edge.max(draw_whisker(root, bar, cy, &x)?);
        }

        let label = fit_to_width(label, LABEL_SIZE, label_w)?;
        let label_color = if highlight == Some(i) {
            TITLE_COLOR
        } else {
            LABEL_COLOR
        };
        draw_text(
            root,
            &visual_order(&label),
            (PAD + label_w, cy + center_offset(LABEL_SIZE)),
            LABEL_SIZE,
            label_color,
            HPos::Right,
        )?;
        draw_text(
            root,
            value,
            (right_edge + VALUE_GAP, cy + center_offset(VALUE_SIZE)),
            VALUE_SIZE,
            TITLE_COLOR,
            HPos::Left,
        )?;
    }
    Ok(())
}

/// Draws the interval line with caps at the ends that were given; returns its right edge in px.
fn draw_whisker(
    root: &Area,
    bar: &Bar,
    cy: i32,
    x: &impl Fn(f64) -> i32,
) -> Result<i32, ChartError> {
    let ends: Vec<f64> = [bar.low, bar.high].into_iter().flatten().collect();
    let lo = ends.iter().fold(bar.value, |a, &b| a.min(b));
    let hi = ends.iter().fold(bar.value, |a, &b| a.max(b));
    let (xl, xr) = (x(lo), x(hi));
    // Filled rectangles rather than stroked paths: crisp 2 px lines with no anti-aliasing smear.
    fill_rect(root, (xl, cy - 1), (xr + 1, cy + 1), WHISKER_COLOR)?;
    for end in ends {
        let xe = x(end);
        fill_rect(
            root,
            (xe - 1, cy - CAP_H / 2),
            (xe + 1, cy + CAP_H / 2),
            WHISKER_COLOR,
        )?;
    }
    Ok(xr + 1)
}

fn fill_rect(
    root: &Area,
    from: (i32, i32),
    to: (i32, i32),
    color: RGBColor,
) -> Result<(), ChartError> {
    root.draw(&Rectangle::new([from, to], color.filled()))
        .map_err(draw_err)
}

fn font_desc(size: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT_FAMILY), size, FontStyle::Normal)
}

/// Pen positions of each char of a single line (from x = 0) and the line's advance width.
fn layout_line(font: &PxScaleFont<&FontRef<'static>>, text: &str) -> (Vec<(char, f32)>, f32) {
    let mut pen = 0f32;
    let mut prev: Option<GlyphId> = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            pen += font.kern(p, id);
        }
        glyphs.push((c, pen));
        pen += font.h_advance(id);
        prev = Some(id);
    }
    (glyphs, pen)
}

fn text_width(text: &str, size: f64) -> Result<i32, ChartError> {
    let font = bundled_font()?.as_scaled(size as f32);
    Ok(layout_line(&font, text).1.ceil() as i32)
}

/// Pixels from a row's centre down to the baseline that centres mixed-case text visually
/// (DejaVu's cap height is ~0.63 of the ab_glyph pixel size, x-height ~0.45).
fn center_offset(size: f64) -> i32 {
    (size * 0.27).round() as i32
}

/// Draws `text` with its baseline at `pos.1`, anchored horizontally at `pos.0` by `h`.
///
/// plotters 0.3.7's ab_glyph backend drops every glyph's left side bearing when drawing a whole
/// string, which visibly mangles spacing ("Tu" touching, "m orning"). So we lay the line out from
/// the font's own metrics and let plotters rasterise one glyph at a time at the right spot.
fn draw_text(
    root: &Area,
    text: &str,
    pos: (i32, i32),
    size: f64,
    color: RGBColor,
    h: HPos,
) -> Result<(), ChartError> {
    let font = bundled_font()?.as_scaled(size as f32);
    let (glyphs, width) = layout_line(&font, text);
    let left = pos.0 as f32
        - match h {
            HPos::Left => 0.0,
            HPos::Center => width / 2.0,
            HPos::Right => width,
        };
    let style = TextStyle {
        font: font_desc(size),
        color: color.to_backend_color(),
        pos: Pos::new(HPos::Left, VPos::Top),
    };
    // The backend puts the baseline half a font size below a top-anchored point.
    let top = pos.1 - (size / 2.0).round() as i32;
    let mut utf8 = [0u8; 4];
    for (c, pen) in glyphs {
        // Whitespace has no outline and nothing to draw.
        let Some(outline) = font.outline_glyph(font.scaled_glyph(c)) else {
            continue;
        };
        let x = (left + pen).round() as i32 + outline.px_bounds().min.x as i32;
        root.draw_text(c.encode_utf8(&mut utf8), &style, (x, top))
            .map_err(draw_err)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Axis.

struct Axis {
    min: f64,
    max: f64,
    ticks: Vec<(f64, String)>,
}

impl Axis {
    fn new(bars: &[Bar], percent: bool) -> Self {
        if percent {
            let ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
                .into_iter()
                .map(|t| (t, format!("{:.0}%", t * 100.0)))
                .collect();
            return Axis {
                min: 0.0,
                max: 1.0,
                ticks,
            };
        }
        // Always include zero so bar lengths stay honest.
        let (mut lo, mut hi) = (0.0f64, 0.0f64);
        for bar in bars {
            for v in [Some(bar.value), bar.low, bar.high].into_iter().flatten() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if hi - lo <= 0.0 {
            hi = lo + 1.0;
        }
        // Subnormal ranges would underflow to a zero step.
        let step = Some(nice_step((hi - lo) / 5.0))
            .filter(|s| s.is_normal())
            .unwrap_or(1.0);
        let decimals = step_decimals(step);
        // Bounded by validation (|v| <= 1e15) and nice_step, so these are small integers.
        let first = (lo / step).floor() as i64;
        let last = (hi / step).ceil() as i64;
        let ticks: Vec<(f64, String)> = (first..=last)
            .map(|k| {
                let t = k as f64 * step;
                (t, format_fixed(t, decimals))
            })
            .collect();
        Axis {
            min: first as f64 * step,
            max: last as f64 * step,
            ticks,
        }
    }

    /// Maps a data value to a pixel column, clamping to the axis (e.g. shares above 100%).
    fn to_px(&self, v: f64, left: i32, right: i32) -> i32 {
        let span = self.max - self.min;
        if span <= 0.0 {
            return left;
        }
        let t = ((v - self.min) / span).clamp(0.0, 1.0);
        left + (t * f64::from(right - left)).round() as i32
    }
}

/// A 1, 2, 2.5 or 5 times a power of ten that is at least `raw` (> 0).
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    let f = raw / magnitude;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Fewest decimals that print every multiple of `step` exactly (0.25 -> 2, 5 -> 0).
fn step_decimals(step: f64) -> usize {
    (0..=6)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
        })
        .unwrap_or(6)
}

// ---------------------------------------------------------------------------------------------
// Text helpers.

/// Value labels. Shares: "33%", with "<1%" / ">99%" so tiny shares do not read as none or all.
/// Other values share one number of decimals (at most two, fewer for large numbers) so a column
/// of ratings reads "1.00, 1.16, 1.80" rather than "1, 1.16, 1.8".
fn format_values(values: &[f64], percent: bool) -> Vec<String> {
    if percent {
        return values.iter().map(|&v| format_percent(v)).collect();
    }
    let shared = values
        .iter()
        .map(|&v| needed_decimals(v))
        .max()
        .unwrap_or(0);
    values
        .iter()
        .map(|&v| format_fixed(v, shared.min(max_decimals(v))))
        .collect()
}

fn format_percent(share: f64) -> String {
    let p = share * 100.0;
    if p > 0.0 && p < 0.5 {
        "<1%".to_string()
    } else if (99.5..100.0).contains(&p) {
        ">99%".to_string()
    } else {
        format!("{}%", format_fixed(p, 0))
    }
}

/// Precision worth showing for a value of this size.
fn max_decimals(v: f64) -> usize {
    match v.abs() {
        a if a >= 100.0 => 0,
        a if a >= 10.0 => 1,
        _ => 2,
    }
}

/// Decimals needed to show `v` at `max_decimals` precision without trailing zeros.
fn needed_decimals(v: f64) -> usize {
    let max = max_decimals(v);
    let target = round_to(v, max);
    (0..max)
        .find(|&d| (round_to(v, d) - target).abs() < 1e-9 * v.abs().max(1.0))
        .unwrap_or(max)
}

fn round_to(v: f64, decimals: usize) -> f64 {
    let scale = 10f64.powi(decimals as i32);
    (v * scale).round() / scale
}

/// A value label written the reader's way: "0,25", "33 %".
fn localise_number(s: &str, nf: &crate::locale::Numbers) -> String {
    s.replace('.', &nf.decimal_mark().to_string())
        .replace('%', &format!("{}%", nf.percent_gap()))
}

/// Fixed decimals with a real minus sign (U+2212), never printing "-0" or "-0.00".
fn format_fixed(v: f64, decimals: usize) -> String {
    let r = round_to(v, decimals);
    if r < 0.0 {
        format!("\u{2212}{:.decimals$}", -r)
    } else {
        // Also turns -0.0 into 0.0.
        format!("{:.decimals$}", r.abs())
    }
}

/// Control characters and line breaks would draw as boxes or break the single-line layout.
fn clean_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Keeps at most `max` chars, the last one being "…" when anything was cut.
fn truncate_chars(s: &str, max: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= max {
        s.to_string()
    } else {
        ellipsize(&chars, max.saturating_sub(1))
    }
}

fn ellipsize(chars: &[char], keep: usize) -> String {
    let kept: String = chars.iter().take(keep).collect();
    format!("{}…", kept.trim_end())
}

/// Shortens `s` with "…" until it is at most `max_w` px wide at `size`.
fn fit_to_width(s: &str, size: f64, max_w: i32) -> Result<String, ChartError> {
    if text_width(s, size)? <= max_w {
        return Ok(s.to_string());
    }
    let chars: Vec<char> = s.chars().collect();
    // Binary search for the most chars kept; keeping none ("…") always counts as fitting.
    let (mut fits, mut too_wide) = (0, chars.len());
    while too_wide - fits > 1 {
        let mid = (fits + too_wide) / 2;
        if text_width(&ellipsize(&chars, mid), size)? <= max_w {
            fits = mid;
        } else {
            too_wide = mid;
        }
    }
    Ok(ellipsize(&chars, fits))
}

/// Reorders logical text into display order (Unicode bidi), since plotters draws chars strictly
/// left to right; RTL runs are reversed with their brackets mirrored. Arabic is not shaped.
fn visual_order(s: &str) -> String {
    let info = BidiInfo::new(s, None);
    let mut out = String::with_capacity(s.len());
    if !info.has_rtl() {
        out.push_str(s);
    } else {
        for para in &info.paragraphs {
            let (levels, runs) = info.visual_runs(para, para.range.clone());
            for run in runs {
                let rtl = levels.get(run.start).is_some_and(|l| l.is_rtl());
                let Some(text) = s.get(run) else { continue };
                if rtl {
                    out.extend(text.chars().rev().map(mirror));
                } else {
                    out.push_str(text);
                }
            }
        }
    }
    // Directional marks have done their job and would otherwise render as boxes.
    out.retain(|c| !is_bidi_control(c));
    out
}

fn mirror(c: char) -> char {
    match c {
        '(' => ')',
        ')' => '(',
        '[' => ']',
        ']' => '[',
        '{' => '}',
        '}' => '{',
        '<' => '>',
        '>' => '<',
        '«' => '»',
        '»' => '«',
        other => other,
    }
}

fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// The chart a closed poll's result is posted with: one bar per tally row (`views::tallies`:
/// `label`, `count`, and `answered`), shares of those who answered. None without answers.
pub fn tally_png(
    title: &str,
    results: &serde_json::Value,
    locale: &str,
) -> Option<Result<Vec<u8>, ChartError>> {
    let answered = results["answered"].as_f64().filter(|n| *n > 0.0)?;
    let bars: Vec<Bar> = results["rows"]
        .as_array()?
        .iter()
        .take(MAX_BARS)
        .map(|r| Bar {
            label: r["label"].as_str().unwrap_or_default().to_string(),
            value: r["count"].as_f64().unwrap_or(0.0) / answered,
            low: None,
            high: None,
        })
        .collect();
    Some(render_png(&ChartSpec {
        title: title.to_string(),
        subtitle: None,
        bars,
        percent_axis: true,
        highlight: None,
        empty: String::new(),
        numbers: crate::locale::Numbers::for_locale(locale),
    }))
}

#[cfg(test)]
#[path = "chart_tests.rs"]
mod tests;
