//! Scenario server configuration: dotted keys with conf-syntax values, rendered as a
//! nats-server config file, or translated into a `skiff_core::Config` for the in-memory target.

use std::time::Duration;

use skiff_core::{Auth, Config, User};

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

/// Builds the core's configuration for a scenario. Keys the core target cannot express are
/// an error (the scenario is then skipped on that target).
pub fn core_config(config: &[(String, String)]) -> Result<Config, String> {
    let mut c = Config::default();
    let (mut user, mut password) = (None, None);
    for (key, value) in config {
        let v = value.trim_matches('"');
        match key.as_str() {
            "max_payload" => c.max_payload = size(v)?,
            "max_control_line" => c.max_control_line = size(v)?,
            "max_pending" => c.max_pending = size(v)?,
            "max_connections" => c.max_connections = size(v)?,
            "max_subscriptions" => c.max_subscriptions = size(v)?,
            "ping_max" => c.ping_max = size(v)? as u32,
            "ping_interval" => c.ping_interval = duration(v)?,
            "write_deadline" => c.write_deadline = duration(v)?,
            "no_header_support" => c.headers = v != "true",
            "authorization.timeout" => c.auth_timeout = duration(v)?,
            "authorization.token" => c.auth = Auth::Token(v.to_owned()),
            "authorization.user" => user = Some(v.to_owned()),
            "authorization.password" => password = Some(v.to_owned()),
            other => {
                return Err(format!(
                    "config key {other} is not supported by the core target"
                ));
            }
        }
    }
    match (user, password) {
        (Some(name), Some(password)) => c.auth = Auth::Users(vec![User { name, password }]),
        (None, None) => {}
        _ => return Err("authorization.user needs authorization.password".into()),
    }
    Ok(c)
}

fn size(v: &str) -> Result<usize, String> {
    let lower = v.to_ascii_lowercase();
    let (digits, mult) = if let Some(d) = lower.strip_suffix("kb") {
        (d, 1024)
    } else if let Some(d) = lower.strip_suffix("mb") {
        (d, 1024 * 1024)
    } else if let Some(d) = lower.strip_suffix('k') {
        (d, 1000)
    } else {
        (lower.as_str(), 1)
    };
    digits
        .trim()
        .parse::<usize>()
        .map(|n| n * mult)
        .map_err(|_| format!("bad size {v:?}"))
}

/// A conf duration: `"250ms"`, `"2s"`, or a bare number of seconds.
fn duration(v: &str) -> Result<Duration, String> {
    if let Ok(secs) = v.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    crate::scenario::parse_duration(v)
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
        assert_eq!(c.ping_interval, Duration::from_secs(1));
        assert!(c.auth.is_required());
        assert!(core_config(&pairs(&[("cluster.port", "1")])).is_err());
    }
}
