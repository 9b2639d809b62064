//! Drawing the panels that are not lines over time: lines over categories, grouped and stacked
//! bars, pies and scatter plots (`render.rs` draws the time panels and the chart around them).
//! Every function draws one panel on its share of the image; a series has the colour of its
//! place among all the chart's series, as on the time panels.

use super::data::{CategoryValues, ChartData};
use super::spec::{Panel, PanelKind};
use plotters::backend::DrawingBackend;
use plotters::chart::{ChartBuilder, ChartContext, SeriesLabelPosition};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::{CoordTranslate, Shift};
use plotters::drawing::DrawingArea;
use plotters::element::{Circle, Polygon, Rectangle, Text};
use plotters::series::LineSeries;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, IntoFont, RGBColor, TextStyle, BLACK, WHITE};
use std::ops::Range;

/// The panels' font family (the bundled font, see `render.rs`).
const FONT: &str = "sans-serif";

type Drawn = std::result::Result<(), String>;

/// The colour of series `name` among all the chart's series `names` (sorted).
pub(crate) fn colour(names: &[&str], name: &str, palette: &[RGBColor]) -> RGBColor {
    let at = names.binary_search(&name).unwrap_or(0);
    palette[at % palette.len()]
}

/// The x axis of a category panel: category `i` spans `i..i + 1`, labelled at its centre.
#[derive(Clone)]
pub(crate) struct CategoryAxis {
    categories: usize,
    coord: RangedCoordf64,
}

impl Ranged for CategoryAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.coord.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, _: Hint) -> Vec<f64> {
        (0..self.categories).map(|i| i as f64 + 0.5).collect()
    }

    fn range(&self) -> Range<f64> {
        self.coord.range()
    }
}

/// Draws a category panel (lines over categories, grouped or stacked bars).
pub(crate) fn draw_categories<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    values: &CategoryValues,
    names: &[&str],
    palette: &[RGBColor],
) -> Drawn {
    let err = |e: plotters::drawing::DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let categories = values.categories();
    let series = values.series();
    let n = categories.len().max(1) as f64;
    let (y0, y1) = category_y_bounds(panel, values);
    let axis = CategoryAxis {
        categories: categories.len(),
        coord: (0.0..n).into(),
    };
    let mut chart = builder(area, panel)
        .build_cartesian_2d(axis, y0..y1)
        .map_err(err)?;
    let label = |x: &f64| {
        let at = (x - 0.5).round();
        let fits = at >= 0.0 && (x - 0.5 - at).abs() < 1e-6;
        fits.then(|| categories.get(at as usize).cloned())
            .flatten()
            .unwrap_or_default()
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&label)
        .y_labels(6)
        .x_desc(panel.x_label.as_str())
        .y_desc(panel.y_label.as_str())
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .light_line_style(BLACK.mix(0.05))
        .draw()
        .map_err(err)?;
    let width = 0.8 / series.len().max(1) as f64;
    let mut stacked = vec![0.0; categories.len()];
    for (s, name) in series.iter().enumerate() {
        let color = colour(names, name, palette);
        let cells = (0..categories.len()).filter_map(|c| values.value(c, name).map(|v| (c, v)));
        let drawn = match panel.kind {
            PanelKind::CategoryLines => {
                let points: Vec<(f64, f64)> = cells.map(|(c, v)| (c as f64 + 0.5, v)).collect();
                let dots = points.clone();
                chart
                    .draw_series(dots.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                    .map_err(err)?;
                chart
                    .draw_series(LineSeries::new(points, color.stroke_width(2)))
                    .map_err(err)?
            }
            PanelKind::StackedBars => {
                let bars: Vec<Rectangle<(f64, f64)>> = cells
                    .map(|(c, v)| {
                        let base = stacked[c];
                        stacked[c] += v;
                        let x = c as f64 + 0.1;
                        Rectangle::new([(x, base), (x + 0.8, base + v)], color.filled())
                    })
                    .collect();
                chart.draw_series(bars).map_err(err)?
            }
            _ => {
                let bars: Vec<Rectangle<(f64, f64)>> = cells
                    .map(|(c, v)| {
                        let x = c as f64 + 0.1 + width * s as f64;
                        Rectangle::new([(x, 0.0), (x + width, v)], color.filled())
                    })
                    .collect();
                chart.draw_series(bars).map_err(err)?
            }
        };
        drawn
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
    }
    legend(
        &mut chart,
        !series.is_empty(),
        SeriesLabelPosition::UpperRight,
    )
}

/// The y range of a category panel: the panel's own, or one that holds every bar (and zero).
fn category_y_bounds(panel: &Panel, values: &CategoryValues) -> (f64, f64) {
    if let Some((lo, hi)) = panel.y_range.filter(|(lo, hi)| hi > lo) {
        return (lo, hi);
    }
    let series = values.series();
    let cells = (0..values.categories().len())
        .flat_map(|c| series.iter().filter_map(move |s| values.value(c, s)));
    let (lo, hi) = if panel.kind == PanelKind::StackedBars {
        let mut sums = vec![(0.0f64, 0.0f64); values.categories().len()];
        for (c, sum) in sums.iter_mut().enumerate() {
            for s in &series {
                match values.value(c, s) {
                    Some(v) if v < 0.0 => sum.0 += v,
                    Some(v) => sum.1 += v,
                    None => {}
                }
            }
        }
        sums.iter()
            .fold((0.0f64, 0.0f64), |(lo, hi), s| (lo.min(s.0), hi.max(s.1)))
    } else {
        cells.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)))
    };
    // Headroom above the bars for the legend in the upper right corner.
    let pad = ((hi - lo) * 0.05).max(1e-9);
    let lo = if lo < 0.0 { lo - pad } else { 0.0 };
    (lo, if hi > 0.0 { hi + 4.0 * pad } else { 1.0 })
}

