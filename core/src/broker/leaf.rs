//! Leaf links (nats-server's leafnode protocol), both ways: this broker as a leaf node of a
//! NATS hub (the link it dials: the *spoke* side), and as the hub other servers attach to as
//! leafs ([`Broker::accept_leaf`]: the *hub* side, which sends INFO and waits for CONNECT).
//! Interest follows nats-server's rules: a spoke link is told only about local clients' and
//! accepted leafs' interest (never another hub's), a hub link about everything but its own.
//!
//! A remote is dialed when its timer fires ([`Output::DialLeaf`]); the host reports the
//! outcome ([`Broker::leaf_connected`], [`Broker::leaf_dial_failed`]) and the core decides
//! when to try again (`leaf_reconnect`, 30 s after a loop). Once connected:
//!
//! 1. the hub sends `INFO`; the link answers `CONNECT` (`hub: false`, its local account, the URL's
//!    credentials) and announces local interest: one `LS+ subject` per subject with local
//!    plain subscribers, `LS+ subject queue weight` per local queue group (weight = local
//!    members), and `LS+ $LDS.<id>`, the loop detection subject;
//! 2. local interest changes follow as `LS+`/`LS-` (a plain subject when its first subscriber
//!    comes or its last goes; a queue group on every change of its weight);
//! 3. the hub's interest arrives as `LS+`/`LS-` and lives in the subject index as
//!    subscriptions owned by the link, so a local publish reaches the hub (`LMSG`/`HMSG`, once
//!    per link) exactly when the hub has interest, and a queue group spanning both sides
//!    delivers each message once, preferring a local member;
//! 4. messages from the hub are delivered locally (plain subscribers, and the queue groups the
//!    hub names), never back to the link they came from;
//! 5. the hub announcing our own `$LDS.` subject means the link loops back to us: the link
//!    closes with nats-server's `Loop detected` error and waits 30 s before redialing.
//!
//! While a remote is down, local publishes simply have no interest from it (core NATS is at
//! most once); nothing local is disturbed.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{BufMut, Bytes};

use super::conn::ConnPhase;
use super::timers::{LEAF_TIMER, TimerKind, Timers};
use super::{Broker, Message, Phase, Refused, Subscription};
use crate::leaf::parser::{LeafOp, LeafParser};
use crate::proto::encode;
use crate::{CloseReason, Config, ConnEvent, ConnId, Instant, LeafRemote, Output, PeerInfo, Rules};

/// The prefix of loop detection subjects.
const LDS_PREFIX: &str = "$LDS.";
/// How long a remote waits after a loop was detected (nats-server's
/// `leafNodeReconnectDelayAfterLoopDetected`).
const LOOP_DELAY: Duration = Duration::from_secs(30);
/// Leaf control lines may be this many times longer than a client's (nats-server's factor).
const LINE_FACTOR: usize = 16;

/// The remotes and the links that are up.
#[derive(Debug)]
pub(crate) struct LeafState {
    remotes: Vec<RemoteState>,
    /// This broker's loop detection subject.
    lds: Bytes,
    /// Links whose CONNECT went out (interest flows on these).
    links: Vec<ConnId>,
}

/// One remote's dialing state.
#[derive(Debug)]
struct RemoteState {
    config: LeafRemote,
    /// The link, once the host connected.
    conn: Option<ConnId>,
    /// A dial is in progress at the host.
    dialing: bool,
    /// Which URL is dialed next.
    next_url: usize,
    /// The next redial waits for the loop delay.
    loop_detected: bool,
    /// The URL dialed last (its credentials go in CONNECT).
    current: Option<crate::LeafUrl>,
}

