//! A hand-written SVG bar chart of ratios around a 1.0 line.
//!
//! The x axis is logarithmic (base 2) from 1/4 to 4, so half as fast and twice as fast sit
//! equally far from the 1.0 line; ratios beyond the range are clamped and drawn with an arrow
//! tip. Each bar grows from the 1.0 line; green means the candidate did better on that
//! metric, red worse (for latency and memory, lower is better).

use std::fmt::Write as _;

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Text left of the bar, e.g. `pubsub-1:1/16B msgs/s ↑`.
    pub label: String,
    /// Candidate / baseline.
    pub ratio: f64,
    /// Whether this ratio means the candidate did better.
    pub better: bool,
}

const LABEL_W: f64 = 340.0;
const PLOT_W: f64 = 520.0;
const VALUE_W: f64 = 130.0;
const ROW_H: f64 = 20.0;
const TOP: f64 = 56.0;
const BOTTOM: f64 = 40.0;
const LOG_RANGE: f64 = 2.0; // log2(4)

/// Horizontal position of ratio `r` in the plot area (clamped to the axis).
fn x_of(r: f64) -> f64 {
    let l = r.max(f64::MIN_POSITIVE).log2().clamp(-LOG_RANGE, LOG_RANGE);
    LABEL_W + (l + LOG_RANGE) / (2.0 * LOG_RANGE) * PLOT_W
}

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the bars as a standalone SVG document titled `title`.
pub fn render(title: &str, subtitle: &str, bars: &[Bar]) -> String {
    let width = LABEL_W + PLOT_W + VALUE_W;
    let height = TOP + ROW_H * bars.len().max(1) as f64 + BOTTOM;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r##"<text x="10" y="20" font-size="15" font-weight="bold">{}</text>"##,
        esc(title)
    );
    let _ = writeln!(
        s,
        r##"<text x="10" y="38" fill="#555">{}</text>"##,
        esc(subtitle)
    );
    let plot_bottom = TOP + ROW_H * bars.len() as f64;
    for tick in [0.25, 0.5, 1.0, 2.0, 4.0] {
        let x = x_of(tick);
        let (stroke, w) = if tick == 1.0 {
            ("#000", 1.5)
        } else {
            ("#ccc", 1.0)
        };
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{stroke}" stroke-width="{w}"/>"##,
            TOP - 6.0,
            plot_bottom + 4.0
        );
        let _ = writeln!(
            s,
            r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#333">{tick}</text>"##,
            plot_bottom + 18.0
        );
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = TOP + ROW_H * i as f64;
        let (x0, x1) = (x_of(1.0), x_of(bar.ratio));
        let (left, w) = if x1 >= x0 {
            (x0, x1 - x0)
        } else {
            (x1, x0 - x1)
        };
        let fill = if bar.better { "#2e9d4c" } else { "#d0453a" };
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LABEL_W - 8.0,
            y + 14.0,
            esc(&bar.label)
        );
        let _ = writeln!(
            s,
            r#"<rect x="{left:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}"/>"#,
            y + 3.0,
            w.max(1.0),
            ROW_H - 6.0
        );
        let clamped = bar.ratio.log2().abs() > LOG_RANGE;
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}">{:.2}{}</text>"##,
            LABEL_W + PLOT_W + 6.0,
            y + 14.0,
            bar.ratio,
            if clamped { " (off scale)" } else { "" }
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" fill="#555">ratio candidate / baseline (log scale); green = candidate better, red = worse</text>"##,
        LABEL_W,
        plot_bottom + 34.0
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_centred_and_scale_is_symmetric() {
        let mid = LABEL_W + PLOT_W / 2.0;
        assert!((x_of(1.0) - mid).abs() < 1e-9);
        assert!(((x_of(2.0) - mid) - (mid - x_of(0.5))).abs() < 1e-9);
        assert_eq!(x_of(100.0), LABEL_W + PLOT_W);
        assert_eq!(x_of(0.0), LABEL_W);
    }

    #[test]
    fn renders_bars_and_the_one_line() {
        let svg = render(
            "A vs B",
            "sub",
            &[
                Bar {
                    label: "pub-only/16B msgs/s ↑".into(),
                    ratio: 1.2,
                    better: true,
                },
                Bar {
                    label: "x<y".into(),
                    ratio: 0.1,
                    better: false,
                },
            ],
        );
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(r##"stroke="#000""##), "1.0 line");
        assert!(svg.contains("#2e9d4c") && svg.contains("#d0453a"));
        assert!(svg.contains("x&lt;y"));
        assert!(svg.contains("0.10 (off scale)"));
    }
}
