//! Accounts at run time: one subject index per account, and the routes exports and imports
//! open between them (stream imports, service imports and their one-off response subjects).
//!
//! A request follows service imports from account to account (B imports a service from A,
//! which imports it from C), and each answer follows the reply subjects back, as nats-server
//! chains them; a stream import delivers to the importer's subscribers and goes no further.
//! Chains end after [`MAX_HOPS`] accounts.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

use super::conn::SubKey;
use super::{Broker, Message, SUBLIST_CACHE};
use crate::account::SubjectTransform;
use crate::sublist::Sublist;
use crate::{Config, ConnId, GLOBAL_ACCOUNT, ImportKind, Instant, ResponseType};

/// An account's index in [`Accounts`]; 0 is the global account.
pub(crate) type AccountId = u32;

/// The prefix of the reply subjects service imports put on requests.
const REPLY_PREFIX: &[u8] = b"_R_.";

/// Accounts a request or an answer may cross, one after the other (a guard against import
/// cycles, which configurations can create).
const MAX_HOPS: u8 = 8;

/// Pending responses kept per exporting account before expired ones are swept.
const RESPONSE_SWEEP: usize = 1024;

/// Every account the broker knows. Indexes never change: an account a reload drops stays,
/// empty and unreachable, so connections and subscriptions can hold an [`AccountId`].
#[derive(Debug)]
pub(crate) struct Accounts {
    list: Vec<AccountState>,
}

/// One account's subject space and routes.
#[derive(Debug)]
pub(crate) struct AccountState {
    pub(crate) name: String,
    pub(crate) sublist: Sublist<SubKey>,
    /// Whether this is the system account.
    pub(crate) system: bool,
    /// Stream imports of this account's subjects by other accounts.
    streams_out: Vec<StreamRoute>,
    /// Service imports of this account: requests published here go to the exporter.
    services: Vec<ServiceRoute>,
    /// Reply subjects this account's responders answer on, and where the answers go.
    responses: HashMap<Bytes, PendingResponse, foldhash::fast::FixedState>,
    /// `_R_.XXXXXX.`: this account's part of the reply subjects it is sent.
    reply_prefix: String,
}

/// Messages on `transform`'s source go to `importer`, under the mapped subject.
#[derive(Debug)]
struct StreamRoute {
    importer: AccountId,
    transform: SubjectTransform,
}

/// Requests on `transform`'s source go to the exporter, under the mapped subject.
#[derive(Debug)]
struct ServiceRoute {
    transform: SubjectTransform,
    export: ServiceExport,
}

/// The exporting side of a service import.
#[derive(Debug, Clone, Copy)]
struct ServiceExport {
    exporter: AccountId,
    response_type: ResponseType,
    threshold: Duration,
}

/// A request's reply subject, valid until `expires`.
#[derive(Debug)]
struct PendingResponse {
    requester: AccountId,
    reply: Bytes,
    response_type: ResponseType,
    threshold: Duration,
    expires: Instant,
}

impl Accounts {
    /// The global account only.
    pub(crate) fn new(rng: &mut fastrand::Rng) -> Self {
        let mut accounts = Self { list: Vec::new() };
        accounts.ensure(GLOBAL_ACCOUNT, rng);
        accounts
    }

