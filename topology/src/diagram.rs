//! Pictures of a topology: [`Topology::to_mermaid`] (GitHub renders it in Markdown) and
//! [`Topology::to_dot`] (Graphviz). Both draw one picture, built once by [`picture`]: a box per
//! sub-topology holding its nodes, the topics and connectors outside (a repartition topic links
//! the sub-topology that writes it to the one that reads it), and each store beside its users.

use crate::graph::{endpoint_name, NodeRole, Topology};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// How a vertex is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A processor, source or sink node.
    Node,
    /// A topic or connector the topology reads or writes.
    Topic,
    /// A state store.
    Store,
}

#[derive(Debug)]
struct Vertex {
    id: String,
    label: String,
    shape: Shape,
}

#[derive(Debug)]
struct Edge {
    from: String,
    to: String,
    /// The output port, for nodes with several (branches, late records).
    label: Option<String>,
    /// A store access rather than a record flow.
    dashed: bool,
}

/// Everything both renderers draw.
#[derive(Debug, Default)]
struct Picture {
    /// Per sub-topology: its title and the vertices inside its box.
    clusters: Vec<(String, Vec<Vertex>)>,
    /// Topics, connectors and stores, outside the boxes.
    outside: Vec<Vertex>,
    edges: Vec<Edge>,
}

fn picture(topology: &Topology) -> Picture {
    let mut pic = Picture::default();
    let mut topics: BTreeMap<String, String> = BTreeMap::new();
    let mut topic_id = |name: String, outside: &mut Vec<Vertex>| -> String {
        let next = format!("t{}", topics.len());
        topics
            .entry(name.clone())
            .or_insert_with(|| {
                outside.push(Vertex {
                    id: next.clone(),
                    label: name,
                    shape: Shape::Topic,
                });
                next
            })
            .clone()
    };
    let store_id = |name: &str| -> String {
        let at = topology.stores.iter().position(|s| s.name() == name);
        format!("s{}", at.unwrap_or(usize::MAX))
    };
    for store in &topology.stores {
        pic.outside.push(Vertex {
            id: store_id(store.name()),
            label: store.name().to_string(),
            shape: Shape::Store,
        });
    }
    for sub in &topology.subtopologies {
        let mut inside = Vec::new();
        for &i in &sub.nodes {
            let node = &topology.nodes[i];
            let id = format!("n{i}");
            let kind = match &node.role {
                NodeRole::Source { endpoint, .. } => {
                    let topic = topic_id(endpoint_name(endpoint), &mut pic.outside);
                    pic.edges.push(edge(topic, id.clone(), None));
                    "SOURCE"
                }
                NodeRole::Sink { endpoint, .. } => {
                    let topic = topic_id(endpoint_name(endpoint), &mut pic.outside);
                    pic.edges.push(edge(id.clone(), topic, None));
                    "SINK"
                }
                NodeRole::Processor => node.operator,
            };
            for (parent, port) in &node.parents {
                pic.edges
                    .push(edge(format!("n{parent}"), id.clone(), port.clone()));
            }
            for store in &node.stores {
                pic.edges.push(Edge {
                    from: id.clone(),
                    to: store_id(store),
                    label: None,
                    dashed: true,
                });
            }
            inside.push(Vertex {
                label: format!("{}\n{kind}", node.name),
                id,
                shape: Shape::Node,
            });
        }
        pic.clusters
            .push((format!("Sub-topology {}", sub.id), inside));
    }
    pic
}

fn edge(from: String, to: String, label: Option<String>) -> Edge {
    Edge {
        from,
        to,
        label,
        dashed: false,
    }
}

