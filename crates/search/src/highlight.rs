//! Marks what matched in a text: HTML-escaped, with `<em>` around the matches.

/// `text` escaped for HTML with every occurrence of a needle (folded words of the query) in
/// `<em>`; longer needles win where they overlap. Cut to about `max` characters around the
/// first match.
pub fn highlight(text: &str, needles: &[String], max: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let folded: Vec<char> = chars.iter().map(|c| fold_char(*c)).collect();
    let mut marked = vec![false; chars.len()];
    let mut needles: Vec<Vec<char>> =
        needles.iter().map(|n| n.chars().map(fold_char).collect::<Vec<_>>()).filter(|n| !n.is_empty()).collect();
    needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for needle in &needles {
        if needle.len() > folded.len() {
            continue;
        }
        for start in 0..=folded.len() - needle.len() {
            if folded[start..start + needle.len()] == needle[..] {
                marked[start..start + needle.len()].iter_mut().for_each(|m| *m = true);
            }
        }
    }
    let first = marked.iter().position(|m| *m).unwrap_or(0);
    let (from, to) = if chars.len() <= max {
        (0, chars.len())
    } else {
        let from = first.saturating_sub(max / 4);
        (from, (from + max).min(chars.len()))
    };
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut open = false;
    for i in from..to {
        if marked[i] && !open {
            out.push_str("<em>");
            open = true;
        } else if !marked[i] && open {
            out.push_str("</em>");
            open = false;
        }
        escape_into(&mut out, chars[i]);
    }
    if open {
        out.push_str("</em>");
    }
    if to < chars.len() {
        out.push('…');
    }
    out
}

fn fold_char(c: char) -> char {
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        c => c,
    };
    c.to_ascii_lowercase()
}

fn escape_into(out: &mut String, c: char) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_are_marked_and_the_rest_escaped() {
        let needles = vec!["驾驶证".to_owned(), "驾驶".to_owned(), "补".to_owned()];
        assert_eq!(highlight("机动车驾驶证补证", &needles, 100), "机动车<em>驾驶证补</em>证");
        assert_eq!(highlight("<b>驾驶</b>", &needles, 100), "&lt;b&gt;<em>驾驶</em>&lt;/b&gt;");
        assert_eq!(highlight("ICP许可", &["icp".to_owned()], 100), "<em>ICP</em>许可");
        assert_eq!(highlight("无", &needles, 100), "无");
    }

    #[test]
    fn long_texts_are_cut_around_the_first_match() {
        let text = format!("{}驾驶证{}", "甲".repeat(50), "乙".repeat(50));
        let out = highlight(&text, &["驾驶证".to_owned()], 20);
        assert!(out.starts_with('…') && out.ends_with('…') && out.contains("<em>驾驶证</em>"), "{out}");
    }
}
