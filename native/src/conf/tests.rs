//! Tests for the configuration syntax.

use std::collections::HashMap;
use std::path::Path;

use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(text: &str) -> Result<Map, ConfError> {
    parse_str(text, Path::new("t.conf"), Path::new("."), &no_env)
}

fn parse_env(text: &str, vars: &[(&str, &str)]) -> Result<Map, ConfError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    parse_str(text, Path::new("t.conf"), Path::new("."), &|n| {
        vars.get(n).cloned()
    })
}

fn kind<'m>(map: &'m Map, key: &str) -> &'m Kind {
    &map.get(key)
        .unwrap_or_else(|| panic!("missing {key}"))
        .value
        .kind
}

fn s(v: &str) -> Kind {
    Kind::String(v.to_owned())
}

#[test]
fn separators_and_terminators() {
    let m = parse("a: 1\nb = 2\nc 3\nd: 4; e: 5, f: 6\n").unwrap();
    for (k, v) in [("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5), ("f", 6)] {
        assert_eq!(kind(&m, k), &Kind::Integer(v), "{k}");
    }
}

#[test]
fn comments() {
    let m = parse("# top\n// also\na: 1 # trailing\nb: 2 // trailing\nc: {\n # in map\n d: 3\n}\n")
        .unwrap();
    assert_eq!(kind(&m, "a"), &Kind::Integer(1));
    assert_eq!(kind(&m, "b"), &Kind::Integer(2));
    let Kind::Map(c) = kind(&m, "c") else {
        panic!()
    };
    assert_eq!(kind(c, "d"), &Kind::Integer(3));
}

#[test]
fn strings() {
    let m = parse(concat!(
        "a: bare\n",
        "b: \"dq \\\"x\\\" \\t\\n\\\\ \\x41\"\n",
        "c: 'sq \\n raw'\n",
        "d: \"$NOT_A_VAR\"\n",
        "e: 127.0.0.1:4222\n",
        "f: nats://host:4222\n",
        "g: (\nline one\n  line two\n)\n",
        "'h i': 1\n",
        "\"j\": 2\n",
        "k: $2a$11$abc\n",
    ))
    .unwrap();
    assert_eq!(kind(&m, "a"), &s("bare"));
    assert_eq!(kind(&m, "b"), &s("dq \"x\" \t\n\\ A"));
    assert_eq!(kind(&m, "c"), &s("sq \\n raw"));
    assert_eq!(kind(&m, "d"), &s("$NOT_A_VAR"));
    assert_eq!(kind(&m, "e"), &s("127.0.0.1:4222"));
    assert_eq!(kind(&m, "f"), &s("nats://host:4222"));
    assert_eq!(kind(&m, "g"), &s("\nline one\n  line two"));
    assert_eq!(kind(&m, "h i"), &Kind::Integer(1));
    assert_eq!(kind(&m, "j"), &Kind::Integer(2));
    assert_eq!(kind(&m, "k"), &s("$2a$11$abc"));
}

#[test]
fn scalars() {
    let m = parse(
        "a: 1k\nb: 2MB\nc: 2m\nd: 5s\ne: 1.5\nf: yes\ng: OFF\nh: 2006-01-02T15:04:05Z\ni: -1\n",
    )
    .unwrap();
    assert_eq!(kind(&m, "a"), &Kind::Integer(1000));
    assert_eq!(kind(&m, "b"), &Kind::Integer(2 << 20));
    assert_eq!(
        kind(&m, "c"),
        &Kind::Integer(2_000_000),
        "unquoted 2m is mega, not minutes"
    );
    assert_eq!(kind(&m, "d"), &s("5s"));
    assert_eq!(kind(&m, "e"), &Kind::Float(1.5));
    assert_eq!(kind(&m, "f"), &Kind::Bool(true));
    assert_eq!(kind(&m, "g"), &Kind::Bool(false));
    assert_eq!(
        kind(&m, "h"),
        &Kind::Datetime("2006-01-02T15:04:05Z".into())
    );
    assert_eq!(kind(&m, "i"), &Kind::Integer(-1));
}

#[test]
fn arrays_and_maps() {
    let m = parse(concat!(
        "a: [1, 2, 3]\n",
        "b: [\n  x\n  y, z\n  # comment\n]\n",
        "c: [ {user: u1, password: p1}, {user: u2, password: p2} ]\n",
        "d { e: { f: 1 } }\n",
        "g: []\n",
        "h: {}\n",
        "i: [1, 2 ]\n",
    ))
    .unwrap();
    let Kind::Array(a) = kind(&m, "a") else {
        panic!()
    };
    assert_eq!(
        a.iter().map(|v| v.kind.clone()).collect::<Vec<_>>(),
        [1, 2, 3].map(Kind::Integer)
    );
    let Kind::Array(b) = kind(&m, "b") else {
        panic!()
    };
    assert_eq!(
        b.iter().map(|v| v.kind.clone()).collect::<Vec<_>>(),
        [s("x"), s("y"), s("z")]
    );
    let Kind::Array(c) = kind(&m, "c") else {
        panic!()
    };
    let Kind::Map(u2) = &c[1].kind else { panic!() };
    assert_eq!(kind(u2, "password"), &s("p2"));
    let Kind::Map(d) = kind(&m, "d") else {
        panic!()
    };
    let Kind::Map(e) = kind(d, "e") else { panic!() };
    assert_eq!(kind(e, "f"), &Kind::Integer(1));
    assert_eq!(kind(&m, "g"), &Kind::Array(vec![]));
    assert_eq!(kind(&m, "h"), &Kind::Map(Map::new()));
    let Kind::Array(i) = kind(&m, "i") else {
        panic!()
    };
    assert_eq!(i.len(), 2);
}

#[test]
fn positions() {
    let m = parse("a: 1\n\n  b: {\n    c: \"x\"\n  }\n").unwrap();
    let a = m.get("a").unwrap();
    assert_eq!((a.key_pos.line, a.key_pos.col, a.value.pos.col), (1, 1, 4));
    let b = m.get("b").unwrap();
    assert_eq!((b.key_pos.line, b.key_pos.col), (3, 3));
    let Kind::Map(bm) = &b.value.kind else {
        panic!()
    };
    let c = bm.get("c").unwrap();
    assert_eq!((c.key_pos.line, c.key_pos.col, c.value.pos.col), (4, 5, 8));
    assert_eq!(c.key_pos.to_string(), "t.conf:4:5");
}

#[test]
fn last_value_wins() {
    let m = parse("a: 1\na: 2\n").unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(kind(&m, "a"), &Kind::Integer(2));
    assert_eq!(m.get("a").unwrap().key_pos.line, 2);
}

#[test]
fn variables_block_scoped() {
    let m = parse("A = 1\nb: $A\nc {\n  A = 2\n  d: $A\n}\ne: $A\nf: [$A]\n").unwrap();
    assert_eq!(kind(&m, "b"), &Kind::Integer(1));
    let Kind::Map(c) = kind(&m, "c") else {
        panic!()
    };
    assert_eq!(kind(c, "d"), &Kind::Integer(2));
    assert!(c.get("A").unwrap().referenced);
    assert_eq!(kind(&m, "e"), &Kind::Integer(1));
    assert!(m.get("A").unwrap().referenced);
    assert!(!m.get("b").unwrap().referenced);
    let Kind::Array(f) = kind(&m, "f") else {
        panic!()
    };
    assert_eq!(f[0].kind, Kind::Integer(1));
    // The value carries the position of the reference, not of the definition.
    assert_eq!(m.get("e").unwrap().value.pos.line, 7);
}

#[test]
fn variables_from_environment() {
    let m = parse_env(
        "a: $PORT\nb: $SIZE\nc: $NAME\nP = 1\nd: $P\n",
        &[
            ("PORT", "4222"),
            ("SIZE", "2MB"),
            ("NAME", "hello"),
            ("P", "ignored: scope wins"),
        ],
    )
    .unwrap();
    assert_eq!(kind(&m, "a"), &Kind::Integer(4222));
    assert_eq!(kind(&m, "b"), &Kind::Integer(2 << 20));
    assert_eq!(kind(&m, "c"), &s("hello"));
    assert_eq!(kind(&m, "d"), &Kind::Integer(1));
    assert_eq!(m.get("a").unwrap().value.pos.to_string(), "t.conf:1:4");
}

#[test]
fn environment_chains_and_cycles() {
    let m = parse_env("a: $A\n", &[("A", "$B"), ("B", "42")]).unwrap();
    assert_eq!(kind(&m, "a"), &Kind::Integer(42));
    let e = parse_env("x: 1\na: $A\n", &[("A", "$B"), ("B", "$A")]).unwrap_err();
    assert_eq!((e.line, e.col), (2, 4));
    assert!(e.message.contains("cycle"), "{e}");
    let e = parse_env("a: $A\n", &[("A", "$A")]).unwrap_err();
    assert!(e.message.contains("cycle"), "{e}");
}

#[test]
fn unknown_variable() {
    let e = parse("a: 1\nb: $NOPE\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.conf:2:4: variable reference for 'NOPE' can not be found"
    );
    // A reference before the definition is not found either (nats-server agrees).
    assert!(parse("b: $A\nA = 1\n").is_err());
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let cases: &[(&str, (u32, u32), &str)] = &[
        ("port: 4222 4333\n", (1, 12), "top-level value"),
        ("a: \"open\n", (1, 4), "unterminated string"),
        ("x: {\n a: 1\n", (1, 4), "end of file in map"),
        ("x: [1, 2\n", (1, 4), "end of file in array"),
        ("x: [1 2]\n", (1, 7), "array value terminator"),
        ("x: [, 1]\n", (1, 5), "','"),
        ("a:\n", (1, 3), "new line"),
        ("a: .5\n", (1, 4), "digit"),
        ("a: \"\\q\"\n", (1, 6), "escape"),
        ("a: 99999999999999999999\n", (1, 4), "out of the range"),
        ("x { a: 1 b: 2 }\n", (1, 10), "map value terminator"),
        ("a: (\nno end\n", (1, 4), "block"),
    ];
    for (text, (line, col), needle) in cases {
        let e = parse(text).unwrap_err();
        assert_eq!((e.line, e.col), (*line, *col), "{text:?}: {e}");
        assert!(e.message.contains(needle), "{text:?}: {e}");
        assert!(
            e.to_string().starts_with(&format!("t.conf:{line}:{col}: ")),
            "{e}"
        );
    }
}

#[test]
fn nesting_up_to_the_limit_parses() {
    let inner = format!("{}x: 1{}", "a { ".repeat(MAX_DEPTH), " }".repeat(MAX_DEPTH));
    assert!(parse(&inner).is_ok(), "{:?}", parse(&inner).err());
    let arrays = format!("a: {}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(parse(&arrays).is_ok(), "{:?}", parse(&arrays).err());
}

#[test]
fn nesting_past_the_limit_is_an_error_at_its_position() {
    // The inputs of issue 9: unterminated and terminated, maps and arrays, far past the limit.
    for text in [
        "a { ".repeat(8000),
        format!("{}{}", "a { ".repeat(2000), "}".repeat(2000)),
        format!("a = {}", "[".repeat(50_000)),
        format!("a = {}{}", "[".repeat(50_000), "]".repeat(50_000)),
        format!(
            "a: {}1{}",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        ),
        format!("x {}", "{ a: [ ".repeat(5000)),
    ] {
        let e = parse(&text).unwrap_err();
        assert!(e.message.contains("too deeply nested"), "{e}");
        assert_eq!(e.line, 1);
        assert!(e.to_string().starts_with("t.conf:1:"), "{e}");
    }
    let e = parse(&format!("a: {}", "[".repeat(MAX_DEPTH + 1))).unwrap_err();
    assert_eq!(e.col as usize, 4 + MAX_DEPTH, "{e}");
}

#[test]
fn nesting_counts_environment_variables() {
    let deep = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    let e = parse_env("a: $DEEP", &[("DEEP", &deep)]).unwrap_err();
    assert!(e.message.contains("too deeply nested"), "{e}");
    assert!(parse_env("a: $DEEP", &[("DEEP", "[[1]]")]).is_ok());
}

#[test]
fn crlf_line_endings() {
    let m = parse("a: 1\r\nb: [1,\r\n 2]\r\nc { d: x\r\n}\r\n").unwrap();
    assert_eq!(kind(&m, "a"), &Kind::Integer(1));
    let Kind::Map(c) = kind(&m, "c") else {
        panic!()
    };
    assert_eq!(kind(c, "d"), &s("x"));
}

mod files {
    use super::*;

    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("skiff-conf-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
        fn write(&self, name: &str, text: &str) -> std::path::PathBuf {
            let path = self.0.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn include_relative_to_including_file() {
        let dir = TempDir::new("inc");
        dir.write(
            "sub/users.conf",
            "users: [ {user: a, password: b} ]\ninclude 'more.conf'\n",
        );
        dir.write("sub/more.conf", "timeout: 3\n");
        let main = dir.write(
            "main.conf",
            "port: 1\nauthorization {\n  include ./sub/users.conf\n}\n",
        );
        let m = parse_file_with_env(&main, &no_env).unwrap();
        let Kind::Map(auth) = kind(&m, "authorization") else {
            panic!()
        };
        assert_eq!(kind(auth, "timeout"), &Kind::Integer(3));
        let users = auth.get("users").unwrap();
        assert!(users.key_pos.file.ends_with("sub/users.conf"));
        assert_eq!(users.key_pos.line, 1);
    }

    #[test]
    fn include_errors() {
        let dir = TempDir::new("incerr");
        dir.write("bad.conf", "ok: 1\nbroken: [\n");
        let main = dir.write("main.conf", "a: 1\ninclude bad.conf\n");
        let e = parse_file_with_env(&main, &no_env).unwrap_err();
        assert!(e.file.as_ref().unwrap().ends_with("bad.conf"), "{e}");
        assert_eq!(e.line, 2);

        let main = dir.write("missing.conf", "a: 1\ninclude nope.conf\n");
        let e = parse_file_with_env(&main, &no_env).unwrap_err();
        assert!(e.file.as_ref().unwrap().ends_with("missing.conf"), "{e}");
        assert_eq!(e.line, 2);
        assert!(
            e.message.contains("error parsing include file 'nope.conf'"),
            "{e}"
        );
    }

    #[test]
    fn include_cycle() {
        let dir = TempDir::new("cycle");
        dir.write("a.conf", "include b.conf\n");
        dir.write("b.conf", "include a.conf\n");
        let e = parse_file_with_env(&dir.0.join("a.conf"), &no_env).unwrap_err();
        assert!(e.message.contains("include cycle"), "{e}");
    }

    #[test]
    fn missing_file() {
        let e = parse_file(Path::new("/nonexistent/skiff.conf")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/skiff.conf: error opening config file"),
            "{e}"
        );
    }
}

#[test]
fn doubling_references_stop_at_the_expansion_limit() {
    let mut text = String::from("a0: [ 1, 1 ]\n");
    for i in 1..40 {
        text.push_str(&format!("a{i}: [ $a{}, $a{} ]\n", i - 1, i - 1));
    }
    let e = parse(&text).unwrap_err();
    assert!(
        e.message.contains("variable references copy too much"),
        "{e}"
    );
    assert!(e.to_string().starts_with("t.conf:"), "{e}");
    // Ordinary reuse is far below the limit.
    let m = parse("big: [ 1, 2, 3 ]\na: $big\nb: $big\nc { d: $big }\n").unwrap();
    assert_eq!(kind(&m, "b"), kind(&m, "big"));
}