impl LeafState {
    /// The remotes of `config`, each due to be dialed at `now`. The loop detection subject
    /// is derived from `server_id` (unique per server), leaving the broker's random stream as
    /// it was.
    pub(crate) fn new(config: &Config, server_id: &str, timers: &mut Timers, now: Instant) -> Self {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        // FNV-1a of the server id seeds the subject's characters.
        let seed = server_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let mut rng = fastrand::Rng::with_seed(seed);
        let lds: String = LDS_PREFIX
            .chars()
            .chain((0..22).map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char))
            .collect();
        let remotes = config
            .leaf_remotes
            .iter()
            .enumerate()
            .map(|(i, remote)| {
                if !remote.urls.is_empty() {
                    let index = u32::try_from(i).expect("fewer than 2^32 remotes");
                    timers.schedule(now, LEAF_TIMER, TimerKind::LeafDial(index));
                }
                RemoteState {
                    config: remote.clone(),
                    conn: None,
                    dialing: false,
                    next_url: 0,
                    loop_detected: false,
                    current: None,
                }
            })
            .collect();
        Self {
            remotes,
            lds: Bytes::from(lds),
            links: Vec::new(),
        }
    }

    /// Whether any link is up (local interest changes must be announced).
    pub(crate) fn has_links(&self) -> bool {
        !self.links.is_empty()
    }
}

/// A connection's leaf side: set on connections that are leaf links.
#[derive(Debug)]
pub(crate) struct LeafLink {
    /// The remote it serves, on a link this broker dialed (the spoke side); `None` on a link
    /// it accepted (the hub side).
    remote: Option<usize>,
    parser: LeafParser,
    /// CONNECT sent: interest and messages flow.
    active: bool,
    /// Interest announced to the hub: key (`subject` or `subject queue`) → count.
    smap: HashMap<Bytes, u32>,
    deny_imports: Rules,
    deny_exports: Rules,
    /// The other server's name, once its INFO (or CONNECT) came.
    hub: String,
}

impl LeafLink {
    /// A link not yet up: `remote` for one this broker dialed, `None` for an accepted one.
    fn new(
        config: &Config,
        remote: Option<usize>,
        deny_imports: &[String],
        deny_exports: &[String],
    ) -> Self {
        let rules = |deny: &[String]| Rules {
            allow: None,
            deny: deny.to_vec(),
        };
        Self {
            remote,
            parser: LeafParser::new(
                config.max_control_line.saturating_mul(LINE_FACTOR),
                config.max_payload,
            ),
            active: false,
            smap: HashMap::new(),
            deny_imports: rules(deny_imports),
            deny_exports: rules(deny_exports),
            hub: String::new(),
        }
    }

    fn spoke(&self) -> bool {
        self.remote.is_some()
    }
}

/// A snapshot of one leaf link, as monitoring shows it (`/leafz`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeafInfo {
    /// The connection.
    pub conn: ConnId,
    /// Its id (`lid`), from the same sequence as client ids.
    pub cid: u64,
    /// The other server's name.
    pub name: String,
    /// The remote's index in `Config::leaf_remotes` for a link this broker dialed (this
    /// broker is the spoke); `None` for a leaf that attached to this broker.
    pub remote: Option<usize>,
    /// The local account the link is bound to.
    pub account: String,
    /// Where the other server is.
    pub peer: PeerInfo,
    /// The last measured round trip.
    pub rtt: Option<Duration>,
    /// Messages and bytes each way.
    pub traffic: crate::Traffic,
    /// Interest announced to the other side (subjects and queue groups).
    pub announced: usize,
    /// The other side's interest held here (`subject` or `subject queue`), sorted.
    pub interest: Vec<String>,
}

impl Broker {
    /// The host connected to the hub of leaf remote `remote` (after [`Output::DialLeaf`]).
    /// The link waits for the hub's INFO.
    ///
    /// # Errors
    /// The broker is shutting down.
    pub fn leaf_connected(
        &mut self,
        remote: usize,
        peer: PeerInfo,
        now: Instant,
    ) -> Result<ConnId, Refused> {
        self.advance(now);
        if self.phase != Phase::Running {
            return Err(Refused::ShuttingDown);
        }
        let Some(state) = self.leaf.remotes.get_mut(remote) else {
            return Err(Refused::ShuttingDown);
        };
        state.dialing = false;
        let link = LeafLink::new(
            &self.config,
            Some(remote),
            &state.config.deny_imports,
            &state.config.deny_exports,
        );
        // Delivery checks a connection's subscribe denials: `deny_exports` keeps local messages
        // on those subjects from crossing, whatever pattern the hub's interest uses.
        let exports = link.deny_exports.clone();
        let id = self.new_conn(peer, now, Some(Box::new(link)));
        if !exports.deny.is_empty() {
            if let Some(c) = self.conn_mut(id) {
                c.perms = Some(Box::new(crate::Permissions {
                    subscribe: exports,
                    ..crate::Permissions::default()
                }));
            }
        }
        // The link lives in the local account its remote binds to.
        let account = self.accounts.id(&self.leaf.remotes[remote].config.account);
        if let Some(c) = self.conn_mut(id) {
            c.account = account;
        }
        self.leaf.remotes[remote].conn = Some(id);
        self.timers
            .schedule(now + self.config.ping_interval, id, TimerKind::Ping);
        Ok(id)
    }

