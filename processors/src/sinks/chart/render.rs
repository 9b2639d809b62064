//! Rendering a [`ChartSpec`] and its [`ChartData`] with plotters, to PNG bytes, SVG text, or
//! both files at once ([`render_chart`], each file written atomically).
//!
//! Text uses the bundled DejaVu Sans (registered once with plotters' `ab_glyph` loader), so a
//! chart renders the same on every machine, whatever fonts it has installed.

use super::data::ChartData;
use super::render_kinds::{colour, draw_categories, draw_pie, draw_scatter, legend};
use super::spec::{ChartSpec, Panel, PanelKind};
use crate::file_error::file_error;
use chrono::{DateTime, Utc};
use plotters::backend::{BitMapBackend, DrawingBackend, RGBPixel, SVGBackend};
use plotters::chart::{ChartBuilder, SeriesLabelPosition};
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, IntoDrawingArea};
use plotters::element::PathElement;
use plotters::series::LineSeries;
use plotters::style::{register_font, Color, FontStyle, RGBColor, BLACK, WHITE};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use weir_topology::{Result, TopologyError};

/// DejaVu Sans (Bitstream Vera license, see `assets/DejaVuSans-LICENSE.txt`).
static FONT_BYTES: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");
/// The font family every text of a chart uses (registered to the bundled font).
const FONT: &str = "sans-serif";
/// The largest image side accepted, in pixels.
const MAX_SIDE: u32 = 16_384;

/// Line colours, picked by series name order so a series has one colour in every panel.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Registers the bundled font under the generic family names, once per process.
fn ensure_fonts() -> std::result::Result<(), String> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            for family in [FONT, "serif", "monospace"] {
                register_font(family, FontStyle::Normal, FONT_BYTES)
                    .map_err(|_| "the bundled chart font cannot be loaded".to_owned())?;
            }
            Ok(())
        })
        .clone()
}

/// Formats a time axis value (ms since the epoch) as UTC clock time, `HH:MM:SS`.
pub fn format_clock(x_ms: &i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(*x_ms)
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_default()
}

fn check(spec: &ChartSpec, data: &ChartData) -> std::result::Result<(), String> {
    if spec.panels.is_empty() {
        return Err("a chart needs at least one panel".into());
    }
    if data.panel_count() != spec.panels.len() {
        return Err(format!(
            "the data has {} panels, the chart {}",
            data.panel_count(),
            spec.panels.len()
        ));
    }
    let ok = |side: u32| (64..=MAX_SIDE).contains(&side);
    if !ok(spec.width) || !ok(spec.height) {
        return Err(format!(
            "chart size {}x{} is outside 64..={MAX_SIDE} pixels",
            spec.width, spec.height
        ));
    }
    ensure_fonts()
}

/// The shared time axis: the data's span, or the last minute when there is no point.
fn x_bounds(data: &ChartData) -> (i64, i64) {
    match data.x_range() {
        Some((lo, hi)) if hi > lo => (lo, hi),
        Some((lo, _)) => (lo - 1_000, lo + 1_000),
        None => {
            let now = Utc::now().timestamp_millis();
            (now - 60_000, now)
        }
    }
}

fn y_bounds(panel: &Panel, data: &ChartData, index: usize) -> (f64, f64) {
    if let Some((lo, hi)) = panel.y_range.filter(|(lo, hi)| hi > lo) {
        return (lo, hi);
    }
    match data.y_range(index) {
        Some((lo, hi)) if hi > lo => {
            let pad = (hi - lo) * 0.05;
            (lo - pad, hi + pad)
        }
        Some((v, _)) => (v - v.abs().max(1.0) * 0.1, v + v.abs().max(1.0) * 0.1),
        None => (0.0, 1.0),
    }
}

