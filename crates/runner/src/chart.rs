//! Charts (SVG and PNG) with plotters: horizontal grouped bars, and lines
//! on a logarithmic axis.

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// One series of bars: a label and one value per row.
pub struct Series {
    /// Legend label.
    pub label: String,
    /// One value per row (NaN for none).
    pub values: Vec<f64>,
    /// Per row, the value's 95 % interval `(low, high)` drawn as an error
    /// bar (empty, or None for a row, when there is none).
    pub intervals: Vec<Option<(f64, f64)>>,
}

/// A chart: rows on the y axis, one bar per series in each row.
pub struct BarChart<'a> {
    /// Title on top.
    pub title: &'a str,
    /// Label of the value axis.
    pub x_label: &'a str,
    /// Row labels, top to bottom.
    pub rows: &'a [String],
    /// The series.
    pub series: &'a [Series],
    /// An optional vertical reference line (label, value).
    pub marker: Option<(&'a str, f64)>,
}

const COLORS: [RGBColor; 10] = [
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

impl BarChart<'_> {
    /// Writes `<stem>.svg` and `<stem>.png`.
    pub fn write(&self, stem: &Path) -> Result<()> {
        register_font();
        let height = (120 + self.rows.len() * (18 * self.series.len().max(1) + 14)).max(260) as u32;
        let svg = stem.with_extension("svg");
        let png = stem.with_extension("png");
        self.draw(SVGBackend::new(&svg, (1000, height)).into_drawing_area())?;
        self.draw(BitMapBackend::new(&png, (1000, height)).into_drawing_area())?;
        Ok(())
    }

    fn draw<DB: DrawingBackend>(&self, area: DrawingArea<DB, plotters::coord::Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing a chart: {e:?}");
        area.fill(&WHITE).map_err(err)?;
        let max = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .chain(self.marker.map(|(_, v)| v))
            .chain(
                self.series
                    .iter()
                    .flat_map(|s| s.intervals.iter().flatten().map(|&(_, high)| high)),
            )
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
            .max(1e-9)
            // Room on the right for the legend.
            * 1.3;
        let n = self.rows.len().max(1);
        let label_width = self
            .rows
            .iter()
            .map(|r| r.len())
            .max()
            .unwrap_or(8)
            .clamp(8, 40) as u32
            * 7
            + 10;
        let mut chart = ChartBuilder::on(&area)
            .caption(self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(label_width)
            .build_cartesian_2d(0.0..max, 0.0..n as f64)
            .map_err(err)?;
        let rows = self.rows;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(self.x_label)
            .x_label_formatter(&|x| {
                if max >= 10_000.0 {
                    format!("{:.0}k", x / 1000.0)
                } else if max >= 10.0 {
                    format!("{x:.0}")
                } else {
                    format!("{x:.1}")
                }
            })
            .y_labels(n * 2 + 1)
            .y_label_formatter(&|y| {
                // Labels sit at row centres (k + 0.5), counted from the top.
                let k = (n as f64 - y - 0.5).round();
                if (y - (n as f64 - k - 0.5)).abs() < 1e-6 && k >= 0.0 && (k as usize) < rows.len()
                {
                    rows[k as usize].clone()
                } else {
                    String::new()
                }
            })
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        let groups = self.series.len().max(1) as f64;
        let band = 0.8 / groups;
        for (si, s) in self.series.iter().enumerate() {
            let color = COLORS[si % COLORS.len()];
            let bars = s
                .values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(move |(ri, &v)| {
                    let top = n as f64 - ri as f64 - 0.1 - band * si as f64;
                    Rectangle::new([(0.0, top), (v, top - band * 0.9)], color.filled())
                });
            chart
                .draw_series(bars)
                .map_err(err)?
                .label(s.label.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
            chart.draw_series(error_bars(s, n, band, si)).map_err(err)?;
        }
        if let Some((label, value)) = self.marker {
            chart
                .draw_series(LineSeries::new(
                    [(value, 0.0), (value, n as f64)],
                    BLACK.stroke_width(2),
                ))
                .map_err(err)?
                .label(label.to_owned())
                .legend(|(x, y)| PathElement::new([(x, y), (x + 12, y)], BLACK.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        area.present().map_err(err)?;
        Ok(())
    }
}

/// A series' error bars: a line across each interval at the bar's middle,
/// with a tick at each end.
fn error_bars(
    s: &Series,
    rows: usize,
    band: f64,
    index: usize,
) -> impl Iterator<Item = PathElement<(f64, f64)>> + '_ {
    s.intervals
        .iter()
        .enumerate()
        .filter_map(|(ri, i)| i.map(|i| (ri, i)))
        .filter(|(_, (low, high))| low.is_finite() && high.is_finite())
        .flat_map(move |(ri, (low, high))| {
            let top = rows as f64 - ri as f64 - 0.1 - band * index as f64;
            let mid = top - band * 0.45;
            let tick = band * 0.25;
            [
                vec![(low, mid), (high, mid)],
                vec![(low, mid - tick), (low, mid + tick)],
                vec![(high, mid - tick), (high, mid + tick)],
            ]
            .into_iter()
            .map(|points| PathElement::new(points, BLACK.stroke_width(1)))
        })
}

/// One line of a line chart: a label and its points.
pub struct Line {
    /// Legend label.
    pub label: String,
    /// `(x, y)` points, in x order; y must be above 0 (log scale).
    pub points: Vec<(f64, f64)>,
}

/// A line chart with a logarithmic y axis (latencies that differ by orders
/// of magnitude between frameworks stay readable). For a logarithmic x
/// axis, give log10 values and a format that raises them back.
pub struct LineChart<'a> {
    /// Title on top.
    pub title: &'a str,
    /// Label of the x axis.
    pub x_label: &'a str,
    /// Label of the y axis.
    pub y_label: &'a str,
    /// The lines.
    pub lines: &'a [Line],
    /// How an x value is written on the axis.
    pub x_format: fn(f64) -> String,
    /// At most this many x labels (plotters picks round steps).
    pub x_labels: usize,
}

impl LineChart<'_> {
    /// Writes `<stem>.svg` and `<stem>.png`.
    pub fn write(&self, stem: &Path) -> Result<()> {
        register_font();
        let svg = stem.with_extension("svg");
        let png = stem.with_extension("png");
        self.draw(SVGBackend::new(&svg, (1000, 560)).into_drawing_area())?;
        self.draw(BitMapBackend::new(&png, (1000, 560)).into_drawing_area())?;
        Ok(())
    }

    fn draw<DB: DrawingBackend>(&self, area: DrawingArea<DB, plotters::coord::Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing a chart: {e:?}");
        area.fill(&WHITE).map_err(err)?;
        let points = || {
            self.lines
                .iter()
                .flat_map(|l| l.points.iter().copied())
                .filter(|(x, y)| x.is_finite() && y.is_finite() && *y > 0.0)
        };
        let (x_lo, x_hi) = points().fold((f64::MAX, f64::MIN), |(lo, hi), (x, _)| {
            (lo.min(x), hi.max(x))
        });
        let (y_lo, y_hi) = points().fold((f64::MAX, f64::MIN), |(lo, hi), (_, y)| {
            (lo.min(y), hi.max(y))
        });
        let (x_lo, x_hi) = if x_lo > x_hi {
            (0.0, 1.0)
        } else {
            let pad = ((x_hi - x_lo) * 0.08).max(0.05);
            (x_lo - pad, x_hi + pad)
        };
        let (y_lo, y_hi) = if y_lo > y_hi {
            (0.01, 1.0)
        } else {
            (y_lo / 2.0, y_hi * 4.0)
        };
        let mut chart = ChartBuilder::on(&area)
            .caption(self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_lo..x_hi, (y_lo..y_hi).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .x_label_formatter(&|x| (self.x_format)(*x))
            .y_label_formatter(&|y| {
                if *y >= 10.0 {
                    format!("{y:.0}")
                } else if *y >= 0.1 {
                    format!("{y:.1}")
                } else {
                    format!("{y:.3}")
                }
            })
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .x_labels(self.x_labels)
            .draw()
            .map_err(err)?;
        for (i, line) in self.lines.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let pts: Vec<(f64, f64)> = line
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite() && *y > 0.0)
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(err)?
                .label(line.label.clone())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 12, y)], color.stroke_width(2))
                });
            chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, 4, color.filled())))
                .map_err(err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        area.present().map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_is_a_bar_with_two_ticks_and_none_is_nothing() {
        let s = Series {
            label: "x".into(),
            values: vec![10.0, 20.0, 30.0, 40.0],
            intervals: vec![Some((9.0, 11.0)), None, Some((f64::NAN, 31.0))],
        };
        // Row 0 only: row 1 has none, row 2 a NaN bound, row 3 no entry.
        assert_eq!(error_bars(&s, 4, 0.4, 0).count(), 3);
        // Drawn, the one error bar adds three strokes to the same chart
        // without intervals.
        let polylines = |series: &Series| {
            let rows = [
                "a".to_owned(),
                "b".to_owned(),
                "c".to_owned(),
                "d".to_owned(),
            ];
            let chart = BarChart {
                title: "t",
                x_label: "x",
                rows: &rows,
                series: std::slice::from_ref(series),
                marker: None,
            };
            let dir = std::env::temp_dir().join(format!(
                "chart-test-{}-{}",
                std::process::id(),
                series.intervals.len()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            chart.write(&dir.join("bars")).unwrap();
            let svg = std::fs::read_to_string(dir.join("bars.svg")).unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            svg.matches("<polyline").count()
        };
        let bare = Series {
            label: s.label.clone(),
            values: s.values.clone(),
            intervals: Vec::new(),
        };
        assert_eq!(polylines(&s), polylines(&bare) + 3);
    }
}
