//! Parsed configuration values, each tagged with where it came from.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Where a key or value starts: file, 1-based line and 1-based column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pos {
    /// The file the text was read from (a label such as `<env FOO>` for non-file sources).
    pub file: Arc<Path>,
    /// Line number, starting at 1.
    pub line: u32,
    /// Column number (in characters), starting at 1.
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

/// One configuration value and its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// What the value is.
    pub kind: Kind,
    /// Where the value starts.
    pub pos: Pos,
}

/// The kinds of value the syntax can express.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A bare, `"double"`, `'single'` or `( block )` string.
    String(String),
    /// An integer, after applying any size suffix (`1k`, `2MB`, unquoted `2m` = 2,000,000).
    Integer(i64),
    /// A floating-point number such as `1.5`.
    Float(f64),
    /// `true`/`yes`/`on` or `false`/`no`/`off` (any case).
    Bool(bool),
    /// An ISO-8601 Zulu datetime (`2006-01-02T15:04:05Z`), kept as written.
    Datetime(String),
    /// `[ a, b ]`.
    Array(Vec<Value>),
    /// `{ key: value }`.
    Map(Map),
}

impl Kind {
    /// Roughly how many bytes of memory a copy of this value takes: what a `$variable`
    /// reference copies.
    pub fn weight(&self) -> usize {
        let own = std::mem::size_of::<Value>();
        match self {
            Self::String(s) | Self::Datetime(s) => own + s.len(),
            Self::Integer(_) | Self::Float(_) | Self::Bool(_) => own,
            Self::Array(items) => own + items.iter().map(|v| v.kind.weight()).sum::<usize>(),
            Self::Map(map) => {
                own + map
                    .entries()
                    .iter()
                    .map(|e| std::mem::size_of::<Entry>() + e.key.len() + e.value.kind.weight())
                    .sum::<usize>()
            }
        }
    }

    /// A short name for error messages: "string", "integer", ...
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::String(_) => "string",
            Self::Integer(_) => "integer",
            Self::Float(_) => "float",
            Self::Bool(_) => "boolean",
            Self::Datetime(_) => "datetime",
            Self::Array(_) => "array",
            Self::Map(_) => "map",
        }
    }
}

/// One `key: value` pair of a map.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key as written (without quotes).
    pub key: String,
    /// Where the key starts; errors about the entry point here, as nats-server's do.
    pub key_pos: Pos,
    /// The value.
    pub value: Value,
    /// Whether a `$key` reference used this entry as a variable. nats-server skips such
    /// entries when it checks for unknown fields, so `NAME = x` plus `$NAME` is not an error.
    pub referenced: bool,
}

/// A map in file order. Setting a key twice keeps the last value (as nats-server does).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map {
    entries: Vec<Entry>,
}

impl Map {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `entry.key`, replacing an earlier entry with the same key in place.
    pub fn insert(&mut self, entry: Entry) {
        match self.entries.iter_mut().find(|e| e.key == entry.key) {
            Some(slot) => *slot = entry,
            None => self.entries.push(entry),
        }
    }

    /// The entry for `key`, if any (exact, case-sensitive match).
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// Mutable access to the entry for `key`.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.key == key)
    }

    /// The entries in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl IntoIterator for Map {
    type Item = Entry;
    type IntoIter = std::vec::IntoIter<Entry>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}