    /// Creates the accounts `config` names and rebuilds every route between them.
    /// The config has been validated: imports name existing accounts and allowed exports.
    pub(crate) fn configure(
        &mut self,
        config: &Config,
        trust: Option<&crate::operator::Trust>,
        rng: &mut fastrand::Rng,
    ) {
        for account in &mut self.list {
            account.streams_out.clear();
            account.services.clear();
            account.system = false;
        }
        // Operator mode has a system account only when the operator's JWT or the config
        // names one; otherwise nats-server's default `$SYS` is created.
        let named = trust.and_then(|t| t.system_account.as_deref()).or_else(|| {
            (trust.is_none() || config.system_account != crate::DEFAULT_SYSTEM_ACCOUNT)
                .then_some(config.system_account.as_str())
        });
        if let Some(name) = named {
            let system = self.ensure(name, rng);
            self.list[system as usize].system = true;
        }
        let configured: Vec<&crate::Account> = config
            .accounts
            .iter()
            .chain(trust.into_iter().flat_map(|t| t.accounts()))
            .collect();
        for account in &configured {
            self.ensure(&account.name, rng);
        }
        for account in &configured {
            let importer = self.id(&account.name);
            for import in &account.imports {
                let exporter = self.id(&import.account);
                let local = import.local_subject();
                let export = configured
                    .iter()
                    .find(|a| a.name == import.account)
                    .and_then(|a| {
                        a.exports
                            .iter()
                            .find(|e| e.admits(import.kind, &import.subject, &account.name))
                    });
                match import.kind {
                    ImportKind::Stream => {
                        let Some(transform) = SubjectTransform::new(&import.subject, &local) else {
                            continue;
                        };
                        self.list[exporter as usize].streams_out.push(StreamRoute {
                            importer,
                            transform,
                        });
                    }
                    ImportKind::Service => {
                        let Some(transform) = SubjectTransform::new(&local, &import.subject) else {
                            continue;
                        };
                        let (response_type, threshold) = export.map_or(
                            (ResponseType::Singleton, crate::account::RESPONSE_THRESHOLD),
                            |e| (e.response_type, e.response_threshold),
                        );
                        self.list[importer as usize].services.push(ServiceRoute {
                            transform,
                            export: ServiceExport {
                                exporter,
                                response_type,
                                threshold,
                            },
                        });
                    }
                }
            }
        }
    }

    /// The id of the account `name` (the global account for an empty or unknown name).
    pub(crate) fn id(&self, name: &str) -> AccountId {
        self.list
            .iter()
            .position(|a| a.name == name)
            .map_or(0, |i| i as AccountId)
    }

    /// The account `name`, created if missing.
    fn ensure(&mut self, name: &str, rng: &mut fastrand::Rng) -> AccountId {
        if let Some(i) = self.list.iter().position(|a| a.name == name) {
            return i as AccountId;
        }
        let mut reply_prefix = String::from("_R_.");
        reply_prefix.extend((0..6).map(|_| random_char(rng)));
        reply_prefix.push('.');
        self.list.push(AccountState {
            name: name.to_owned(),
            sublist: Sublist::with_seed(SUBLIST_CACHE, rng.u64(..)),
            system: false,
            streams_out: Vec::new(),
            services: Vec::new(),
            responses: HashMap::default(),
            reply_prefix,
        });
        (self.list.len() - 1) as AccountId
    }

    /// Account `id`.
    pub(crate) fn get(&self, id: AccountId) -> &AccountState {
        &self.list[id as usize]
    }

    /// Account `id`, mutably.
    pub(crate) fn get_mut(&mut self, id: AccountId) -> &mut AccountState {
        &mut self.list[id as usize]
    }

    /// The subscriptions in account `id` that `subject` reaches.
    pub(crate) fn matches(
        &mut self,
        id: AccountId,
        subject: &[u8],
    ) -> std::rc::Rc<crate::sublist::Matches<SubKey>> {
        self.list[id as usize].sublist.matches(subject)
    }

    /// The system account's name, if there is one (operator mode without one has none, and
    /// so no system services).
    pub(crate) fn system_name(&self) -> Option<&str> {
        self.list.iter().find(|a| a.system).map(|a| a.name.as_str())
    }

    /// Every account.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &AccountState> {
        self.list.iter()
    }

    /// Whether account `id` has routes to other accounts to look at on publish.
    pub(crate) fn has_routes(&self, id: AccountId) -> bool {
        let a = &self.list[id as usize];
        !a.streams_out.is_empty() || !a.services.is_empty() || !a.responses.is_empty()
    }
}

/// A character of nats-server's base-62 reply tokens.
fn random_char(rng: &mut fastrand::Rng) -> char {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    ALPHABET[rng.usize(..ALPHABET.len())] as char
}

impl Broker {
    /// Carries a message published in `account` over that account's routes: to stream
    /// importers, to a service's exporter (with a one-off reply subject), or, for such a
    /// reply subject, back to the requester. Returns how many subscriptions received it.
    pub(super) fn route_between_accounts(
        &mut self,
        from: ConnId,
        account: AccountId,
        msg: &Message<'_>,
    ) -> usize {
        self.route_from(from, account, msg, 0, None)
    }

