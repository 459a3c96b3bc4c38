//! The recursive-descent parser for nats-server's configuration syntax.
//!
//! One [`Parser`] reads one source text. Includes and environment variables are parsed by
//! child parsers that share a [`Context`] (include stack, variable-expansion stack, env lookup),
//! which is how include cycles and `$A` → `$B` → `$A` environment cycles are caught.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::ConfError;
use super::scalar;
use super::value::{Entry, Kind, Map, Pos, Value};

/// Looks up an environment variable; injectable so tests and embedders need not touch the
/// process environment.
pub type EnvLookup<'e> = &'e dyn Fn(&str) -> Option<String>;

/// The deepest nesting of maps, arrays, includes and environment variables accepted. Real
/// configurations nest a handful of levels; the limit keeps a hostile file from overflowing
/// the stack of the parser (and of everything that walks the parsed tree), on start and on
/// reload alike.
pub const MAX_DEPTH: usize = 128;

/// The most a file's `$variable` references may copy in all, in bytes as [`Kind::weight`]
/// estimates them. Each reference copies its value, so a chain of lines that each reference
/// the line before twice would otherwise double until memory runs out.
pub const MAX_EXPANSION: usize = 32 * 1024 * 1024;

/// State shared by a parser and the child parsers it starts.
pub(crate) struct Context<'e> {
    /// How many maps, arrays, includes and environment variables enclose the current value.
    pub(crate) depth: usize,
    /// What `$variable` references have copied so far ([`Kind::weight`]).
    pub(crate) expanded: usize,
    /// Canonical paths of the files being parsed, outermost first.
    pub(crate) includes: Vec<PathBuf>,
    /// Environment variables being expanded, outermost first.
    pub(crate) env_stack: Vec<String>,
    /// Environment lookup.
    pub(crate) env: EnvLookup<'e>,
}

/// Where a statement sits, which decides what may end its value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Top,
    Map,
}

/// Parses one source text into a [`Map`].
pub(crate) struct Parser<'c, 'e> {
    src: Vec<char>,
    i: usize,
    line: u32,
    col: u32,
    file: Arc<Path>,
    /// Directory that relative includes are resolved against.
    dir: PathBuf,
    /// Maps being built, outermost first; `$NAME` looks from the innermost outwards.
    scopes: Vec<Map>,
    ctx: &'c mut Context<'e>,
}

impl<'c, 'e> Parser<'c, 'e> {
    /// A parser for `src`, labelled `file`, resolving includes against `dir`.
    pub(crate) fn new(src: &str, file: Arc<Path>, dir: PathBuf, ctx: &'c mut Context<'e>) -> Self {
        Self {
            src: src.chars().collect(),
            i: 0,
            line: 1,
            col: 1,
            file,
            dir,
            scopes: Vec::new(),
            ctx,
        }
    }

    /// Parses the whole text as a top-level map.
    pub(crate) fn parse_document(mut self) -> Result<Map, ConfError> {
        self.scopes.push(Map::new());
        loop {
            self.skip_blank_and_comments();
            if self.peek().is_none() {
                break;
            }
            self.statement(Scope::Top)?;
        }
        Ok(self.scopes.pop().unwrap_or_default())
    }

    // ---- statements ---------------------------------------------------------------------

    fn statement(&mut self, scope: Scope) -> Result<(), ConfError> {
        let key_pos = self.pos();
        let (key, quoted) = self.key()?;
        if !quoted && key == "include" && matches!(self.peek(), Some(' ' | '\t')) {
            self.include(&key_pos)?;
            return self.value_end(scope);
        }
        self.skip_spaces();
        if matches!(self.peek(), Some(':' | '=')) {
            self.bump();
            self.skip_spaces();
        }
        let value = self.value()?;
        self.current().insert(Entry {
            key,
            key_pos,
            value,
            referenced: false,
        });
        self.value_end(scope)
    }

