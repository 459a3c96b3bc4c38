//! The `accounts { NAME: { users, exports, imports, default_permissions } }` block.

use std::time::Duration;

use skiff_core::{Account, Export, Import, ImportKind, ResponseType, User};

use super::{
    Warning, duration, key_err, map, permissions, string, subjects, type_err, unknown, user_list,
};
use crate::conf::{ConfError, Entry, Kind, Map, Value};

/// The accounts of an `accounts` block, and their users (each naming its account).
pub(super) fn accounts(
    e: &Entry,
    warnings: &mut Vec<Warning>,
) -> Result<(Vec<Account>, Vec<User>), ConfError> {
    let (mut accounts, mut users) = (Vec::new(), Vec::new());
    for a in map(e)?.entries().iter().filter(|a| !a.referenced) {
        let mut account = Account::new(a.key.clone());
        let mut account_users = Vec::new();
        let mut defaults = None;
        let Kind::Map(body) = &a.value.kind else {
            return Err(type_err(a, "a map of users, exports and imports"));
        };
        for f in body.entries().iter().filter(|f| !f.referenced) {
            match f.key.to_ascii_lowercase().as_str() {
                "users" => account_users = user_list(f)?,
                "exports" => account.exports = list(f, export)?,
                "imports" => account.imports = list(f, import)?,
                "default_permissions" => defaults = Some(permissions(f)?),
                "jetstream" if super::jetstream_disabled(&f.value) => {}
                "limits" | "max_connections" | "max_subscriptions" | "max_payload" => {
                    warnings.push(Warning::at(
                        &f.key_pos,
                        format!(
                            "\"{}\" in an account is not supported by skiff; ignored",
                            f.key
                        ),
                    ));
                }
                "nkey" | "mappings" | "maps" | "jetstream" | "msg_trace" | "trace_dest" => {
                    return Err(key_err(
                        f,
                        format!("\"{}\" in an account is not supported by skiff", f.key),
                    ));
                }
                _ => return Err(unknown(f)),
            }
        }
        for mut user in account_users {
            if user.permissions.is_none() {
                user.permissions = defaults.clone();
            }
            user.account = account.name.clone();
            users.push(user);
        }
        accounts.push(account);
    }
    Ok((accounts, users))
}

/// Each map of an array, read by `item`.
fn list<T>(
    e: &Entry,
    item: fn(&Entry, &Value, &Map) -> Result<T, ConfError>,
) -> Result<Vec<T>, ConfError> {
    let Kind::Array(items) = &e.value.kind else {
        return Err(type_err(e, "an array of maps"));
    };
    items
        .iter()
        .map(|v| match &v.kind {
            Kind::Map(m) => item(e, v, m),
            other => Err(ConfError::at(
                &v.pos,
                format!(
                    "invalid value in \"{}\": expected a map, got {}",
                    e.key,
                    other.type_name()
                ),
            )),
        })
        .collect()
}

/// `{stream: subj}` or `{service: subj, accounts: [...], response_type, response_threshold}`.
fn export(_list: &Entry, v: &Value, m: &Map) -> Result<Export, ConfError> {
    let mut kind_subject = None;
    let mut export = Export::new(ImportKind::Stream, "");
    for f in m.entries().iter().filter(|f| !f.referenced) {
        match f.key.to_ascii_lowercase().as_str() {
            "stream" => kind_subject = Some((ImportKind::Stream, subject(f)?)),
            "service" => kind_subject = Some((ImportKind::Service, subject(f)?)),
            "accounts" => export.accounts = Some(subjects(f, &f.value)?),
            "response" | "response_type" => {
                export.response_type = match string(f)?.to_ascii_lowercase().as_str() {
                    "single" | "singleton" => ResponseType::Singleton,
                    "stream" => ResponseType::Stream,
                    "chunk" | "chunked" => ResponseType::Chunked,
                    other => {
                        return Err(key_err(f, format!("unknown response type: \"{other}\"")));
                    }
                }
            }
            "threshold" | "response_threshold" | "response_max_time" | "response_time" => {
                export.response_threshold = duration(f, &mut Vec::new())?;
                if export.response_threshold == Duration::ZERO {
                    return Err(key_err(f, "response threshold must be positive"));
                }
            }
            "latency" | "account_token_position" | "advertise" | "allow_trace" => {}
            _ => return Err(unknown(f)),
        }
    }
    let Some((kind, subject)) = kind_subject else {
        return Err(ConfError::at(
            &v.pos,
            "export needs a \"stream\" or \"service\" subject",
        ));
    };
    export.kind = kind;
    export.subject = subject;
    Ok(export)
}

/// `{stream: {account, subject}, prefix | to}` or `{service: {account, subject}, to}`.
fn import(_list: &Entry, v: &Value, m: &Map) -> Result<Import, ConfError> {
    let mut import = None;
    let (mut to, mut prefix) = (None, None);
    for f in m.entries().iter().filter(|f| !f.referenced) {
        match f.key.to_ascii_lowercase().as_str() {
            "stream" => import = Some(source(f, ImportKind::Stream)?),
            "service" => import = Some(source(f, ImportKind::Service)?),
            "to" => to = Some(subject(f)?),
            "prefix" => prefix = Some(subject(f)?),
            "share" | "allow_trace" => {}
            _ => return Err(unknown(f)),
        }
    }
    let Some(mut import) = import else {
        return Err(ConfError::at(
            &v.pos,
            "import needs a \"stream\" or \"service\" source",
        ));
    };
    if import.kind == ImportKind::Service && prefix.is_some() {
        return Err(ConfError::at(
            &v.pos,
            "a service import takes \"to\", not \"prefix\"",
        ));
    }
    import.to = to;
    import.prefix = prefix;
    Ok(import)
}

/// `{account: NAME, subject: SUBJ}`.
fn source(e: &Entry, kind: ImportKind) -> Result<Import, ConfError> {
    let (mut account, mut subject_name) = (None, None);
    for f in map(e)?.entries().iter().filter(|f| !f.referenced) {
        match f.key.to_ascii_lowercase().as_str() {
            "account" => account = Some(string(f)?),
            "subject" => subject_name = Some(subject(f)?),
            _ => return Err(unknown(f)),
        }
    }
    match (account, subject_name) {
        (Some(account), Some(subject)) => Ok(Import::new(kind, account, subject)),
        _ => Err(key_err(
            e,
            format!(
                "{} import needs an \"account\" and a \"subject\"",
                kind.as_str()
            ),
        )),
    }
}

/// One valid subject (wildcards allowed).
fn subject(e: &Entry) -> Result<String, ConfError> {
    let s = string(e)?;
    if !skiff_core::subject::is_valid_subscription(s.as_bytes()) {
        return Err(key_err(e, format!("invalid subject \"{s}\"")));
    }
    Ok(s)
}