    /// [`Self::route_between_accounts`] for a message that already crossed `hops` accounts.
    /// `origin` is who sent a request that crossed accounts before (for its header).
    fn route_from(
        &mut self,
        from: ConnId,
        account: AccountId,
        msg: &Message<'_>,
        hops: u8,
        origin: Option<Origin>,
    ) -> usize {
        let mut delivered = 0;
        for i in 0..self.accounts.get(account).streams_out.len() {
            let route = &self.accounts.get(account).streams_out[i];
            let importer = route.importer;
            let Some(subject) = route.transform.apply(msg.subject) else {
                continue;
            };
            let matches = self.accounts.matches(importer, &subject);
            let routed = Message {
                subject: &subject,
                ..*msg
            };
            delivered += self.deliver(from, true, &matches, &routed);
        }
        let service = self
            .accounts
            .get(account)
            .services
            .iter()
            .find_map(|r| Some((r.export, r.transform.apply(msg.subject)?)));
        if let Some((export, subject)) = service {
            delivered +=
                self.request_service(from, account, export, &subject, msg, Chain { hops, origin });
        }
        if msg.subject.starts_with(REPLY_PREFIX) {
            delivered += self.respond(from, account, msg, hops);
        }
        delivered
    }

    /// Delivers a request into the exporting account, under a reply subject that leads back,
    /// and on along that account's own service imports.
    fn request_service(
        &mut self,
        from: ConnId,
        requester: AccountId,
        export: ServiceExport,
        subject: &[u8],
        msg: &Message<'_>,
        chain: Chain,
    ) -> usize {
        let Chain { hops, origin } = chain;
        let ServiceExport {
            exporter,
            response_type,
            threshold,
        } = export;
        let now = self.now;
        let reply = msg.reply.map(|reply| {
            let mut token = self.accounts.get(exporter).reply_prefix.clone();
            token.extend((0..6).map(|_| random_char(&mut self.rng)));
            let token = Bytes::from(token);
            let responses = &mut self.accounts.get_mut(exporter).responses;
            if responses.len() >= RESPONSE_SWEEP {
                responses.retain(|_, r| r.expires > now);
            }
            responses.insert(
                token.clone(),
                PendingResponse {
                    requester,
                    reply: Bytes::copy_from_slice(reply),
                    response_type,
                    threshold,
                    expires: now + threshold,
                },
            );
            token
        });
        // Who asked, and through which account when the request came along a chain.
        let origin = origin.unwrap_or(Origin {
            account: requester,
            rtt: self.conn_mut(from).and_then(|c| c.ping.rtt),
        });
        let service =
            (origin.account != requester).then(|| self.accounts.get(requester).name.as_str());
        let info = request_info(&self.accounts.get(origin.account).name, service, origin.rtt);
        let message = set_header(msg, "Nats-Request-Info", &info);
        let header_len = message.len() - (msg.message.len() - msg.header_len);
        let routed = Message {
            subject,
            reply: reply.as_deref(),
            header_len,
            message: &message,
            queues: None,
        };
        let matches = self.accounts.matches(exporter, subject);
        let mut delivered = self.deliver(from, true, &matches, &routed);
        if hops + 1 < MAX_HOPS {
            delivered += self.route_from(from, exporter, &routed, hops + 1, Some(origin));
        }
        if delivered == 0 {
            if let Some(token) = reply {
                self.accounts.get_mut(exporter).responses.remove(&token);
            }
        }
        delivered
    }

    /// A responder in `account` answered on one of its reply subjects: the answer goes to the
    /// requester's reply subject in the requester's account (and on, if that subject is
    /// itself the reply subject of a chained request).
    fn respond(&mut self, from: ConnId, account: AccountId, msg: &Message<'_>, hops: u8) -> usize {
        let now = self.now;
        let responses = &mut self.accounts.get_mut(account).responses;
        let Some(pending) = responses.get_mut(msg.subject) else {
            return 0;
        };
        if pending.expires <= now {
            responses.remove(msg.subject);
            return 0;
        }
        let (requester, reply) = (pending.requester, pending.reply.clone());
        let last = match pending.response_type {
            ResponseType::Singleton => true,
            ResponseType::Chunked => msg.message.len() == msg.header_len,
            ResponseType::Stream => false,
        };
        pending.expires = now + pending.threshold;
        if last {
            responses.remove(msg.subject);
        }
        let matches = self.accounts.matches(requester, &reply);
        let routed = Message {
            subject: &reply,
            reply: None,
            ..*msg
        };
        let mut delivered = self.deliver(from, true, &matches, &routed);
        if hops + 1 < MAX_HOPS {
            delivered += self.route_from(from, requester, &routed, hops + 1, None);
        }
        if delivered == 0 {
            self.accounts.get_mut(account).responses.remove(msg.subject);
        }
        delivered
    }
}