    /// A bare or quoted key.
    fn key(&mut self) -> Result<(String, bool), ConfError> {
        if let Some(q @ ('"' | '\'')) = self.peek() {
            let start = self.pos();
            self.bump();
            let mut key = String::new();
            loop {
                match self.bump() {
                    Some(c) if c == q => return Ok((key, true)),
                    Some('\n') | None => {
                        return Err(self.err_at(&start, "unterminated quoted key"));
                    }
                    Some(c) => key.push(c),
                }
            }
        }
        let mut key = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == ':' || c == '=' {
                break;
            }
            if matches!(c, '{' | '}' | '[' | ']' | ',' | ';') {
                return Err(self.err_here(format!("unexpected '{c}' in key")));
            }
            key.push(c);
            self.bump();
        }
        if key.is_empty() {
            let what = self
                .peek()
                .map_or("end of file".to_owned(), |c| format!("'{c}'"));
            return Err(self.err_here(format!("expected a key but found {what}")));
        }
        Ok((key, false))
    }

    /// `include path` (bare or quoted), merged into the current map.
    fn include(&mut self, at: &Pos) -> Result<(), ConfError> {
        self.skip_spaces();
        let name = match self.peek() {
            Some('"' | '\'') => match self.quoted_string()? {
                Kind::String(s) => s,
                _ => unreachable!("quoted_string only returns strings"),
            },
            _ => self.bare_token(),
        };
        if name.is_empty() {
            return Err(self.err_at(at, "include needs a file name"));
        }
        let path = self.dir.join(&name);
        let canonical = path
            .canonicalize()
            .map_err(|e| self.err_at(at, format!("error parsing include file '{name}', {e}")))?;
        if self.ctx.includes.contains(&canonical) {
            return Err(self.err_at(
                at,
                format!("include cycle: '{name}' is already being parsed"),
            ));
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| self.err_at(at, format!("error parsing include file '{name}', {e}")))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.enter()?;
        self.ctx.includes.push(canonical);
        let result = Parser::new(&text, Arc::from(path.as_path()), dir, self.ctx).parse_document();
        self.ctx.includes.pop();
        self.ctx.depth -= 1;
        for entry in result? {
            self.current().insert(entry);
        }
        Ok(())
    }

    /// What may follow a value: a terminator, a comment, or the end of the enclosing map.
    fn value_end(&mut self, scope: Scope) -> Result<(), ConfError> {
        self.skip_spaces();
        match self.peek() {
            None | Some('\n' | ';' | ',') => {
                self.bump();
                Ok(())
            }
            Some('\r') if self.peek_at(1) == Some('\n') => Ok(()),
            Some('#') => {
                self.skip_comment();
                Ok(())
            }
            Some('/') if self.peek_at(1) == Some('/') => {
                self.skip_comment();
                Ok(())
            }
            Some('}') if scope == Scope::Map => Ok(()),
            Some(c) => Err(self.err_here(match scope {
                Scope::Top => format!(
                    "expected a top-level value to end with a new line, comment or EOF, but got '{c}' instead"
                ),
                Scope::Map => format!(
                    "expected a map value terminator ',' or a map terminator '}}', but got '{c}' instead"
                ),
            })),
        }
    }

    // ---- values -------------------------------------------------------------------------

    fn value(&mut self) -> Result<Value, ConfError> {
        let pos = self.pos();
        let kind = match self.peek() {
            None => return Err(self.err_here("expected a value but found end of file")),
            Some('\n' | '\r') => return Err(self.err_here("expected a value but found new line")),
            Some('[') => self.nested(Self::array)?,
            Some('{') => Kind::Map(self.nested(Self::map)?),
            Some('"' | '\'') => self.quoted_string()?,
            Some('(') => self.block_string()?,
            Some('.') => return Err(self.err_here("floats must start with a digit")),
            Some(_) => {
                let token = self.bare_token();
                if token.is_empty() {
                    let c = self.peek().unwrap_or(' ');
                    return Err(self.err_here(format!("expected a value but found '{c}'")));
                }
                return self.scalar(token, pos);
            }
        };
        Ok(Value { kind, pos })
    }

    /// Parses a map or array (`parse`) one level deeper, refusing to go past [`MAX_DEPTH`].
    fn nested<T>(&mut self, parse: fn(&mut Self) -> Result<T, ConfError>) -> Result<T, ConfError> {
        self.enter()?;
        let result = parse(self);
        self.ctx.depth -= 1;
        result
    }

    /// Goes one level deeper, or fails at the current position past [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), ConfError> {
        if self.ctx.depth >= MAX_DEPTH {
            return Err(self.err_here(format!(
                "too deeply nested: more than {MAX_DEPTH} levels of maps, arrays, includes and variables"
            )));
        }
        self.ctx.depth += 1;
        Ok(())
    }

    fn scalar(&mut self, token: String, pos: Pos) -> Result<Value, ConfError> {
        match token.strip_prefix('$') {
            // nats-server keeps unquoted bcrypt hashes ($2a$...) as strings.
            Some(name) if !is_bcrypt(name) && !name.is_empty() => self.variable(name, pos),
            _ => match scalar::classify(&token) {
                Ok(kind) => Ok(Value { kind, pos }),
                Err(msg) => Err(self.err_at(&pos, msg)),
            },
        }
    }

    /// Resolves `$name`: enclosing maps innermost first, then the environment.
    fn variable(&mut self, name: &str, pos: Pos) -> Result<Value, ConfError> {
        if let Some(entry) = self.scopes.iter_mut().rev().find_map(|s| s.get_mut(name)) {
            entry.referenced = true;
            let weight = entry.value.kind.weight();
            let kind =
                (self.ctx.expanded + weight <= MAX_EXPANSION).then(|| entry.value.kind.clone());
            self.ctx.expanded += weight;
            return match kind {
                Some(kind) => Ok(Value { kind, pos }),
                None => Err(self.err_at(
                    &pos,
                    format!(
                        "variable references copy too much: more than {MAX_EXPANSION} bytes in all"
                    ),
                )),
            };
        }
        let Some(text) = (self.ctx.env)(name) else {
            return Err(self.err_at(
                &pos,
                format!("variable reference for '{name}' can not be found"),
            ));
        };
        if self.ctx.env_stack.iter().any(|n| n == name) {
            let chain = self.ctx.env_stack.join(" -> ");
            return Err(self.err_at(
                &pos,
                format!("variable reference cycle for '{name}' ({chain} -> {name})"),
            ));
        }
        // Environment values are parsed as if written `pk=<value>`, as nats-server does.
        let label: Arc<Path> = Arc::from(Path::new(&format!("<env {name}>")));
        self.enter()?;
        self.ctx.env_stack.push(name.to_owned());
        let src = format!("pk={text}");
        let parsed = Parser::new(&src, label, self.dir.clone(), self.ctx).parse_document();
        self.ctx.env_stack.pop();
        self.ctx.depth -= 1;
        let mut map = parsed.map_err(|e| {
            self.err_at(
                &pos,
                format!("environment variable '{name}': {}", e.message),
            )
        })?;
        match map.get_mut("pk") {
            Some(entry) => Ok(Value {
                kind: std::mem::replace(&mut entry.value.kind, Kind::Bool(false)),
                pos,
            }),
            None => Err(self.err_at(&pos, format!("environment variable '{name}' has no value"))),
        }
    }

    fn array(&mut self) -> Result<Kind, ConfError> {
        let start = self.pos();
        self.bump(); // '['
        let mut items = Vec::new();
        loop {
            self.skip_blank_and_comments();
            match self.peek() {
                None => return Err(self.err_at(&start, "unexpected end of file in array")),
                Some(']') => {
                    self.bump();
                    return Ok(Kind::Array(items));
                }
                Some(',') => return Err(self.err_here("unexpected array value terminator ','")),
                Some(_) => {}
            }
            items.push(self.value()?);
            self.skip_spaces();
            match self.peek() {
                Some(',' | '\n') => {
                    self.bump();
                }
                Some('\r') if self.peek_at(1) == Some('\n') => {}
                Some('#') => self.skip_comment(),
                Some('/') if self.peek_at(1) == Some('/') => self.skip_comment(),
                Some(']') => {}
                None => return Err(self.err_at(&start, "unexpected end of file in array")),
                Some(c) => {
                    return Err(self.err_here(format!(
                        "expected an array value terminator ',' or an array terminator ']', but got '{c}' instead"
                    )));
                }
            }
        }
    }

    fn map(&mut self) -> Result<Map, ConfError> {
        let start = self.pos();
        self.bump(); // '{'
        self.scopes.push(Map::new());
        let result = loop {
            self.skip_blank_and_comments();
            match self.peek() {
                None => break Err(self.err_at(&start, "unexpected end of file in map")),
                Some('}') => {
                    self.bump();
                    break Ok(());
                }
                Some(_) => {
                    if let Err(e) = self.statement(Scope::Map) {
                        break Err(e);
                    }
                }
            }
        };
        let map = self.scopes.pop().unwrap_or_default();
        result.map(|()| map)
    }

    /// `"double"` (escapes `\t \n \r \" \\ \xHH`) or `'single'` (raw).
    fn quoted_string(&mut self) -> Result<Kind, ConfError> {
        let start = self.pos();
        let Some(q) = self.bump() else {
            unreachable!("called on a quote")
        };
        let mut s = String::new();
        let mut bytes: Vec<u8> = Vec::new(); // pending \xHH bytes, decoded together as UTF-8
        loop {
            let Some(c) = self.bump() else {
                return Err(self.err_at(&start, "unterminated string"));
            };
            if c == '\\' && q == '"' {
                let esc_pos = self.pos();
                let unescaped = match self.bump() {
                    Some('t') => '\t',
                    Some('n') => '\n',
                    Some('r') => '\r',
                    Some('"') => '"',
                    Some('\\') => '\\',
                    Some('x') => {
                        let hex: String = [self.bump(), self.bump()].iter().flatten().collect();
                        let byte = u8::from_str_radix(&hex, 16).map_err(|_| {
                            self.err_at(
                                &esc_pos,
                                format!(
                                    "expected two hexadecimal digits after '\\x', but got '{hex}'"
                                ),
                            )
                        })?;
                        bytes.push(byte);
                        continue;
                    }
                    other => {
                        let c = other.map_or(String::from("end of file"), String::from);
                        return Err(self.err_at(&esc_pos, format!(
                            "invalid escape character '{c}'; only \\xXX, \\t, \\n, \\r, \\\" and \\\\ are allowed"
                        )));
                    }
                };
                flush_bytes(&mut bytes, &mut s);
                s.push(unescaped);
                continue;
            }
            flush_bytes(&mut bytes, &mut s);
            if c == q {
                return Ok(Kind::String(s));
            }
            s.push(c);
        }
    }

    /// `( ... )` with the closing `)` alone on its line; the text between is kept verbatim.
    fn block_string(&mut self) -> Result<Kind, ConfError> {
        let start = self.pos();
        self.bump(); // '('
        let mut s = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(self.err_at(
                        &start,
                        "unterminated block string: ')' must be alone on a line",
                    ));
                }
                Some('\n')
                    if self.peek() == Some(')')
                        && matches!(self.peek_at(1), None | Some('\n' | '\r')) =>
                {
                    self.bump();
                    return Ok(Kind::String(s));
                }
                Some(c) => s.push(c),
            }
        }
    }

    /// An unquoted token: up to whitespace, `,`, `;`, `]`, `}` or the end.
    fn bare_token(&mut self) -> String {
        let mut token = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || matches!(c, ',' | ';' | ']' | '}') {
                break;
            }
            token.push(c);
            self.bump();
        }
        token
    }

    // ---- cursor -------------------------------------------------------------------------

    fn current(&mut self) -> &mut Map {
        // The scope stack is never empty while statements are parsed: parse_document pushes
        // the top-level map before the first statement.
        self.scopes
            .last_mut()
            .expect("scope stack is never empty inside a document")
    }

    fn peek(&self) -> Option<char> {
        self.src.get(self.i).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src.get(self.i + n).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn pos(&self) -> Pos {
        Pos {
            file: self.file.clone(),
            line: self.line,
            col: self.col,
        }
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
    }

    /// Skips whitespace (including new lines), `#` and `//` comments, and stray `;`.
    fn skip_blank_and_comments(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() || c == ';' => {
                    self.bump();
                }
                Some('#') => self.skip_comment(),
                Some('/') if self.peek_at(1) == Some('/') => self.skip_comment(),
                _ => return,
            }
        }
    }

    /// Skips to the end of the line, leaving the new line itself.
    fn skip_comment(&mut self) {
        while !matches!(self.peek(), None | Some('\n')) {
            self.bump();
        }
    }

    fn err_here(&self, message: impl Into<String>) -> ConfError {
        ConfError::at(&self.pos(), message)
    }

    fn err_at(&self, pos: &Pos, message: impl Into<String>) -> ConfError {
        ConfError::at(pos, message)
    }
}

fn flush_bytes(bytes: &mut Vec<u8>, s: &mut String) {
    if !bytes.is_empty() {
        s.push_str(&String::from_utf8_lossy(bytes));
        bytes.clear();
    }
}

fn is_bcrypt(name: &str) -> bool {
    ["2a$", "2b$", "2x$", "2y$"]
        .iter()
        .any(|p| name.starts_with(p))
}
