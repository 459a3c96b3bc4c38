//! Accounts as configured: isolated subject spaces joined only by exports and imports
//! (nats-server's `accounts { NAME { users, exports, imports } }`).

use std::time::Duration;

use std::borrow::Cow;

use bytes::Bytes;

/// The global account: users outside any account, token and single-user auth, leaf links.
pub const GLOBAL_ACCOUNT: &str = "$G";

/// The system account nats-server creates unless told otherwise.
pub const DEFAULT_SYSTEM_ACCOUNT: &str = "$SYS";

/// How long a service response may take unless the export says (`response_threshold`).
pub(crate) const RESPONSE_THRESHOLD: Duration = Duration::from_secs(120);

/// One configured account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Account {
    /// The account's name (`accounts { NAME {...} }`).
    pub name: String,
    /// What other accounts may import from this one.
    pub exports: Vec<Export>,
    /// What this account takes from others.
    pub imports: Vec<Import>,
}

impl Account {
    /// An account with no exports or imports.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// Whether an export or import carries a stream (messages flow to the importer) or a service
/// (the importer sends requests, the exporter answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportKind {
    /// `stream`: every message the exporter's clients publish on the subject.
    #[default]
    Stream,
    /// `service`: requests from the importer, answered through a one-off reply subject.
    Service,
}

impl ImportKind {
    /// nats-server's word for it in errors (`stream`, `service`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stream => "stream",
            Self::Service => "service",
        }
    }
}

/// How many responses a service request may get (`response_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseType {
    /// `singleton` (default): one response, then the reply subject is gone.
    #[default]
    Singleton,
    /// `stream`: any number of responses until the threshold passes with none.
    Stream,
    /// `chunked`: like `stream`, ended by an empty message too.
    Chunked,
}

/// One export (`exports: [{stream: subj} | {service: subj, response_type, ...}]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// Stream or service.
    pub kind: ImportKind,
    /// The exported subject (may hold wildcards).
    pub subject: String,
    /// The accounts allowed to import it; `None` is public.
    pub accounts: Option<Vec<String>>,
    /// For a service: how many responses a request may get.
    pub response_type: ResponseType,
    /// For a service: how long a response may take (`response_threshold`, default 2 minutes).
    pub response_threshold: Duration,
}

impl Export {
    /// A public export of `subject`, with nats-server's defaults.
    pub fn new(kind: ImportKind, subject: impl Into<String>) -> Self {
        Self {
            kind,
            subject: subject.into(),
            accounts: None,
            response_type: ResponseType::Singleton,
            response_threshold: RESPONSE_THRESHOLD,
        }
    }

    /// Whether `importer` may import `subject` through this export.
    pub(crate) fn admits(&self, kind: ImportKind, subject: &str, importer: &str) -> bool {
        self.kind == kind
            && subject_covers(&self.subject, subject)
            && self
                .accounts
                .as_ref()
                .is_none_or(|names| names.iter().any(|n| n == importer))
    }
}

/// Whether every subject matched by `inner` is matched by `outer` (`foo.>` covers `foo.*`).
fn subject_covers(outer: &str, inner: &str) -> bool {
    let mut o = outer.split('.');
    let mut i = inner.split('.');
    loop {
        match (o.next(), i.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(t)) if t != ">" => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// One import (`imports: [{stream: {account, subject}, prefix | to} | {service: {account,
/// subject}, to}]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// Stream or service.
    pub kind: ImportKind,
    /// The exporting account.
    pub account: String,
    /// The subject in the exporter's space.
    pub subject: String,
    /// The subject in the importer's space (`to`); `None` keeps `subject`.
    pub to: Option<String>,
    /// For a stream: a token put in front of each imported subject (`prefix`).
    pub prefix: Option<String>,
}

impl Import {
    /// An import of `subject` from `account`, under the same subject.
    pub fn new(kind: ImportKind, account: impl Into<String>, subject: impl Into<String>) -> Self {
        Self {
            kind,
            account: account.into(),
            subject: subject.into(),
            to: None,
            prefix: None,
        }
    }

    /// The subject pattern on the importer's side.
    pub(crate) fn local_subject(&self) -> String {
        match (&self.prefix, &self.to) {
            (Some(prefix), _) => format!("{prefix}.{}", self.subject),
            (None, Some(to)) => to.clone(),
            (None, None) => self.subject.clone(),
        }
    }
}

/// A mapping from subjects matching a source pattern to a destination, wildcard by wildcard:
/// the n-th `*` of the destination (or `$n`, or `{{wildcard(n)}}`) takes the token the n-th
/// `*` of the source matched, and a trailing `>` takes the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SubjectTransform {
    source: Vec<Piece>,
    dest: Vec<Piece>,
    /// The token index in the source of each single-token wildcard, in order.
    wildcard_positions: Vec<usize>,
}

/// One token of a transform pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(Bytes),
    /// The n-th (0-based) single-token wildcard of the source.
    Wildcard(usize),
    /// The `>` tail.
    Tail,
}