/// Draws the whole chart on one drawing area (any backend): the title, then each panel by its
/// kind on an equal share of the height.
fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    spec: &ChartSpec,
    data: &ChartData,
) -> std::result::Result<(), String> {
    let err = |e: plotters::drawing::DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let body = root.titled(&spec.title, (FONT, 24)).map_err(err)?;
    let names = data.series_names();
    let rows = spec.panels.len();
    let last_time_panel = spec
        .panels
        .iter()
        .rposition(|p| p.kind == PanelKind::TimeLines);
    let no_values = Default::default();
    for (index, (panel, area)) in spec
        .panels
        .iter()
        .zip(body.split_evenly((rows, 1)))
        .enumerate()
    {
        let values = data.category_values(index).unwrap_or(&no_values);
        match panel.kind {
            PanelKind::CategoryLines | PanelKind::Bars | PanelKind::StackedBars => {
                draw_categories(&area, panel, values, &names, &PALETTE)?
            }
            PanelKind::Pie => draw_pie(&area, panel, values, &PALETTE)?,
            PanelKind::Scatter => draw_scatter(&area, panel, data, index, &names, &PALETTE)?,
            _ => {
                let bottom = last_time_panel == Some(index);
                draw_time_panel(&area, panel, data, index, &names, bottom)?
            }
        }
    }
    root.present().map_err(err)
}

/// Draws a panel of lines over the chart's shared time axis; `bottom` panels show its title.
fn draw_time_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    data: &ChartData,
    index: usize,
    names: &[&str],
    bottom: bool,
) -> std::result::Result<(), String> {
    let err = |e: plotters::drawing::DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let (x0, x1) = x_bounds(data);
    let (y0, y1) = y_bounds(panel, data, index);
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(8)
        .margin_right(24)
        .x_label_area_size(if bottom { 48 } else { 28 })
        .y_label_area_size(72);
    if !panel.title.is_empty() {
        builder.caption(&panel.title, (FONT, 16));
    }
    let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(8)
        .y_labels(6)
        .x_label_formatter(&format_clock)
        .y_desc(panel.y_label.as_str())
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .light_line_style(BLACK.mix(0.05));
    if bottom {
        mesh.x_desc("time (UTC)");
    }
    mesh.draw().map_err(err)?;
    let mut any = false;
    for (name, points) in data.series(index) {
        any = true;
        let color = colour(names, name, &PALETTE);
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
    }
    legend(&mut chart, any, SeriesLabelPosition::UpperLeft)
}

/// Renders the chart as PNG bytes.
pub fn render_png(spec: &ChartSpec, data: &ChartData) -> Result<Vec<u8>> {
    let fail = |e: String| TopologyError::connector(format!("chart `{}`", spec.title), e);
    check(spec, data).map_err(fail)?;
    let (w, h) = (spec.width, spec.height);
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut pixels, (w, h))
            .map_err(|e| fail(e.to_string()))?;
        draw(backend.into_drawing_area(), spec, data).map_err(fail)?;
    }
    let mut png_bytes = Vec::with_capacity(pixels.len() / 8);
    let mut encoder = png::Encoder::new(&mut png_bytes, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| fail(e.to_string()))?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| fail(e.to_string()))?;
    writer.finish().map_err(|e| fail(e.to_string()))?;
    Ok(png_bytes)
}

/// Renders the chart as an SVG document.
pub fn render_svg(spec: &ChartSpec, data: &ChartData) -> Result<String> {
    let fail = |e: String| TopologyError::connector(format!("chart `{}`", spec.title), e);
    check(spec, data).map_err(fail)?;
    let mut svg = String::new();
    {
        let backend = SVGBackend::with_string(&mut svg, (spec.width, spec.height));
        draw(backend.into_drawing_area(), spec, data).map_err(fail)?;
    }
    Ok(svg)
}

/// Renders the chart to `png_path` and `svg_path`; each file is written to `<path>.tmp` and
/// renamed, so a reader never sees a half-written image. Parent directories are created.
pub fn render_chart(
    spec: &ChartSpec,
    data: &ChartData,
    png_path: &Path,
    svg_path: &Path,
) -> Result<()> {
    let png_bytes = render_png(spec, data)?;
    let svg = render_svg(spec, data)?;
    write_atomically(png_path, &png_bytes)?;
    write_atomically(svg_path, svg.as_bytes())
}