    /// A server connected to the host's leafnode listener to attach as a leaf: the broker
    /// sends its INFO and waits for the leaf's CONNECT.
    ///
    /// # Errors
    /// The broker is shutting down.
    pub fn accept_leaf(&mut self, peer: PeerInfo, now: Instant) -> Result<ConnId, Refused> {
        self.advance(now);
        if self.phase != Phase::Running {
            return Err(Refused::ShuttingDown);
        }
        let link = LeafLink::new(&self.config, None, &[], &[]);
        let id = self.new_conn(peer, now, Some(Box::new(link)));
        let cid = self.conn_mut(id).map_or(0, |c| c.cid);
        let (host, port) = self
            .config
            .leaf_listen
            .clone()
            .unwrap_or_else(|| (self.config.host.clone(), 7422));
        let name = if self.config.server_name.is_empty() {
            &self.server_id
        } else {
            &self.config.server_name
        };
        let info = serde_json::json!({
            "server_id": self.server_id,
            "server_name": name,
            "version": self.config.version,
            "proto": 1,
            "go": "rust",
            "host": host,
            "port": port,
            "headers": self.config.headers,
            "max_payload": self.config.max_payload,
            "client_id": cid,
            "leafnode_urls": [format!("{host}:{port}")],
        });
        let line = format!("INFO {info} \r\n");
        self.send(id, line.as_bytes());
        self.timers
            .schedule(now + self.config.ping_interval, id, TimerKind::Ping);
        Ok(id)
    }

    /// The host could not connect to the hub of leaf remote `remote`: the core dials again
    /// after `leaf_reconnect`.
    pub fn leaf_dial_failed(&mut self, remote: usize, now: Instant) {
        self.advance(now);
        if let Some(state) = self.leaf.remotes.get_mut(remote) {
            state.dialing = false;
            let delay = self.config.leaf_reconnect;
            self.schedule_dial(remote, delay);
        }
    }

    /// The leaf links that are up.
    pub fn leaf_links(&self) -> Vec<LeafInfo> {
        self.leaf
            .links
            .iter()
            .filter_map(|&id| {
                let slot = self.slots.get(id.index())?;
                let c = slot.conn.as_deref().filter(|c| c.id == id)?;
                let link = c.leaf.as_deref()?;
                let mut interest: Vec<String> = c
                    .subs
                    .keys()
                    .map(|k| String::from_utf8_lossy(k).into_owned())
                    .collect();
                interest.sort();
                Some(LeafInfo {
                    conn: id,
                    cid: c.cid,
                    account: self.accounts.get(c.account).name.clone(),
                    name: link.hub.clone(),
                    remote: link.remote,
                    peer: c.peer,
                    rtt: c.ping.rtt,
                    traffic: c.traffic,
                    announced: link.smap.len(),
                    interest,
                })
            })
            .collect()
    }

    fn schedule_dial(&mut self, remote: usize, delay: Duration) {
        if self.phase != Phase::Running {
            return;
        }
        let index = u32::try_from(remote).expect("fewer than 2^32 remotes");
        self.timers
            .schedule(self.now + delay, LEAF_TIMER, TimerKind::LeafDial(index));
    }

    /// A remote's dial timer fired: ask the host to dial its next URL.
    pub(super) fn leaf_dial_timer(&mut self, remote: usize) {
        if self.phase != Phase::Running {
            return;
        }
        let Some(state) = self.leaf.remotes.get_mut(remote) else {
            return;
        };
        if state.conn.is_some() || state.dialing || state.config.urls.is_empty() {
            return;
        }
        state.dialing = true;
        state.loop_detected = false;
        let url = state.config.urls[state.next_url % state.config.urls.len()].clone();
        state.next_url = state.next_url.wrapping_add(1);
        state.current = Some(url.clone());
        self.ready.push_back(Output::DialLeaf {
            remote,
            url: Box::new(url),
        });
    }