/// Where a request is along a chain of service imports.
#[derive(Debug, Clone, Copy)]
struct Chain {
    /// Accounts crossed so far.
    hops: u8,
    /// Who sent it, once it crossed an account.
    origin: Option<Origin>,
}

/// Who sent a request: its account and its connection's round trip.
#[derive(Debug, Clone, Copy)]
struct Origin {
    account: AccountId,
    rtt: Option<Duration>,
}

/// nats-server's `Nats-Request-Info` for a request from `account` (its `ClientInfo` without
/// the shared details), through `service` along a chain: `{"acc":"B","svc":"A","rtt":NANOS}`.
fn request_info(account: &str, service: Option<&str>, rtt: Option<Duration>) -> String {
    let quote = |s: &str| serde_json::to_string(s).expect("strings serialize");
    let mut json = format!("{{\"acc\":{}", quote(account));
    if let Some(service) = service {
        let _ = write!(json, ",\"svc\":{}", quote(service));
    }
    if let Some(rtt) = rtt.filter(|r| !r.is_zero()) {
        let _ = write!(json, ",\"rtt\":{}", rtt.as_nanos());
    }
    json.push('}');
    json
}

/// `msg`'s header block and payload with the header `name: value` in place of any `name`
/// the block had.
fn set_header(msg: &Message<'_>, name: &str, value: &str) -> Bytes {
    let payload = &msg.message[msg.header_len..];
    let mut out = BytesMut::with_capacity(msg.message.len() + name.len() + value.len() + 16);
    if msg.header_len >= 4 {
        // The existing lines, before the blank line that ends the block, but for `name`.
        let block = &msg.message[..msg.header_len - 2];
        for line in block.split_inclusive(|&b| b == b'\n') {
            let is_name = line.len() > name.len()
                && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
                && line[name.len()] == b':';
            if !is_name {
                out.put_slice(line);
            }
        }
    } else {
        out.put_slice(b"NATS/1.0\r\n");
    }
    out.put_slice(name.as_bytes());
    out.put_slice(b": ");
    out.put_slice(value.as_bytes());
    out.put_slice(b"\r\n\r\n");
    out.put_slice(payload);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(bytes: &'static [u8], header_len: usize) -> Bytes {
        let message = Bytes::from_static(bytes);
        let msg = Message {
            subject: b"s",
            reply: None,
            header_len,
            message: &message,
            queues: None,
        };
        set_header(&msg, "Nats-Request-Info", "{\"acc\":\"B\"}")
    }

    #[test]
    fn the_request_header_joins_or_starts_the_block() {
        assert_eq!(
            &message(b"hi", 0)[..],
            b"NATS/1.0\r\nNats-Request-Info: {\"acc\":\"B\"}\r\n\r\nhi"
        );
        assert_eq!(
            &message(b"NATS/1.0\r\nA: b\r\n\r\nhi", 18)[..],
            b"NATS/1.0\r\nA: b\r\nNats-Request-Info: {\"acc\":\"B\"}\r\n\r\nhi"
        );
        assert_eq!(
            request_info("B", None, Some(Duration::from_nanos(407_685))),
            r#"{"acc":"B","rtt":407685}"#
        );
        assert_eq!(request_info("B", None, None), r#"{"acc":"B"}"#);
        assert_eq!(
            request_info("B", Some("A"), Some(Duration::from_nanos(5))),
            r#"{"acc":"B","svc":"A","rtt":5}"#
        );
        // A chained request's header replaces the first hop's.
        assert_eq!(
            &message(b"NATS/1.0\r\nNats-Request-Info: {}\r\nA: b\r\n\r\nhi", 41)[..],
            b"NATS/1.0\r\nA: b\r\nNats-Request-Info: {\"acc\":\"B\"}\r\n\r\nhi"
        );
    }
}
