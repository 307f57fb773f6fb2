//! Charts drawn on the server as SVG: readable without JavaScript, printable, and described for
//! screen readers (a title and a description naming every value); the page also shows the same
//! numbers as a table.

use std::fmt::Write as _;

/// Escapes text for SVG (XML).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A label cut to `max` characters for the chart (the table beside it has it whole).
fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_owned()
    } else {
        label.chars().take(max - 1).collect::<String>() + "…"
    }
}

/// A horizontal bar chart of `rows` (label, value), one bar per row, titled `title`; `id` (a
/// word unique on the page) names its title and description.
pub(crate) fn bars(id: &str, title: &str, rows: &[(String, i64)]) -> String {
    let width: i64 = 640;
    let label_width: i64 = 220;
    let row_height: i64 = 28;
    let height = 40 + row_height * i64::try_from(rows.len().max(1)).unwrap_or(1);
    let max = rows.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let description = rows.iter().map(|(l, v)| format!("{l}：{v}")).collect::<Vec<_>>().join("；");
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        escape(title),
        escape(if description.is_empty() { "暂无数据" } else { &description })
    );
    if rows.is_empty() {
        let _ = write!(svg, "<text x=\"10\" y=\"30\" font-size=\"14\" fill=\"#4b5563\">暂无数据</text>");
    }
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = 20 + i64::try_from(i).unwrap_or(0) * row_height;
        let bar = ((width - label_width - 60) * value / max).max(if *value > 0 { 2 } else { 0 });
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"end\" fill=\"#1f2937\">{}</text>\
             <rect x=\"{label_width}\" y=\"{}\" width=\"{bar}\" height=\"18\" rx=\"3\" fill=\"#2563eb\"></rect>\
             <text x=\"{}\" y=\"{}\" font-size=\"13\" fill=\"#1f2937\">{value}</text>",
            label_width - 8,
            y + 14,
            escape(&short(label, 16)),
            y + 1,
            label_width + bar + 6,
            y + 14,
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::bars;

    #[test]
    fn labels_are_escaped_and_values_described() {
        let svg = bars("items", "按事项", &[("<script>alert(1)</script>".into(), 3), ("营业执照".into(), 0)]);
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
        assert!(svg.contains("营业执照：0") && svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(bars("none", "空", &[]).contains("暂无数据"));
    }
}