    /// A link closed: forget it and dial again later.
    pub(super) fn leaf_link_closed(&mut self, id: ConnId, link: &LeafLink) {
        self.leaf.links.retain(|&l| l != id);
        let Some(remote) = link.remote else { return };
        let Some(state) = self.leaf.remotes.get_mut(remote) else {
            return;
        };
        if state.conn == Some(id) {
            state.conn = None;
        }
        let delay = if state.loop_detected {
            LOOP_DELAY
        } else {
            self.config.leaf_reconnect
        };
        self.schedule_dial(remote, delay);
    }

    /// Parses and performs the leaf operations buffered for `conn`.
    pub(super) fn route_leaf_input(&mut self, conn: ConnId) {
        loop {
            let Some(c) = self.conn_mut(conn) else { return };
            if c.read_buf.is_empty() {
                c.release_read_buffer();
                return;
            }
            let mut buf = std::mem::take(&mut c.read_buf);
            let link = c.leaf.as_deref_mut().expect("a leaf link");
            let parsed = link.parser.parse(&mut buf);
            c.read_buf = buf;
            match parsed {
                Ok(Some(op)) => self.handle_leaf_op(conn, op),
                Ok(None) => return,
                Err(e) => {
                    self.notice(conn, ConnEvent::LeafError { text: e.0 });
                    self.close(conn, CloseReason::ProtocolViolation, None);
                    return;
                }
            }
        }
    }

