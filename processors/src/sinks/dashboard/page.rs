//! The dashboard's pages, each one self-contained HTML file (inline CSS and JavaScript, SVG
//! drawn in the browser, nothing fetched from elsewhere).
//!
//! `GET /` loads the charts from the first `snapshot` message of its feed (the WebSocket `/ws`,
//! or `/events` over SSE) and appends the points of each `points` message, redrawing at most a
//! few times a second; it links the live tables of the stores. `#points` counts the points received, `#updates` the `points`
//! events, `#status` shows the connection. `/?updates=N` stops listening after N `points`
//! events and `/?live=0` draws the current points once without listening (headless browsers
//! capture a page only once its network is idle).

/// The page's HTML.
pub const PAGE: &str = include_str!("page.html");

/// `GET /stores/{name}`: a live table of a store, `GET /api/stores/{name}` read every second
/// (the first 1,000 entries), one row per entry with a column per field (object values are
/// spread over columns), rows updated in place.
pub const TABLE_PAGE: &str = include_str!("table.html");

#[cfg(test)]
mod tests {
    use super::{PAGE, TABLE_PAGE};

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
        assert!(PAGE.starts_with("<!doctype html>"));
        assert!(PAGE.contains("new EventSource(\"events\""));
        assert!(PAGE.contains("new WebSocket("));
        assert!(PAGE.contains("fetch(\"api/series\")"));
        assert!(PAGE.contains("id=\"points\""));
        for external in ["http://", "https://", "//cdn", "src=\""] {
            // The only URL is the SVG namespace.
            let uses = PAGE.matches(external).count();
            let allowed = usize::from(external == "http://");
            assert!(uses <= allowed, "{external} appears {uses} times");
        }
    }
}
