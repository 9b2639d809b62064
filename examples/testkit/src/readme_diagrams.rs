//! The topology pictures in an example's README are those of the real topologies: each
//! `<!-- topology: NAME -->` marker is followed by a ```` ```mermaid ```` block that must equal
//! `to_mermaid()` of the topology NAME. With `WEIR_WRITE_DIAGRAMS` set, the check rewrites the
//! blocks instead (after a topology changed).

use crate::files::workspace_root;
use std::path::Path;

/// The environment variable that turns the check into a rewrite of the README.
pub const WRITE_VARIABLE: &str = "WEIR_WRITE_DIAGRAMS";

/// The line that names the topology whose picture follows.
const MARKER_START: &str = "<!-- topology: ";
const MARKER_END: &str = " -->";
const BLOCK_START: &str = "```mermaid";
const BLOCK_END: &str = "```";

/// Checks that the README at `readme` shows, after each `<!-- topology: NAME -->` marker, the
/// mermaid diagram that `diagrams` gives for NAME, and that it has a marker for every diagram;
/// with `WEIR_WRITE_DIAGRAMS` set, writes the README with the diagrams in place instead.
/// Panics (failing the test) on any difference, naming the variable that fixes it.
#[allow(clippy::panic)]
pub fn assert_current(readme: &Path, diagrams: &[(&str, String)]) {
    let shown = shown_path(readme);
    let text =
        std::fs::read_to_string(readme).unwrap_or_else(|e| panic!("cannot read {shown}: {e}"));
    let expected = with_diagrams(&text, diagrams).unwrap_or_else(|e| panic!("{shown}: {e}"));
    assert_eq!(
        text.matches(MARKER_START).count(),
        diagrams.len(),
        "{shown} has a topology marker for each diagram"
    );
    if std::env::var_os(WRITE_VARIABLE).is_some() {
        std::fs::write(readme, &expected).unwrap_or_else(|e| panic!("cannot write {shown}: {e}"));
    } else {
        assert!(
            text == expected,
            "{shown} shows outdated topologies: rerun this test with {WRITE_VARIABLE}=1 to \
             rewrite them"
        );
    }
}

/// `readme`'s text with the mermaid block after each `<!-- topology: NAME -->` marker replaced
/// by the diagram `diagrams` gives for NAME (which ends in a newline, as `to_mermaid()` does).
/// Errors name a marker without a diagram, or one not followed by a mermaid block.
pub fn with_diagrams(readme: &str, diagrams: &[(&str, String)]) -> Result<String, String> {
    let mut out = String::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        out.push_str(line);
        out.push('\n');
        let Some(name) = line
            .strip_prefix(MARKER_START)
            .and_then(|l| l.strip_suffix(MARKER_END))
        else {
            continue;
        };
        let (_, diagram) = diagrams
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| format!("no topology named {name}"))?;
        if lines.next() != Some(BLOCK_START) {
            return Err(format!("a mermaid block does not follow {line}"));
        }
        for old in lines.by_ref() {
            if old == BLOCK_END {
                break;
            }
        }
        out.push_str(BLOCK_START);
        out.push('\n');
        out.push_str(diagram);
        out.push_str(BLOCK_END);
        out.push('\n');
    }
    Ok(out)
}

/// `path` relative to the repository's root when it is below it (as messages show it).
fn shown_path(path: &Path) -> String {
    let root = workspace_root();
    let relative = match (root.canonicalize(), path.canonicalize()) {
        (Ok(root), Ok(path)) => path.strip_prefix(&root).map(Path::to_path_buf).ok(),
        _ => None,
    };
    relative
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const README: &str = "# Title\n\
        <!-- topology: one -->\n\
        ```mermaid\n\
        old\n\
        lines\n\
        ```\n\
        text between\n\
        <!-- topology: two -->\n\
        ```mermaid\n\
        ```\n\
        the end\n";

    fn diagrams() -> Vec<(&'static str, String)> {
        vec![
            ("two", "flowchart LR\n  b\n".to_string()),
            ("one", "flowchart LR\n  a\n".to_string()),
        ]
    }

    #[test]
    fn each_marked_block_is_replaced_by_its_diagram() {
        let out = with_diagrams(README, &diagrams()).unwrap();
        assert_eq!(
            out,
            "# Title\n<!-- topology: one -->\n```mermaid\nflowchart LR\n  a\n```\n\
             text between\n<!-- topology: two -->\n```mermaid\nflowchart LR\n  b\n```\nthe end\n"
        );
        assert_eq!(with_diagrams(&out, &diagrams()).unwrap(), out);
    }

    #[test]
    fn unmarked_blocks_stay() {
        let readme = "```mermaid\nmine\n```\n";
        assert_eq!(with_diagrams(readme, &diagrams()).unwrap(), readme);
    }

    #[test]
    fn a_marker_without_a_diagram_or_a_block_is_an_error() {
        let unknown = with_diagrams("<!-- topology: three -->\n```mermaid\n```\n", &diagrams());
        assert_eq!(unknown.unwrap_err(), "no topology named three");
        let no_block = with_diagrams("<!-- topology: one -->\ntext\n", &diagrams());
        assert!(no_block
            .unwrap_err()
            .contains("a mermaid block does not follow"));
    }

    #[test]
    fn a_current_readme_passes_and_an_outdated_one_fails() {
        if std::env::var_os(WRITE_VARIABLE).is_some() {
            return; // the check would rewrite the file instead of failing
        }
        let dir = crate::fresh_dir("testkit-readme");
        let path = dir.join("README.md");
        std::fs::write(&path, with_diagrams(README, &diagrams()).unwrap()).unwrap();
        assert_current(&path, &diagrams());
        std::fs::write(&path, README).unwrap();
        let outdated = std::panic::catch_unwind(|| assert_current(&path, &diagrams()));
        std::fs::remove_dir_all(&dir).unwrap();
        let message = outdated.unwrap_err();
        let message = message.downcast_ref::<String>().unwrap();
        assert!(message.contains("WEIR_WRITE_DIAGRAMS=1"), "{message}");
    }
}
