//! Unit tests of the chart: size, bars, axes, number formats, text fitting and bidi, bad input, and the poll tally.

use super::*;

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

fn bar(label: &str, value: f64, low: Option<f64>, high: Option<f64>) -> Bar {
    Bar {
        label: label.to_string(),
        value,
        low,
        high,
    }
}

fn spec(bars: Vec<Bar>) -> ChartSpec {
    ChartSpec {
        title: "Which option do you prefer?".to_string(),
        subtitle: Some("n = 214 · whiskers: 95% interval among respondents".to_string()),
        bars,
        percent_axis: true,
        highlight: None,
        empty: "No answers yet".to_string(),
        numbers: crate::locale::Numbers::for_locale("en"),
    }
}

/// Width and height from the IHDR chunk, which must directly follow the signature.
fn ihdr_size(png: &[u8]) -> (u32, u32) {
    assert!(png.len() > 33, "too short for a PNG");
    assert_eq!(png[..8], PNG_SIGNATURE);
    assert_eq!(&png[8..12], &[0, 0, 0, 13], "IHDR length");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

/// Decodes to 8-bit RGB pixels.
fn decode(png_bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
    let decoder = png::Decoder::new(png_bytes);
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    buf.truncate(info.buffer_size());
    (info, buf)
}

fn count_pixels(rgb: &[u8], color: RGBColor) -> usize {
    rgb.chunks_exact(3)
        .filter(|p| p == &[color.0, color.1, color.2])
        .count()
}

fn render(s: &ChartSpec) -> Vec<u8> {
    render_png(s).expect("render")
}

#[test]
fn png_header_and_dimensions() {
    let png = render(&spec(vec![bar("Yes", 0.6, Some(0.5), Some(0.7))]));
    let (w, h) = ihdr_size(&png);
    assert_eq!(w, 800);
    assert_eq!(
        h,
        Layout::new(&spec(vec![bar("x", 0.0, None, None)])).height
    );
    assert!((150..400).contains(&h), "height {h}");
}

#[test]
fn height_grows_with_bar_count() {
    let heights: Vec<u32> = [1usize, 2, 10, 25]
        .iter()
        .map(|&n| {
            let bars = (0..n)
                .map(|i| bar(&i.to_string(), 0.1, None, None))
                .collect();
            ihdr_size(&render(&spec(bars))).1
        })
        .collect();
    assert!(heights.windows(2).all(|w| w[0] < w[1]), "{heights:?}");
    assert!(heights[3] <= 1000, "{heights:?}");
}

#[test]
fn content_is_not_blank() {
    let mut s = spec(vec![
        bar("Ja, unbedingt", 0.55, Some(0.48), Some(0.62)),
        bar("Nein", 0.45, Some(0.38), Some(0.52)),
    ]);
    s.highlight = Some(0);
    let (info, rgb) = decode(&render(&s));
    assert_eq!((info.width, info.color_type), (800, png::ColorType::Rgb));
    let distinct: std::collections::HashSet<&[u8]> = rgb.chunks_exact(3).collect();
    // Anti-aliased text alone yields many shades.
    assert!(distinct.len() > 20, "only {} colours", distinct.len());
    // Highlighted bar, muted bar and whiskers each cover a solid block.
    assert!(count_pixels(&rgb, BAR_COLOR) > 1000);
    assert!(count_pixels(&rgb, MUTED_BAR_COLOR) > 1000);
    assert!(count_pixels(&rgb, WHISKER_COLOR) > 100);
}

#[test]
fn no_bars_says_no_answers() {
    let (w, h) = ihdr_size(&render(&spec(vec![])));
    assert_eq!(w, 800);
    assert!(h >= 150);
    let (_, rgb) = decode(&render(&spec(vec![])));
    assert!(count_pixels(&rgb, EMPTY_FILL) > 10_000);
}

#[test]
fn twenty_five_bars_ok_twenty_six_rejected() {
    let bars: Vec<Bar> = (0..26)
        .map(|i| bar(&format!("Option {i}"), f64::from(i) / 26.0, None, None))
        .collect();
    assert!(render_png(&spec(bars[..25].to_vec())).is_ok());
    assert!(matches!(
        render_png(&spec(bars)),
        Err(ChartError::TooManyBars { count: 26 })
    ));
}

#[test]
fn extremes_and_missing_ends() {
    let s = spec(vec![
        bar("zero", 0.0, None, None),
        bar("one", 1.0, None, None),
        bar("only low", 0.5, Some(0.4), None),
        bar("only high", 0.5, None, Some(0.6)),
        bar("swapped", 0.5, Some(0.7), Some(0.3)),
        bar("over the top", 1.3, Some(-0.2), Some(1.5)),
    ]);
    ihdr_size(&render(&s));
}

#[test]
fn non_percent_axis_with_negative_values() {
    let mut s = spec(vec![
        bar("gain", 12.5, Some(10.0), Some(15.0)),
        bar("loss", -3.25, Some(-4.0), Some(-2.0)),
        bar("flat", 0.0, None, None),
    ]);
    s.percent_axis = false;
    ihdr_size(&render(&s));
    s.bars = vec![bar("all zero", 0.0, None, None)];
    ihdr_size(&render(&s));
    s.bars = vec![bar("tiny", 5e-324, None, Some(1e-320))];
    ihdr_size(&render(&s));
}

#[test]
fn non_finite_values_are_rejected() {
    for b in [
        bar("nan", f64::NAN, None, None),
        bar("inf low", 0.1, Some(f64::NEG_INFINITY), None),
        bar("huge high", 0.1, None, Some(1e300)),
    ] {
        let s = spec(vec![bar("fine", 0.2, None, None), b]);
        assert!(matches!(
            render_png(&s),
            Err(ChartError::InvalidValue { index: 1 })
        ));
    }
}

#[test]
fn unusual_text_does_not_panic() {
    let mut s = spec(vec![
        bar(
            "Größenverhältnis übermäßig äußerst",
            0.2,
            Some(0.1),
            Some(0.3),
        ),
        bar("Party 🎉👍🏽 👨‍👩‍👧", 0.2, None, None),
        bar("כן, בהחלט (מאוד)", 0.2, None, None),
        bar("نعم بالتأكيد", 0.2, None, None),
        bar("mixed עברית and English", 0.2, None, None),
        bar("\u{202E}override\u{202C} line\nbreak\ttab", 0.1, None, None),
        bar("", 0.1, None, None),
        bar(&"Ж".repeat(300), 0.1, None, None),
        bar(&"W".repeat(39), 0.1, None, None),
    ]);
    s.title = "Umfrage: 日本語のタイトル — שאלה ".repeat(10);
    s.subtitle = Some("\u{0}".to_string());
    s.highlight = Some(99);
    ihdr_size(&render(&s));
}

#[test]
fn renders_from_several_threads() {
    let handles: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                render_png(&spec(vec![bar(&format!("t{i}"), 0.5, None, None)]))
                    .map(|png| ihdr_size(&png))
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().expect("thread").is_ok());
    }
}

