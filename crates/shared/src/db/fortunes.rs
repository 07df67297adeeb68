//! `/fortunes`: the stored rows, one added at request time, sorted by
//! message and rendered by a compiled template that escapes HTML.

use super::model::Fortune;
use super::seed::ADDED_FORTUNE;
use sailfish::TemplateSimple;

/// The page's template (`templates/fortunes.stpl`); `<%= %>` escapes
/// `&`, `<`, `>`, `"` and `'`.
#[derive(TemplateSimple)]
#[template(path = "fortunes.stpl")]
struct Page<'a> {
    fortunes: &'a [Fortune],
}

/// Adds the request-time fortune, sorts by message (byte order, as
/// TechEmpower's rules ask) and renders the HTML table.
pub fn render(mut fortunes: Vec<Fortune>) -> Result<String, sailfish::RenderError> {
    fortunes.push(Fortune {
        id: ADDED_FORTUNE.0,
        message: ADDED_FORTUNE.1.to_owned(),
    });
    fortunes.sort_unstable_by(|a, b| a.message.cmp(&b.message));
    Page {
        fortunes: &fortunes,
    }
    .render_once()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::db::seed::FORTUNES;

    fn seeded() -> Vec<Fortune> {
        FORTUNES
            .iter()
            .map(|&(id, message)| Fortune {
                id,
                message: message.to_owned(),
            })
            .collect()
    }

    #[test]
    fn the_script_fortune_is_escaped() {
        let page = render(seeded()).unwrap();
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains(
            "<td>&lt;script&gt;alert(&quot;This should not be displayed in a browser alert box.&quot;);&lt;/script&gt;</td>"
        ), "{page}");
        assert!(page.contains("<td>フレームワークのベンチマーク</td>"));
    }

    #[test]
    fn rows_are_sorted_by_message_with_the_added_one() {
        let page = render(seeded()).unwrap();
        let ids: Vec<&str> = page
            .split("<tr><td>")
            .skip(1)
            .map(|row| row.split("</td>").next().unwrap())
            .collect();
        // Byte order: '<' (11) sorts before the letters, the Japanese row last.
        assert_eq!(
            ids,
            ["11", "4", "5", "2", "8", "0", "3", "7", "10", "6", "9", "1", "12"]
        );
    }
}