impl SubjectTransform {
    /// A transform from `source` to `dest`, or `None` when `dest` refers to wildcards the
    /// source does not have.
    pub(crate) fn new(source: &str, dest: &str) -> Option<Self> {
        let mut wildcards = 0;
        let source: Vec<Piece> = source
            .split('.')
            .map(|t| match t {
                "*" => {
                    wildcards += 1;
                    Piece::Wildcard(wildcards - 1)
                }
                ">" => Piece::Tail,
                t => Piece::Literal(Bytes::copy_from_slice(t.as_bytes())),
            })
            .collect();
        let has_tail = source.last() == Some(&Piece::Tail);
        let mut next = 0;
        let mut dest_pieces = Vec::new();
        for t in dest.split('.') {
            let piece = if t == "*" {
                next += 1;
                Piece::Wildcard(next - 1)
            } else if t == ">" {
                Piece::Tail
            } else if let Some(n) = wildcard_reference(t) {
                Piece::Wildcard(n.checked_sub(1)?)
            } else {
                Piece::Literal(Bytes::copy_from_slice(t.as_bytes()))
            };
            match piece {
                Piece::Wildcard(n) if n >= wildcards => return None,
                Piece::Tail if !has_tail => return None,
                _ => {}
            }
            dest_pieces.push(piece);
        }
        let wildcard_positions = source
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p, Piece::Wildcard(_)))
            .map(|(i, _)| i)
            .collect();
        Some(Self {
            source,
            dest: dest_pieces,
            wildcard_positions,
        })
    }

    /// `subject` mapped to the destination, or `None` if it does not match the source. This
    /// runs for every message published where the transform routes: a subject that does not
    /// match, or one the transform keeps as it is, costs no allocation.
    pub(crate) fn apply<'s>(&self, subject: &'s [u8]) -> Option<Cow<'s, [u8]>> {
        let mut tokens = subject.split(|&b| b == b'.');
        let mut offset = 0;
        let mut tail = None;
        for piece in &self.source {
            let token = tokens.next()?;
            match piece {
                Piece::Tail => {
                    // The rest of the subject, dots included.
                    tail = Some(&subject[offset..]);
                    break;
                }
                Piece::Wildcard(_) => {}
                Piece::Literal(l) if token == l.as_ref() => {}
                Piece::Literal(_) => return None,
            }
            offset += token.len() + 1;
        }
        if tail.is_none() && tokens.next().is_some() {
            return None;
        }
        if self.source == self.dest {
            return Some(Cow::Borrowed(subject));
        }
        let mut out = Vec::with_capacity(subject.len() + 16);
        for (i, piece) in self.dest.iter().enumerate() {
            if i > 0 {
                out.push(b'.');
            }
            match piece {
                Piece::Literal(l) => out.extend_from_slice(l),
                Piece::Wildcard(n) => {
                    let position = self.wildcard_positions[*n];
                    out.extend_from_slice(subject.split(|&b| b == b'.').nth(position)?);
                }
                Piece::Tail => out.extend_from_slice(tail.unwrap_or_default()),
            }
        }
        Some(Cow::Owned(out))
    }
}

/// `$N` or `{{wildcard(N)}}` (spaces allowed inside the braces), as nats-server's transforms.
fn wildcard_reference(token: &str) -> Option<usize> {
    if let Some(n) = token.strip_prefix('$') {
        return n.parse().ok();
    }
    let inner = token.strip_prefix("{{")?.strip_suffix("}}")?.trim();
    let args = inner.strip_prefix("wildcard")?.trim_start();
    args.strip_prefix('(')?
        .strip_suffix(')')?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(source: &str, dest: &str, subject: &str) -> Option<String> {
        SubjectTransform::new(source, dest)
            .expect("valid transform")
            .apply(subject.as_bytes())
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
    }

    #[test]
    fn wildcards_map_in_order() {
        assert_eq!(
            map("help.>", "bhelp.>", "help.me.now").as_deref(),
            Some("bhelp.me.now")
        );
        assert_eq!(map("a.*.c", "x.*", "a.b.c").as_deref(), Some("x.b"));
        assert_eq!(map("a.*.*", "x.$2.$1", "a.1.2").as_deref(), Some("x.2.1"));
        assert_eq!(
            map("a.*.*", "x.{{wildcard(2)}}.{{ wildcard( 1 ) }}", "a.1.2").as_deref(),
            Some("x.2.1")
        );
        assert_eq!(map("s.x", "y", "s.x").as_deref(), Some("y"));
        assert_eq!(map("s.x", "y", "s.y"), None);
        assert_eq!(map("a.*", "b.*", "a.b.c"), None);
        assert_eq!(map("a.>", "b.>", "a"), None);
        assert_eq!(map("a.*", "b.*", "a"), None);
    }

    #[test]
    fn a_destination_cannot_invent_wildcards() {
        assert!(SubjectTransform::new("a.*", "b.*.*").is_none());
        assert!(SubjectTransform::new("a.*", "b.>").is_none());
        assert!(SubjectTransform::new("a.*", "b.$2").is_none());
        assert!(SubjectTransform::new("a.*", "b.$0").is_none());
    }

    #[test]
    fn exports_admit_covered_subjects_of_allowed_accounts() {
        let mut export = Export::new(ImportKind::Service, "help.>");
        assert!(export.admits(ImportKind::Service, "help.>", "B"));
        assert!(export.admits(ImportKind::Service, "help.*", "B"));
        assert!(export.admits(ImportKind::Service, "help.me", "B"));
        assert!(!export.admits(ImportKind::Stream, "help.me", "B"));
        assert!(!export.admits(ImportKind::Service, "other", "B"));
        export.accounts = Some(vec!["C".into()]);
        assert!(!export.admits(ImportKind::Service, "help.me", "B"));
        assert!(export.admits(ImportKind::Service, "help.me", "C"));
    }

    #[test]
    fn local_subjects_of_imports() {
        let mut import = Import::new(ImportKind::Stream, "A", "news.>");
        assert_eq!(import.local_subject(), "news.>");
        import.prefix = Some("ext".into());
        assert_eq!(import.local_subject(), "ext.news.>");
        let mut import = Import::new(ImportKind::Service, "A", "help");
        import.to = Some("bhelp".into());
        assert_eq!(import.local_subject(), "bhelp");
    }
}