#[test]
fn truncates_on_char_boundaries() {
    let exactly = "ä".repeat(MAX_LABEL_CHARS);
    assert_eq!(truncate_chars(&exactly, MAX_LABEL_CHARS), exactly);
    let long = "ä".repeat(MAX_LABEL_CHARS + 1);
    let cut = truncate_chars(&long, MAX_LABEL_CHARS);
    assert_eq!(cut.chars().count(), MAX_LABEL_CHARS);
    assert!(cut.ends_with("ää…"));
    // Trailing space before the ellipsis is dropped.
    assert_eq!(truncate_chars("abc defgh", 5), "abc…");
    assert_eq!(truncate_chars("🎉🎉🎉", 2), "🎉…");
}

#[test]
fn fits_text_to_width() {
    let short = fit_to_width("Yes", LABEL_SIZE, 100).expect("fit");
    assert_eq!(short, "Yes");
    let long = "A rather long answer option that will not fit";
    let fitted = fit_to_width(long, LABEL_SIZE, 120).expect("fit");
    assert!(fitted.ends_with('…') && fitted.len() < long.len());
    assert!(text_width(&fitted, LABEL_SIZE).expect("width") <= 120);
    assert_eq!(fit_to_width("Wide", LABEL_SIZE, 1).expect("fit"), "…");
}