/// A Mermaid label: quoted, with quotes as entities and line breaks as `<br/>`.
fn mermaid_label(text: &str) -> String {
    let escaped = text
        .replace('&', "#amp;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
        .replace('\n', "<br/>");
    format!("\"{escaped}\"")
}

fn mermaid_vertex(v: &Vertex) -> String {
    let label = mermaid_label(&v.label);
    match v.shape {
        Shape::Node => format!("{}[{label}]", v.id),
        Shape::Topic => format!("{}[/{label}/]", v.id),
        Shape::Store => format!("{}[({label})]", v.id),
    }
}

/// A DOT string literal.
fn dot_label(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

fn dot_vertex(v: &Vertex) -> String {
    let shape = match v.shape {
        Shape::Node => "box",
        Shape::Topic => "parallelogram",
        Shape::Store => "cylinder",
    };
    format!("{} [label={}, shape={shape}];", v.id, dot_label(&v.label))
}

impl Topology {
    /// The topology as a Mermaid flowchart (GitHub renders a ```` ```mermaid ```` block): a box
    /// per sub-topology, topics and connectors as parallelograms, stores as cylinders joined to
    /// their processors by dotted lines.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("words", StringSerde, StringSerde))
    ///     .group_by(|_, word| word.clone())
    ///     .count("counts")
    ///     .to_stream()
    ///     .to(Sink::topic("word-counts", StringSerde, JsonSerde::<u64>::new()));
    /// let mermaid = builder.build()?.to_mermaid();
    /// assert!(mermaid.starts_with("flowchart LR\n"));
    /// assert!(mermaid.contains("subgraph sub1[\"Sub-topology 1\"]"));
    /// assert!(mermaid.contains("[/\"counts-repartition\"/]")); // links the two sub-topologies
    /// assert!(mermaid.contains("[(\"counts\")]"));
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn to_mermaid(&self) -> String {
        let pic = picture(self);
        let mut out = String::from("flowchart LR\n");
        for (i, (title, inside)) in pic.clusters.iter().enumerate() {
            let _ = writeln!(out, "  subgraph sub{i}[{}]", mermaid_label(title));
            for v in inside {
                let _ = writeln!(out, "    {}", mermaid_vertex(v));
            }
            out.push_str("  end\n");
        }
        for v in &pic.outside {
            let _ = writeln!(out, "  {}", mermaid_vertex(v));
        }
        for e in &pic.edges {
            let arrow = match (&e.label, e.dashed) {
                (_, true) => "-.-".to_string(),
                (Some(port), false) => format!("-- {} -->", mermaid_label(port)),
                (None, false) => "-->".to_string(),
            };
            let _ = writeln!(out, "  {} {arrow} {}", e.from, e.to);
        }
        out
    }

    /// The topology as a Graphviz DOT digraph (`dot -Tsvg`): the same picture as
    /// [`Topology::to_mermaid`], sub-topologies as clusters.
    ///
    /// ```
    /// # use weir_topology::prelude::*;
    /// let builder = TopologyBuilder::new();
    /// builder
    ///     .stream(Source::topic("in", StringSerde, StringSerde))
    ///     .filter(|_, v| !v.is_empty())
    ///     .to(Sink::topic("out", StringSerde, StringSerde));
    /// let dot = builder.build()?.to_dot();
    /// assert!(dot.starts_with("digraph topology {"));
    /// assert!(dot.contains("subgraph cluster_0 {"));
    /// assert!(dot.contains("[label=\"in\", shape=parallelogram];"));
    /// # Ok::<(), weir_topology::TopologyError>(())
    /// ```
    pub fn to_dot(&self) -> String {
        let pic = picture(self);
        let mut out = String::from("digraph topology {\n  rankdir=LR;\n");
        for (i, (title, inside)) in pic.clusters.iter().enumerate() {
            let _ = writeln!(out, "  subgraph cluster_{i} {{");
            let _ = writeln!(out, "    label={};", dot_label(title));
            for v in inside {
                let _ = writeln!(out, "    {}", dot_vertex(v));
            }
            out.push_str("  }\n");
        }
        for v in &pic.outside {
            let _ = writeln!(out, "  {}", dot_vertex(v));
        }
        for e in &pic.edges {
            let mut attrs = Vec::new();
            if let Some(port) = &e.label {
                attrs.push(format!("label={}", dot_label(port)));
            }
            if e.dashed {
                attrs.push("style=dashed, arrowhead=none".to_string());
            }
            let attrs = if attrs.is_empty() {
                String::new()
            } else {
                format!(" [{}]", attrs.join(", "))
            };
            let _ = writeln!(out, "  {} -> {}{attrs};", e.from, e.to);
        }
        out.push_str("}\n");
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::prelude::*;
    use crate::BranchPredicate;

    /// in -> branch(a, rest) -> two sinks; plus a counted repartitioned stream.
    fn topology() -> Topology {
        let builder = TopologyBuilder::new();
        let input = builder.stream(Source::topic("in", StringSerde, StringSerde));
        let a: BranchPredicate<String, String> = Box::new(|_, v: &String| v.starts_with('a'));
        let rest: BranchPredicate<String, String> = Box::new(|_, _| true);
        let branches = input.branch(vec![a, rest]);
        branches[0].to(Sink::topic("a \"quoted\"", StringSerde, StringSerde));
        branches[1].to(Sink::topic("rest", StringSerde, StringSerde));
        input
            .group_by(|_, v| v.clone())
            .count("counts")
            .to_stream()
            .to(Sink::topic(
                "counts-out",
                StringSerde,
                JsonSerde::<u64>::new(),
            ));
        builder.build().unwrap()
    }

    #[test]
    fn mermaid_has_every_node_topic_store_and_edge() {
        let t = topology();
        let m = t.to_mermaid();
        let nodes = t.nodes.len();
        for i in 0..nodes {
            assert!(
                m.contains(&format!("    n{i}[\"")),
                "node {i} missing:\n{m}"
            );
        }
        // Topics once each, though `counts-repartition` is written and read.
        assert_eq!(m.matches("[/\"counts-repartition\"/]").count(), 1, "{m}");
        assert!(m.contains("[/\"a #quot;quoted#quot;\"/]"), "{m}");
        assert!(m.contains("-- \"branch-0\" -->"), "{m}");
        assert!(m.contains("-.- s0"), "{m}");
        let flows = t.nodes.iter().map(|n| n.parents.len()).sum::<usize>();
        let topic_edges = t
            .nodes
            .iter()
            .filter(|n| !matches!(n.role, crate::graph::NodeRole::Processor))
            .count();
        let edges = m.lines().filter(|l| l.contains("-->") || l.contains("-.-"));
        assert_eq!(edges.count(), flows + topic_edges + 1, "{m}");
        assert_eq!(m.matches("subgraph").count(), t.subtopologies.len());
    }

    #[test]
    fn dot_is_balanced_and_escaped() {
        let d = topology().to_dot();
        assert_eq!(d.matches('{').count(), d.matches('}').count(), "{d}");
        assert!(
            d.contains(r#"label="a \"quoted\"", shape=parallelogram"#),
            "{d}"
        );
        assert!(d.contains("[label=\"branch-1\"]"), "{d}");
        assert!(d.contains("style=dashed"), "{d}");
        assert!(d.trim_end().ends_with('}'));
    }
}
