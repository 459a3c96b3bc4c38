//! Scenario server configuration: dotted keys with conf-syntax values, rendered as a
//! nats-server config file, or translated into a `skiff_core::Config` for the in-memory target.

use skiff_core::Config;

/// Renders `key = value` pairs as nats-server conf text; `a.b = v` becomes `a { b: v }`.
pub fn render_conf(config: &[(String, String)]) -> String {
    #[derive(Default)]
    struct Block {
        entries: Vec<(String, Entry)>,
    }
    enum Entry {
        Value(String),
        Block(Block),
    }
    fn insert(block: &mut Block, path: &[&str], value: &str) {
        let (first, rest) = path.split_first().expect("keys are never empty");
        if rest.is_empty() {
            block
                .entries
                .push(((*first).to_owned(), Entry::Value(value.to_owned())));
            return;
        }
        let pos = block
            .entries
            .iter()
            .position(|(k, e)| k == first && matches!(e, Entry::Block(_)));
        let pos = pos.unwrap_or_else(|| {
            block
                .entries
                .push(((*first).to_owned(), Entry::Block(Block::default())));
            block.entries.len() - 1
        });
        if let Entry::Block(inner) = &mut block.entries[pos].1 {
            insert(inner, rest, value);
        }
    }
    fn write(block: &Block, indent: usize, out: &mut String) {
        for (key, entry) in &block.entries {
            let pad = "  ".repeat(indent);
            match entry {
                Entry::Value(v) => out.push_str(&format!("{pad}{key}: {v}\n")),
                Entry::Block(inner) => {
                    out.push_str(&format!("{pad}{key} {{\n"));
                    write(inner, indent + 1, out);
                    out.push_str(&format!("{pad}}}\n"));
                }
            }
        }
    }
    let mut root = Block::default();
    for (key, value) in config {
        let path: Vec<&str> = key.split('.').collect();
        insert(&mut root, &path, value);
    }
    let mut out = String::new();
    write(&root, 0, &mut out);
    out
}

/// Builds the core's configuration for a scenario: the rendered config file goes through the
/// daemon's own config parser (`skiff::options`), so the core target understands exactly what
/// `skiff -c` does. A key the daemon refuses is an error (the scenario is then skipped).
pub fn core_config(config: &[(String, String)]) -> Result<Config, String> {
    let text = render_conf(config);
    let origin = std::path::Path::new("scenario.conf");
    let map = skiff::conf::parse_str(&text, origin, std::path::Path::new("."), &|_| None)
        .map_err(|e| e.to_string())?;
    let mut options = skiff::options::Options::default();
    options.apply_conf(&map).map_err(|e| e.to_string())?;
    Ok(options.config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn renders_nested_blocks() {
        let text = render_conf(&pairs(&[
            ("max_payload", "10"),
            ("authorization.token", "\"s3cret\""),
            ("authorization.timeout", "1"),
        ]));
        assert_eq!(
            text,
            "max_payload: 10\nauthorization {\n  token: \"s3cret\"\n  timeout: 1\n}\n"
        );
    }

    #[test]
    fn core_config_maps_known_keys() {
        let c = core_config(&pairs(&[
            ("max_payload", "1KB"),
            ("ping_interval", "\"1s\""),
            ("authorization.user", "derek"),
            ("authorization.password", "pw"),
        ]))
        .unwrap();
        assert_eq!(c.max_payload, 1024);
        assert_eq!(c.ping_interval, std::time::Duration::from_secs(1));
        assert!(c.auth.is_required());
        assert!(core_config(&pairs(&[("tls.cert_file", "x")])).is_err());
    }
}