#[test]
fn numbers_are_written_the_readers_way() {
    let de = crate::locale::Numbers::for_locale("de");
    assert_eq!(localise_number("33%", &de), "33\u{a0}%");
    assert_eq!(localise_number("<1%", &de), "<1\u{a0}%");
    assert_eq!(localise_number("0.25", &de), "0,25");
    let en = crate::locale::Numbers::for_locale("en");
    assert_eq!(localise_number("0.25", &en), "0.25");
    assert_eq!(localise_number("33%", &en), "33%");
}

#[test]
fn cleans_control_characters() {
    assert_eq!(clean_text(" a\nb\tc\u{2029} "), "a b c");
}

#[test]
fn formats_values() {
    let pct = format_values(&[0.0, 0.004, 0.333, 0.996, 1.0, -0.001, 1.3], true);
    assert_eq!(pct, ["0%", "<1%", "33%", ">99%", "100%", "0%", "130%"]);
    assert_eq!(
        format_values(&[1.0, 1.16, 1.8], false),
        ["1.00", "1.16", "1.80"]
    );
    assert_eq!(format_values(&[1.0, 2.5], false), ["1.0", "2.5"]);
    assert_eq!(format_values(&[3.0, 12.0], false), ["3", "12"]);
    // Large values never get more precision than their size warrants.
    assert_eq!(format_values(&[4.25, 12.34], false), ["4.25", "12.3"]);
    assert_eq!(format_values(&[1234.6, 0.5], false), ["1235", "0.5"]);
    assert_eq!(format_values(&[-0.001], false), ["0"]);
    assert_eq!(
        format_values(&[-3.25, 2.0], false),
        ["\u{2212}3.25", "2.00"]
    );
    assert_eq!(format_values(&[], false), Vec::<String>::new());
}

#[test]
fn axis_ticks_are_round_numbers() {
    let axis = Axis::new(&[bar("a", 3.2, Some(2.9), Some(4.6))], false);
    let labels: Vec<&str> = axis.ticks.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(labels, ["0", "1", "2", "3", "4", "5"]);
    let axis = Axis::new(&[bar("a", 0.07, None, None)], false);
    assert_eq!(axis.ticks.last().map(|(_, l)| l.as_str()), Some("0.08"));
    let axis = Axis::new(
        &[bar("a", -3.0, None, None), bar("b", 7.0, None, None)],
        false,
    );
    assert_eq!((axis.min, axis.max), (-4.0, 8.0));
    assert_eq!(axis.to_px(-4.0, 100, 400), 100);
    assert_eq!(axis.to_px(99.0, 100, 400), 400);
    let percent = Axis::new(&[], true);
    let labels: Vec<&str> = percent.ticks.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(labels, ["0%", "25%", "50%", "75%", "100%"]);
    assert_eq!(nice_step(0.23), 0.25);
    assert_eq!(step_decimals(0.025), 3);
}

#[test]
fn bidi_reorders_rtl_runs() {
    assert_eq!(visual_order("plain text"), "plain text");
    assert_eq!(visual_order("אבג"), "גבא");
    // Brackets in an RTL run are mirrored so they still enclose their text.
    assert_eq!(visual_order("אב (גד)"), "(דג) בא");
    assert_eq!(visual_order("x \u{200F}y"), "x y");
    // LTR words inside RTL text keep their own order.
    assert_eq!(visual_order("אב abc"), "abc בא");
}

#[test]
fn a_poll_tally_draws_shares_and_nothing_without_answers() {
    let results = serde_json::json!({ "answered": 3, "rows": [
        { "label": "Pizza", "count": 2 }, { "label": "Sushi", "count": 1 } ] });
    let png = super::tally_png("Lunch?", &results, "en");
    assert!(matches!(png, Some(Ok(ref p)) if p.starts_with(b"\x89PNG")));
    let none = serde_json::json!({ "answered": 0, "rows": [] });
    assert!(super::tally_png("Lunch?", &none, "en").is_none());
}
