//! The dashboard page (`GET /`): one self-contained HTML file (inline CSS and JavaScript, SVG
//! drawn in the browser, nothing fetched from elsewhere) that loads the charts from the first
//! `snapshot` event of `/events` and appends the points of each `points` event, redrawing at
//! most a few times a second. `#points` counts the points received, `#updates` the `points`
//! events, `#status` shows the connection. `/?updates=N` stops listening after N `points`
//! events and `/?live=0` draws the current points once without listening (headless browsers
//! capture a page only once its network is idle).

/// The page's HTML.
pub const PAGE: &str = include_str!("page.html");

#[cfg(test)]
mod tests {
    use super::PAGE;

    #[test]
    fn the_page_is_self_contained() {
        assert!(PAGE.starts_with("<!doctype html>"));
        assert!(PAGE.contains("new EventSource(\"events\")"));
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