    fn handle_leaf_op(&mut self, id: ConnId, op: LeafOp) {
        let now = self.now;
        match op {
            LeafOp::Info(json) => self.on_leaf_info(id, &json),
            LeafOp::Ping => {
                if let Some(c) = self.conn_mut(id) {
                    c.ping.last_in = now;
                }
                self.send(id, encode::PONG);
            }
            LeafOp::Pong => {
                if let Some(c) = self.conn_mut(id) {
                    c.ping.outstanding = 0;
                    c.ping.rtt_known = true;
                    if let Some(sent) = c.ping.ping_sent.take() {
                        c.ping.rtt = Some(now.saturating_duration_since(sent));
                    }
                }
            }
            LeafOp::Connect(json) => self.on_leaf_connect(id, &json),
            LeafOp::Ok => {}
            LeafOp::Err(text) => {
                let text = String::from_utf8_lossy(&text).into_owned();
                let permissions = text.contains("Permissions Violation");
                if text.contains("Loop detected") {
                    self.mark_loop(id);
                }
                self.notice(id, ConnEvent::LeafError { text });
                if !permissions {
                    self.close(id, CloseReason::ProtocolViolation, None);
                }
            }
            LeafOp::Sub { subject, queue } => self.on_leaf_sub(id, subject, queue),
            LeafOp::Unsub { subject, queue } => {
                let key = interest_key(&subject, queue.as_ref());
                let found = self.conn_mut(id).and_then(|c| c.subs.get(&key).copied());
                if let Some(key) = found {
                    self.remove_sub(key);
                }
            }
            LeafOp::Msg {
                subject,
                reply,
                queues,
                header_len,
                message,
            } => self.on_leaf_msg(id, subject, reply, &queues, header_len, message),
            // `LeafOp` is non-exhaustive for other crates only.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    /// The hub's INFO: the first one completes the handshake.
    fn on_leaf_info(&mut self, id: ConnId, json: &[u8]) {
        let Some(c) = self.conn_mut(id) else { return };
        let link = c.leaf.as_deref().expect("a leaf link");
        let Some(remote) = link.remote.filter(|_| !link.active) else {
            return; // later INFOs (URL updates, lame duck), or a leaf's: nothing to do
        };
        let info: serde_json::Value = match serde_json::from_slice(json) {
            Ok(v) => v,
            Err(e) => {
                let text = format!("invalid INFO from the hub: {e}");
                self.notice(id, ConnEvent::LeafError { text });
                self.close(id, CloseReason::ProtocolViolation, None);
                return;
            }
        };
        // A leafnode listener announces its leafnode URLs; a client port does not.
        if info.get("leafnode_urls").is_none() {
            let text = "attempted to connect to a port that is not a leafnode port".to_owned();
            self.notice(id, ConnEvent::LeafError { text });
            self.close(id, CloseReason::ProtocolViolation, None);
            return;
        }
        let headers =
            self.config.headers && info.get("headers") == Some(&serde_json::Value::Bool(true));
        let hub = info
            .get("name")
            .or_else(|| info.get("server_id"))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        let account = self.conn_mut(id).map_or(0, |c| c.account);
        let account = self.accounts.get(account).name.clone();
        let state = &self.leaf.remotes[remote];
        let name = if self.config.server_name.is_empty() {
            &self.server_id
        } else {
            &self.config.server_name
        };
        let mut connect = serde_json::json!({
            "version": self.config.version,
            "id": self.server_id,
            "name": name,
            "hub": false,
            "headers": headers,
            "jetstream": false,
            "remote_account": account,
        });
        if !state.config.deny_imports.is_empty() {
            connect["deny_pub"] = serde_json::json!(state.config.deny_imports);
        }
        // A creds file: the user JWT, and the hub's nonce signed with the user's seed.
        let nonce = info.get("nonce").and_then(|n| n.as_str());
        if let (Some(creds), Some(nonce)) = (&state.config.credentials, nonce) {
            connect["jwt"] = serde_json::json!(creds.jwt);
            if let Some(sig) = crate::secret::sign_nonce(&creds.seed, nonce.as_bytes()) {
                connect["sig"] = serde_json::json!(sig);
            }
        }
        if let Some(url) = &state.current {
            match (&url.user, &url.password) {
                (Some(user), Some(pass)) => {
                    connect["user"] = serde_json::json!(user);
                    connect["pass"] = serde_json::json!(pass);
                }
                // A user without a password is a token, as nats-server reads the URL.
                (Some(token), None) => {
                    connect["user"] = serde_json::json!(token);
                    connect["auth_token"] = serde_json::json!(token);
                }
                _ => {}
            }
        }
        let line = format!("CONNECT {connect}\r\n");
        let Some(c) = self.conn_mut(id) else { return };
        c.phase = ConnPhase::Active;
        c.headers = headers;
        let link = c.leaf.as_deref_mut().expect("a leaf link");
        link.hub.clone_from(&hub);
        link.active = true;
        self.send(id, line.as_bytes());
        self.leaf.links.push(id);
        self.announce_all_interest(id);
        self.notice(id, ConnEvent::LeafConnected { server: hub });
    }

    /// A leaf's CONNECT on a link this broker accepted: the link is up, and it learns all
    /// the interest here.
    fn on_leaf_connect(&mut self, id: ConnId, json: &[u8]) {
        let Some(c) = self.conn_mut(id) else { return };
        let link = c.leaf.as_deref().expect("a leaf link");
        if link.spoke() || link.active {
            return;
        }
        let connect: serde_json::Value = match serde_json::from_slice(json) {
            Ok(v) => v,
            Err(e) => {
                let text = format!("invalid CONNECT from the leaf: {e}");
                self.notice(id, ConnEvent::LeafError { text });
                self.close(id, CloseReason::ProtocolViolation, None);
                return;
            }
        };
        // A client carries `lang`; a leaf does not (nats-server's wrong-port check).
        if connect
            .get("lang")
            .and_then(|v| v.as_str())
            .is_some_and(|l| !l.is_empty())
        {
            self.notice(
                id,
                ConnEvent::LeafError {
                    text: "attempted to connect to leaf node port".into(),
                },
            );
            self.close(
                id,
                CloseReason::ProtocolViolation,
                Some("attempted to connect to leaf node port"),
            );
            return;
        }
        let headers =
            self.config.headers && connect.get("headers") == Some(&serde_json::Value::Bool(true));
        let name = connect
            .get("name")
            .or_else(|| connect.get("id"))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        // The leaf's `deny_pub` (its deny_imports): what it does not want from here.
        let deny_pub: Vec<String> = connect
            .get("deny_pub")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let Some(c) = self.conn_mut(id) else { return };
        c.phase = ConnPhase::Active;
        c.headers = headers;
        if !deny_pub.is_empty() {
            c.perms = Some(Box::new(crate::Permissions {
                subscribe: Rules {
                    allow: None,
                    deny: deny_pub,
                },
                ..crate::Permissions::default()
            }));
        }
        let link = c.leaf.as_deref_mut().expect("a leaf link");
        link.active = true;
        link.hub.clone_from(&name);
        self.leaf.links.push(id);
        self.announce_all_interest(id);
        self.notice(id, ConnEvent::LeafConnected { server: name });
    }

    /// Sends every interest the link may hear of, and the loop detection subject, to a new
    /// link.
    fn announce_all_interest(&mut self, id: ConnId) {
        let Some(c) = self.conn_mut(id) else { return };
        let spoke = c.leaf.as_deref().is_some_and(LeafLink::spoke);
        let account = c.account;
        let mut smap: HashMap<Bytes, u32> = HashMap::new();
        for sub in self.subs.iter().flatten().filter(|s| s.account == account) {
            let origin = sub.leaf.then_some((sub.conn, sub.from_spoke));
            if passes_to(id, spoke, origin) {
                *smap
                    .entry(interest_key(&sub.subject, sub.queue.as_ref()))
                    .or_insert(0) += sub.weight;
            }
        }
        let lds = self.leaf.lds.clone();
        let Some(c) = self.conn_mut(id) else { return };
        let link = c.leaf.as_deref_mut().expect("a leaf link");
        let mut lines = Vec::new();
        let mut keys: Vec<_> = smap.iter().collect();
        keys.sort();
        for (key, &n) in keys {
            if announces(link, key) {
                put_interest(&mut lines, key, n);
            }
        }
        put_interest(&mut lines, &lds, 1);
        link.smap = smap;
        self.send(id, &lines);
    }

    /// A subscription in `account` came (`delta` > 0) or went (< 0), weighted by the members
    /// it stands for: tell every link of that account that must know. `origin` is the link
    /// that owns it (with whether that link is a spoke), `None` for a local client's.
    pub(super) fn leaf_interest(
        &mut self,
        account: super::accounts::AccountId,
        subject: &Bytes,
        queue: Option<&Bytes>,
        delta: i32,
        origin: Option<(ConnId, bool)>,
    ) {
        let key = interest_key(subject, queue);
        for id in self.leaf.links.clone() {
            let Some(c) = self.conn_mut(id).filter(|c| c.account == account) else {
                continue;
            };
            let link = c.leaf.as_deref_mut().expect("a leaf link");
            if !passes_to(id, link.spoke(), origin) {
                continue;
            }
            let before = link.smap.get(&key).copied().unwrap_or(0);
            if delta < 0 && before == 0 {
                continue;
            }
            let after = before.saturating_add_signed(delta);
            if after > 0 {
                link.smap.insert(key.clone(), after);
            } else {
                link.smap.remove(&key);
            }
            let changed = queue.is_some() || (before == 0) != (after == 0);
            if changed && announces(link, &key) {
                let mut line = Vec::new();
                put_interest(&mut line, &key, after);
                self.send(id, &line);
            }
        }
    }

    /// The hub's interest (`LS+`).
    fn on_leaf_sub(&mut self, id: ConnId, subject: Bytes, queue: Option<(Bytes, u32)>) {
        let Some(account) = self.conn_mut(id).map(|c| c.account) else {
            return;
        };
        if subject == self.leaf.lds {
            self.mark_loop(id);
            let text = format!(
                "Loop detected for leafnode account=\"{}\". Delaying attempt to reconnect for 30s",
                self.accounts.get(account).name
            );
            self.notice(id, ConnEvent::LeafError { text: text.clone() });
            self.close(id, CloseReason::ProtocolViolation, Some(&text));
            return;
        }
        let Some(c) = self.conn_mut(id) else { return };
        let link = c.leaf.as_deref().expect("a leaf link");
        let spoke = link.spoke();
        if link.deny_exports.denies(&subject) {
            return;
        }
        let (queue, weight) = match queue {
            Some((q, w)) => (Some(q), w),
            None => (None, 1),
        };
        let key = interest_key(&subject, queue.as_ref());
        if let Some(&existing) = c.subs.get(&key) {
            // A queue's new weight: pass the difference on.
            let before = std::mem::replace(&mut self.sub_mut(existing).weight, weight);
            let delta = i64::from(weight) - i64::from(before);
            if delta != 0 && self.leaf.has_links() {
                let delta = i32::try_from(delta).unwrap_or(0);
                self.leaf_interest(account, &subject, queue.as_ref(), delta, Some((id, spoke)));
            }
            return;
        }
        if !crate::subject::is_valid_subscription(&subject) {
            return;
        }
        let subject = Bytes::copy_from_slice(&subject);
        let queue = queue.map(|q| Bytes::copy_from_slice(&q));
        let sub_key = self.alloc_sub(Subscription {
            conn: id,
            subject: subject.clone(),
            queue: queue.clone(),
            sid: key.clone(),
            max: None,
            delivered: 0,
            leaf: true,
            from_spoke: spoke,
            weight,
            account,
        });
        if self
            .accounts
            .get_mut(account)
            .sublist
            .insert(&subject, queue.as_deref(), sub_key)
            .is_err()
        {
            self.free_sub(sub_key);
            return;
        }
        if let Some(c) = self.conn_mut(id) {
            c.subs.insert(key, sub_key);
        }
        let delta = i32::try_from(weight).unwrap_or(i32::MAX);
        self.leaf_interest(account, &subject, queue.as_ref(), delta, Some((id, spoke)));
    }

    /// A message from the hub.
    fn on_leaf_msg(
        &mut self,
        id: ConnId,
        subject: Bytes,
        reply: Option<Bytes>,
        queues: &[Bytes],
        header_len: usize,
        message: Bytes,
    ) {
        let now = self.now;
        let Some(c) = self.conn_mut(id) else { return };
        c.ping.last_in = now;
        c.traffic.in_msgs += 1;
        c.traffic.in_bytes += message.len() as u64;
        let account = c.account;
        let link = c.leaf.as_deref().expect("a leaf link");
        if link.deny_imports.denies(&subject) {
            return;
        }
        self.stats.traffic.in_msgs += 1;
        self.stats.traffic.in_bytes += message.len() as u64;
        // The link lives in the account its remote binds to.
        let matches = self.accounts.matches(account, &subject);
        let msg = Message {
            subject: &subject,
            reply: reply.as_deref(),
            header_len,
            message: &message,
            queues: Some(queues),
        };
        self.deliver(id, true, &matches, &msg);
        if self.accounts.has_routes(account) {
            self.route_between_accounts(id, account, &msg);
        }
        self.end_input(id);
    }

    /// The link's remote waits for the loop delay before its next dial.
    fn mark_loop(&mut self, id: ConnId) {
        let remote = self
            .conn_mut(id)
            .and_then(|c| c.leaf.as_deref())
            .and_then(|l| l.remote);
        if let Some(state) = remote.and_then(|r| self.leaf.remotes.get_mut(r)) {
            state.loop_detected = true;
        }
    }
}

/// Whether interest owned by `origin` (a link and whether it is a spoke; `None` for a local
/// client) is announced over link `to`: never back to its own link, and a spoke link hears
/// only of local clients and accepted leafs, never of another hub.
fn passes_to(to: ConnId, to_spoke: bool, origin: Option<(ConnId, bool)>) -> bool {
    match origin {
        None => true,
        Some((owner, _)) if owner == to => false,
        Some((_, owner_spoke)) => !(to_spoke && owner_spoke),
    }
}

/// `subject` or `subject queue`: how the protocol names an interest.
fn interest_key(subject: &Bytes, queue: Option<&Bytes>) -> Bytes {
    match queue {
        None => subject.clone(),
        Some(q) => {
            let mut key = Vec::with_capacity(subject.len() + 1 + q.len());
            key.extend_from_slice(subject);
            key.push(b' ');
            key.extend_from_slice(q);
            Bytes::from(key)
        }
    }
}

/// Whether local interest in `key` may be announced over `link` (`deny_imports`).
fn announces(link: &LeafLink, key: &[u8]) -> bool {
    let subject = key.split(|&b| b == b' ').next().unwrap_or_default();
    !link.deny_imports.denies(subject)
}

/// Appends `LS+ key[ n]` (n for queue keys) or, for a count of zero, `LS- key`.
fn put_interest(out: &mut Vec<u8>, key: &[u8], n: u32) {
    if n == 0 {
        out.put_slice(b"LS- ");
        out.put_slice(key);
    } else {
        out.put_slice(b"LS+ ");
        out.put_slice(key);
        if key.contains(&b' ') {
            out.put_u8(b' ');
            out.put_slice(n.to_string().as_bytes());
        }
    }
    out.put_slice(b"\r\n");
}
