//! The dashboard's pages, each one self-contained HTML file (inline CSS and JavaScript, SVG
//! drawn in the browser, nothing fetched from elsewhere).
//!
//! `GET /` loads the charts from the first `snapshot` message of its feed (the WebSocket `/ws`,
//! or `/events` over SSE) and appends the points of each `points` message, redrawing at most a
//! few times a second; it links the live tables of the stores. It draws every panel kind:
//! lines over time (page.html), bars, pies, lines over categories and scatter plots
//! (panels.js). `#points` counts the points received, `#updates` the `points`
//! events, `#status` shows the connection. `/?updates=N` stops listening after N `points`
//! events and `/?live=0` draws the current points once without listening (headless browsers
//! capture a page only once its network is idle).

use std::sync::LazyLock;

/// Where page.html's script takes the panel-drawing code of panels.js.
const PANELS_AT: &str = "// @panels.js";

/// The page's HTML: page.html with panels.js (how bars, pies, lines over categories and
/// scatter plots are drawn) in its script.
pub fn chart_page() -> &'static str {
    static PAGE: LazyLock<String> = LazyLock::new(|| {
        include_str!("page.html").replacen(PANELS_AT, include_str!("panels.js"), 1)
    });
    &PAGE
}

/// `GET /stores/{name}`: a live table of a store, `GET /api/stores/{name}` read every second
/// (the first 1,000 entries), one row per entry with a column per field (object values are
/// spread over columns), rows updated in place.
pub const TABLE_PAGE: &str = include_str!("table.html");

#[cfg(test)]
mod tests {
    use super::{chart_page, PANELS_AT, TABLE_PAGE};

    #[test]
    fn the_table_page_is_self_contained() {
        assert!(TABLE_PAGE.starts_with("<!doctype html>"));
        assert!(TABLE_PAGE.contains("api/stores/"));
        for external in ["https://", "//cdn", "src=\""] {
            assert!(!TABLE_PAGE.contains(external), "{external}");
        }
    }

    #[test]
    fn the_page_is_self_contained() {
        let html = chart_page();
        assert!(html.starts_with("<!doctype html>"));
        assert!(!html.contains(PANELS_AT), "panels.js is in");
        assert!(
            html.contains("function drawScatterPanel(")
                && html.contains("function drawCategoryPanel(")
        );
        assert!(html.contains("new EventSource(\"events\""));
        assert!(html.contains("new WebSocket("));
        assert!(html.contains("fetch(\"api/series\")"));
        assert!(html.contains("id=\"points\""));
        for external in ["http://", "https://", "//cdn", "src=\""] {
            // The only URL is the SVG namespace.
            let uses = html.matches(external).count();
            let allowed = usize::from(external == "http://");
            assert!(uses <= allowed, "{external} appears {uses} times");
        }
    }
}
