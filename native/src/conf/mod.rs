//! nats-server's configuration-file syntax: lexing, parsing, includes and variables.
//!
//! The syntax (nats-server `conf/lex.go`, `conf/parse.go`; see §11.1 of the behaviour notes):
//!
//! - `key: value`, `key = value` or `key value`; keys bare or quoted.
//! - `#` and `//` comments; a value ends at a new line, `;` or `,`.
//! - maps `{ … }`, arrays `[ … ]` (items separated by `,` or new lines).
//! - strings bare, `"double"` (escapes `\t \n \r \" \\ \xHH`), `'single'` (raw), or a
//!   `( … )` block whose `)` stands alone on a line.
//! - integers with case-insensitive size suffixes (`k` = 1000, `kb`/`ki`/`kib` = 1024, `m`,
//!   `mb`, `g`, `gb`, `t`, `tb`, `p`, `pb`, `e`, `eb`), floats, booleans
//!   (`true/yes/on`, `false/no/off`), Zulu datetimes.
//! - `include ./other.conf`, resolved against the including file's directory; its keys are
//!   merged into the enclosing map. Include cycles are errors.
//! - variables: any key defined earlier in an enclosing map (innermost first) is available as
//!   `$NAME`, then environment variables (whose text is parsed as a value). `"$NAME"` in quotes
//!   is a literal string, and so is an unquoted bcrypt hash (`$2a$…`). Environment variables
//!   that refer to each other in a loop are reported as a cycle.
//!
//! Quirks reproduced: unquoted `2m` is the integer 2,000,000 (the mega suffix), so durations
//! must be quoted; `5s`, `1h30m`, `127.0.0.1` stay strings; setting a key twice keeps the last
//! value; entries used as `$variables` are marked [`Entry::referenced`] so the options layer can
//! skip them, as nats-server does. Quirk *not* reproduced: nats-server's lexer rejects an
//! integer followed directly by `]` (`x: [1, 2]`); we accept it.
//!
//! Maps, arrays, includes and environment variables nest at most [`MAX_DEPTH`] levels (an
//! error names the file, line and column where the limit is crossed); nats-server has no
//! limit, but a deeper file would overflow the stack here.
//!
//! `$variable` references copy at most [`MAX_EXPANSION`] in all, so lines that double the line
//! before cannot exhaust memory.
//!
//! Every [`Value`] and map key carries its [`Pos`] (file, line, column) so errors can point at
//! it; [`ConfError`] displays as `file:line:col: message`. Columns are 1-based.

mod error;
mod parser;
mod scalar;
mod value;

pub mod duration;

pub(crate) use scalar::classify as classify_scalar;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::ConfError;
pub use parser::{EnvLookup, MAX_DEPTH, MAX_EXPANSION};
pub use value::{Entry, Kind, Map, Pos, Value};

use parser::{Context, Parser};

/// Reads and parses a configuration file, resolving `$NAME` against the process environment.
///
/// # Errors
/// The file cannot be read, or its text (or an included file's) is not valid; the error
/// names the file and, for syntax errors, the line and column.
pub fn parse_file(path: &Path) -> Result<Map, ConfError> {
    parse_file_with_env(path, &|name| std::env::var(name).ok())
}

/// Like [`parse_file`], with environment variables looked up through `env`.
///
/// # Errors
/// As [`parse_file`].
pub fn parse_file_with_env(path: &Path, env: EnvLookup<'_>) -> Result<Map, ConfError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfError::file(path, format!("error opening config file: {e}")))?;
    let mut ctx = Context {
        depth: 0,
        expanded: 0,
        includes: Vec::new(),
        env_stack: Vec::new(),
        env,
    };
    if let Ok(canonical) = path.canonicalize() {
        ctx.includes.push(canonical);
    }
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Parser::new(&text, Arc::from(path), dir, &mut ctx).parse_document()
}

/// Parses configuration text. `origin` labels positions in errors; includes are resolved
/// against `include_dir`.
///
/// # Errors
/// The text (or an included file) is not valid.
pub fn parse_str(
    text: &str,
    origin: &Path,
    include_dir: &Path,
    env: EnvLookup<'_>,
) -> Result<Map, ConfError> {
    let mut ctx = Context {
        depth: 0,
        expanded: 0,
        includes: Vec::new(),
        env_stack: Vec::new(),
        env,
    };
    Parser::new(
        text,
        Arc::from(origin),
        PathBuf::from(include_dir),
        &mut ctx,
    )
    .parse_document()
}

#[cfg(test)]
mod tests;