/// Draws a pie of the categories' values of the first series that has positive ones; each
/// slice is labelled with its category and share.
pub(crate) fn draw_pie<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    values: &CategoryValues,
    palette: &[RGBColor],
) -> Drawn {
    let err = |e: plotters::drawing::DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let area = if panel.title.is_empty() {
        area.clone()
    } else {
        area.titled(&panel.title, (FONT, 16)).map_err(err)?
    };
    let slices: Vec<(usize, f64)> = values
        .series()
        .into_iter()
        .map(|s| {
            (0..values.categories().len())
                .filter_map(|c| values.value(c, s).filter(|v| *v > 0.0).map(|v| (c, v)))
                .collect::<Vec<_>>()
        })
        .find(|cells| !cells.is_empty())
        .unwrap_or_default();
    let total: f64 = slices.iter().map(|(_, v)| v).sum();
    let (w, h) = area.dim_in_pixel();
    let (cx, cy) = (
        i32::try_from(w / 2).unwrap_or(0),
        i32::try_from(h / 2).unwrap_or(0),
    );
    let radius = f64::from(w.min(h)) * 0.35;
    let mut start = -std::f64::consts::FRAC_PI_2;
    for (c, v) in &slices {
        let sweep = v / total * std::f64::consts::TAU;
        let color = palette[c % palette.len()];
        let steps = ((sweep / 0.05).ceil() as usize).max(2);
        let mut outline = vec![(cx, cy)];
        outline.extend((0..=steps).map(|i| {
            let a = start + sweep * i as f64 / steps as f64;
            at_angle(cx, cy, radius, a)
        }));
        area.draw(&Polygon::new(outline, color.filled()))
            .map_err(err)?;
        let label = format!("{} {:.0}%", values.categories()[*c], v / total * 100.0);
        let (lx, ly) = at_angle(cx, cy, radius + 18.0, start + sweep / 2.0);
        let style =
            TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
        area.draw(&Text::new(label, (lx, ly), style)).map_err(err)?;
        start += sweep;
    }
    Ok(())
}

fn at_angle(cx: i32, cy: i32, radius: f64, angle: f64) -> (i32, i32) {
    (
        cx + (radius * angle.cos()).round() as i32,
        cy + (radius * angle.sin()).round() as i32,
    )
}

/// Draws a scatter plot of every series of the panel.
pub(crate) fn draw_scatter<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    data: &ChartData,
    index: usize,
    names: &[&str],
    palette: &[RGBColor],
) -> Drawn {
    let err = |e: plotters::drawing::DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let points = data
        .scatter_series(index)
        .flat_map(|(_, p)| p.iter().copied());
    let bounds = points.fold(None, |acc: Option<(f64, f64, f64, f64)>, (x, y)| {
        Some(match acc {
            None => (x, x, y, y),
            Some((x0, x1, y0, y1)) => (x0.min(x), x1.max(x), y0.min(y), y1.max(y)),
        })
    });
    let (x0, x1, y0, y1) = bounds.unwrap_or((0.0, 1.0, 0.0, 1.0));
    let (x0, x1) = padded(x0, x1);
    // Named x values: every category shows, each labelled at its index.
    let named = panel.x_categories.len();
    let (x0, x1) = match named {
        0 => (x0, x1),
        n => (x0.min(-0.5), x1.max(n as f64 - 0.5)),
    };
    let category = |x: &f64| panel.x_category(*x).unwrap_or_default().to_owned();
    let (y0, y1) = panel
        .y_range
        .filter(|(lo, hi)| hi > lo)
        .unwrap_or(padded(y0, y1));
    let mut chart = builder(area, panel)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let mut mesh = chart.configure_mesh();
    if named > 0 {
        mesh.x_labels(named + 1).x_label_formatter(&category);
    } else {
        mesh.x_labels(8);
    }
    mesh.y_labels(6)
        .x_desc(panel.x_label.as_str())
        .y_desc(panel.y_label.as_str())
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .light_line_style(BLACK.mix(0.05))
        .draw()
        .map_err(err)?;
    let mut any = false;
    for (name, points) in data.scatter_series(index) {
        any = true;
        let color = colour(names, name, palette);
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| Circle::new((x + 7, y), 4, color.filled()));
    }
    legend(&mut chart, any, SeriesLabelPosition::UpperLeft)
}