/// Writes `bytes` to `path` through a temporary file and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    }
    let mut tmp = PathBuf::from(path);
    tmp.as_mut_os_string().push(".tmp");
    let mut file = std::fs::File::create(&tmp).map_err(|e| file_error(&tmp, e))?;
    file.write_all(bytes).map_err(|e| file_error(&tmp, e))?;
    file.sync_data().map_err(|e| file_error(&tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| file_error(path, e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;

    /// 2024-01-01 12:00:00 UTC.
    pub(crate) const NOON: i64 = 1_704_110_400_000;

    /// A 2-panel chart (count, accuracy) with 3 series over one minute.
    pub(crate) fn sample() -> (ChartSpec, ChartData) {
        let spec = ChartSpec::new(
            "flights per carrier",
            vec![
                Panel::new("count"),
                Panel::new("accuracy").with_y_range(0.0, 1.0),
            ],
        )
        .with_size(900, 600);
        let mut data = ChartData::new(2, 1000);
        for (k, name) in ["AA", "DL", "UA"].into_iter().enumerate() {
            for i in 0..60i64 {
                let x = NOON + i * 1000;
                data.push(0, name, x, (i * (k as i64 + 1)) as f64);
                data.push(
                    1,
                    name,
                    x,
                    0.5 + 0.12 * k as f64 + 0.05 * ((i as f64) / 7.0).sin(),
                );
            }
        }
        (spec, data)
    }

    fn png_size(bytes: &[u8]) -> (u32, u32) {
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&bytes[12..16], b"IHDR");
        let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        (be(&bytes[16..20]), be(&bytes[20..24]))
    }

    #[test]
    fn renders_png_and_svg_with_legend_and_clock_labels() {
        let dir = std::env::temp_dir().join(format!("weir-chart-render-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (spec, data) = sample();
        let (png_path, svg_path) = (dir.join("c.png"), dir.join("c.svg"));
        render_chart(&spec, &data, &png_path, &svg_path).unwrap();

        let png_bytes = std::fs::read(&png_path).unwrap();
        assert_eq!(png_size(&png_bytes), (900, 600));
        let svg = std::fs::read_to_string(&svg_path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        for text in [
            "AA",
            "DL",
            "UA",
            "count",
            "accuracy",
            "time (UTC)",
            "flights per carrier",
            "12:00:",
        ] {
            assert!(svg.contains(text), "svg lacks {text}");
        }
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        files.sort();
        assert_eq!(files, ["c.png", "c.svg"], "no temporary file left");
    }

    #[test]
    fn clock_labels_are_utc() {
        assert_eq!(format_clock(&(NOON + 3_723_000)), "13:02:03");
        assert_eq!(format_clock(&0), "00:00:00");
    }

    #[test]
    fn empty_and_single_point_charts_render() {
        let spec = ChartSpec::new("empty", vec![Panel::new("n")]).with_size(300, 200);
        let mut data = ChartData::new(1, 10);
        assert_eq!(png_size(&render_png(&spec, &data).unwrap()), (300, 200));
        data.push(0, "only", NOON, 3.0);
        assert!(render_svg(&spec, &data).unwrap().contains("only"));
    }

    #[test]
    fn bad_specs_are_errors() {
        let data = ChartData::new(1, 10);
        let none = ChartSpec::new("x", vec![]);
        assert!(render_png(&none, &data).is_err());
        let two = ChartSpec::new("x", vec![Panel::new("a"), Panel::new("b")]);
        assert!(render_svg(&two, &data)
            .unwrap_err()
            .to_string()
            .contains("1 panels"));
        let tiny = ChartSpec::new("x", vec![Panel::new("a")]).with_size(10, 10);
        assert!(render_png(&tiny, &data).is_err());
    }
}
