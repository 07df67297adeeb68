//! The rows of an HTML table, as a browser shows them: each `<tr>`'s
//! `<th>`/`<td>` cells, tags inside a cell dropped, entities decoded and
//! whitespace trimmed. Enough to compare a rendered page with the contract
//! whatever the template engine's spacing or escaping style (`&#39;`,
//! `&#x27;`, `&apos;` all read as `'`).

/// The cell texts of every row, in order.
pub fn table_rows(html: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for row in split_elements(html, "tr") {
        let mut cells = Vec::new();
        let mut rest = row;
        while let Some((cell, after)) = next_cell(rest) {
            cells.push(decode(strip_tags(cell).trim()));
            rest = after;
        }
        rows.push(cells);
    }
    rows
}

/// The inner text of each `<name …>…</name>` (case-insensitive).
fn split_elements<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let lower = html.to_ascii_lowercase();
    let (open, close) = (format!("<{name}"), format!("</{name}>"));
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find(&open).map(|i| i + at) {
        let after_name = start + open.len();
        let boundary = lower[after_name..].chars().next();
        if !matches!(boundary, Some('>' | ' ' | '\t' | '\n' | '\r' | '/')) {
            at = after_name;
            continue;
        }
        let Some(body) = lower[start..].find('>').map(|i| start + i + 1) else {
            break;
        };
        let end = lower[body..].find(&close).map_or(html.len(), |i| body + i);
        out.push(&html[body..end]);
        at = end;
    }
    out
}

/// The first `<td>` or `<th>` cell of `html` and what follows it.
fn next_cell(html: &str) -> Option<(&str, &str)> {
    let lower = html.to_ascii_lowercase();
    let start = ["<td", "<th"].iter().filter_map(|t| lower.find(t)).min()?;
    let body = lower[start..].find('>')? + start + 1;
    let end = ["</td>", "</th>"]
        .iter()
        .filter_map(|t| lower[body..].find(t))
        .min()
        .map_or(html.len(), |i| body + i);
    Some((&html[body..end], &html[(end + 5).min(html.len())..]))
}

/// The text with `<…>` tags removed.
fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Decodes the five XML entities, `&nbsp;` and numeric references; any
/// other `&` is kept as it is.
pub fn decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let entity = rest[1..].find(';').map(|j| &rest[1..=j]);
        let decoded = entity.and_then(|e| match e {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => {
                let n = e.strip_prefix('#')?;
                let code = match n.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => n.parse().ok()?,
                };
                char::from_u32(code)
            }
        });
        match (entity, decoded) {
            (Some(e), Some(c)) => {
                out.push(c);
                rest = &rest[e.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_the_same_whatever_the_spacing_and_escaping() {
        let compact = "<table><tr><th>id</th><th>message</th></tr><tr><td>11</td><td>&lt;script&gt;alert(&quot;x&quot;);&lt;/script&gt;</td></tr></table>";
        let spaced = "<TABLE>\n <tr>\n  <th>id</th>\n  <th>message</th>\n </tr>\n <tr class=\"r\">\n  <td> 11 </td>\n  <td>&#60;script&#x3E;alert(&#34;x&quot;);&lt;/script&gt;</td>\n </tr>\n</TABLE>";
        let want = vec![
            vec!["id".to_string(), "message".to_string()],
            vec![
                "11".to_string(),
                "<script>alert(\"x\");</script>".to_string(),
            ],
        ];
        assert_eq!(table_rows(compact), want);
        assert_eq!(table_rows(spaced), want);
    }

    #[test]
    fn entities_decode_and_stray_ampersands_stay() {
        assert_eq!(
            decode("a &amp; b &#39;c&#x27; &apos;d&apos;"),
            "a & b 'c' 'd'"
        );
        assert_eq!(
            decode("fish & chips &bogus; &#xZZ;"),
            "fish & chips &bogus; &#xZZ;"
        );
        assert_eq!(decode("フレームワーク"), "フレームワーク");
    }

    #[test]
    fn a_tr_prefix_of_another_tag_is_not_a_row() {
        assert_eq!(
            table_rows("<track></track><tr><td>1</td></tr>"),
            vec![vec!["1".to_string()]]
        );
    }
}