/// A range around `lo..hi` with 5% on each side (or around a single value).
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if hi > lo {
        let pad = (hi - lo) * 0.05;
        (lo - pad, hi + pad)
    } else {
        (lo - lo.abs().max(1.0) * 0.1, hi + hi.abs().max(1.0) * 0.1)
    }
}

/// The chart builder every non-time panel starts from: margins, label areas, the caption.
fn builder<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    panel: &'b Panel,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(8)
        .margin_right(24)
        .x_label_area_size(48)
        .y_label_area_size(72);
    if !panel.title.is_empty() {
        builder.caption(&panel.title, (FONT, 16));
    }
    builder
}

/// Draws the series legend of a panel when it has series.
pub(crate) fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    any: bool,
    position: SeriesLabelPosition,
) -> Drawn {
    if !any {
        return Ok(());
    }
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font((FONT, 13))
        .draw()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::render::render_svg;
    use super::super::{ChartData, ChartSpec, Panel, Point};

    /// The `(x, y, width, height)` of every `<rect>` of `svg` filled with `fill` (`#RRGGBB`)
    /// and wider than `min_width` pixels (legend swatches are narrower).
    fn rects(svg: &str, fill: &str, min_width: f64) -> Vec<(f64, f64, f64, f64)> {
        let attr = |tag: &str, name: &str| -> f64 {
            let start = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            let end = start + tag[start..].find('"').unwrap();
            tag[start..end].parse().unwrap()
        };
        svg.split("<rect")
            .skip(1)
            .map(|t| &t[..t.find("/>").unwrap()])
            .filter(|t| t.contains(&format!("fill=\"{fill}\"")))
            .map(|t| {
                (
                    attr(t, "x"),
                    attr(t, "y"),
                    attr(t, "width"),
                    attr(t, "height"),
                )
            })
            .filter(|r| r.2 > min_width)
            .collect()
    }

    const BLUE: &str = "#1F77B4";
    const ORANGE: &str = "#FF7F0E";

    #[test]
    fn bars_have_one_rect_per_category_with_heights_in_proportion() {
        let spec =
            ChartSpec::new("counts", vec![Panel::bars("station", "count")]).with_size(600, 400);
        let mut data = ChartData::new(1, 100);
        for (station, n) in [
            ("oslo", 10.0),
            ("bergen", 25.0),
            ("oslo", 20.0),
            ("tromso", 5.0),
        ] {
            data.add(&Point::category(0, station, "trains", n));
        }
        let svg = render_svg(&spec, &data).unwrap();
        let bars = rects(&svg, BLUE, 20.0);
        assert_eq!(bars.len(), 3, "one bar per station: {bars:?}");
        // In first-seen order, left to right: oslo (20, updated in place), bergen 25, tromso 5.
        let heights: Vec<f64> = bars.iter().map(|b| b.3).collect();
        assert!(bars[0].0 < bars[1].0 && bars[1].0 < bars[2].0, "{bars:?}");
        assert!(
            (heights[1] / heights[0] - 25.0 / 20.0).abs() < 0.03,
            "{heights:?}"
        );
        assert!(
            (heights[2] / heights[0] - 5.0 / 20.0).abs() < 0.03,
            "{heights:?}"
        );
        // All bars stand on the same baseline (zero).
        let bottoms: Vec<f64> = bars.iter().map(|b| b.1 + b.3).collect();
        assert!(
            bottoms.iter().all(|b| (b - bottoms[0]).abs() < 1.5),
            "{bottoms:?}"
        );
        for label in ["oslo", "bergen", "tromso", "station", "count", "trains"] {
            assert!(svg.contains(label), "svg lacks {label}");
        }
    }

    #[test]
    fn grouped_bars_sit_side_by_side_and_stacked_bars_on_top_of_each_other() {
        let fill = |panel: Panel| {
            let spec = ChartSpec::new("t", vec![panel]).with_size(600, 400);
            let mut data = ChartData::new(1, 100);
            data.add(&Point::category(0, "mon", "a", 4.0));
            data.add(&Point::category(0, "mon", "b", 2.0));
            render_svg(&spec, &data).unwrap()
        };
        let grouped = fill(Panel::bars("day", "n"));
        let (a, b) = (
            rects(&grouped, BLUE, 20.0)[0],
            rects(&grouped, ORANGE, 20.0)[0],
        );
        assert!((a.0 + a.2 - b.0).abs() < 1.5, "b right of a: {a:?} {b:?}");
        assert!((a.3 / b.3 - 2.0).abs() < 0.05);
        let stacked = fill(Panel::stacked_bars("day", "n"));
        let (a, b) = (
            rects(&stacked, BLUE, 20.0)[0],
            rects(&stacked, ORANGE, 20.0)[0],
        );
        assert!((a.0 - b.0).abs() < 1.5, "same column: {a:?} {b:?}");
        assert!((b.1 + b.3 - a.1).abs() < 1.5, "b on top of a: {a:?} {b:?}");
    }

    #[test]
    fn a_pie_has_a_slice_per_category_labelled_with_its_share() {
        let spec = ChartSpec::new("share", vec![Panel::pie()]).with_size(500, 400);
        let mut data = ChartData::new(1, 100);
        for (kind, n) in [
            ("male", 30.0),
            ("female", 60.0),
            ("unknown", 10.0),
            ("none", 0.0),
        ] {
            data.add(&Point::category(0, kind, "shoppers", n));
        }
        let svg = render_svg(&spec, &data).unwrap();
        assert_eq!(
            svg.matches("<polygon").count(),
            3,
            "zero-valued slices are left out"
        );
        for label in ["male 30%", "female 60%", "unknown 10%"] {
            assert!(svg.contains(label), "svg lacks {label}");
        }
    }

    #[test]
    fn a_scatter_plot_draws_every_point() {
        let spec = ChartSpec::new("xy", vec![Panel::scatter("humidity", "temperature")])
            .with_size(500, 400);
        let mut data = ChartData::new(1, 100);
        for i in 0..12 {
            data.add(&Point::xy(0, "room", f64::from(i), f64::from(i * i)));
        }
        let svg = render_svg(&spec, &data).unwrap();
        // 12 points and the legend's marker.
        assert_eq!(svg.matches("<circle").count(), 13, "{svg}");
        assert!(svg.contains("humidity") && svg.contains("temperature"));
    }

    #[test]
    fn a_scatter_plot_labels_named_x_values_with_their_category() {
        let panel = Panel::scatter("weekday", "trips").with_x_categories(["Mon", "Tue", "Wed"]);
        assert_eq!(panel.x_category(1.0), Some("Tue"));
        assert_eq!(panel.x_category(0.5), None);
        assert_eq!(panel.x_category(-1.0), None);
        assert_eq!(panel.x_category(3.0), None);
        let spec = ChartSpec::new("xy", vec![panel]).with_size(500, 400);
        let mut data = ChartData::new(1, 100);
        data.add(&Point::xy(0, "trips", 1.0, 4.0));
        let svg = render_svg(&spec, &data).unwrap();
        // Every category is on the axis, even those without a point.
        for day in ["Mon", "Tue", "Wed"] {
            assert_eq!(
                svg.matches(&format!("\n{day}\n")).count(),
                1,
                "{day}: {svg}"
            );
        }
        assert!(!svg.contains("\n1.0\n"), "no number on the x axis: {svg}");
        let numeric = ChartSpec::new("xy", vec![Panel::scatter("weekday", "trips")]);
        let numeric = render_svg(&numeric.with_size(500, 400), &data).unwrap();
        assert!(
            numeric.contains("\n1.0\n"),
            "without names, x is a number: {numeric}"
        );
    }

    #[test]
    fn kinds_mix_in_one_figure_with_time_panels() {
        let spec = ChartSpec::new(
            "mixed",
            vec![Panel::new("count"), Panel::bars("k", "n"), Panel::pie()],
        )
        .with_size(600, 900);
        let mut data = ChartData::new(3, 100);
        data.push(0, "a", super::super::render::tests::NOON, 1.0);
        data.add(&Point::category(1, "x", "a", 2.0));
        data.add(&Point::category(2, "x", "a", 2.0));
        let svg = render_svg(&spec, &data).unwrap();
        assert!(svg.contains("time (UTC)"), "the time panel keeps its axis");
        assert_eq!(rects(&svg, BLUE, 20.0).len(), 1);
        assert_eq!(svg.matches("<polygon").count(), 1);
    }
}
