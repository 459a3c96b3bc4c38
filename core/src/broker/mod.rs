//! The broker: connections, subscriptions, delivery, limits, timers and the lifecycle.

mod accounts;
mod client_info;
mod conn;
mod connect;
mod control;
pub use control::{ControlOp, error_json as control_error_json};
mod faults;
mod flow;
mod gojson;
mod info;
pub(crate) mod leaf;
pub use leaf::LeafInfo;
mod outbound;
mod system;
mod timers;

use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use self::accounts::{AccountId, Accounts};
use self::conn::{Conn, ConnPhase, PingState, SubKey};
use self::connect::ConnectOptions;
use self::info::{InfoFor, InfoTemplate};
use self::timers::{TimerKind, Timers};
use crate::notice::{go_quote, proto_snippet};
use crate::proto::{ClientOp, ParseError, Parser, ParserLimits, encode};
use crate::sublist::Matches;
use crate::{
    CloseReason, Config, ConfigError, ConnEvent, ConnId, ConnInfo, Instant, Notice, Output,
    PeerInfo, Stats, SubInfo, subject,
};

/// Subjects cached by the subject index.
const SUBLIST_CACHE: usize = 1024;

/// Where the broker is in its life. Transitions only go forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Accepting and serving clients.
    Running,
    /// Lame duck: not accepting, closing clients gradually.
    LameDuck,
    /// Shutdown requested: flushing what was accepted and closing every connection.
    Draining,
    /// Every connection is closed; nothing more will happen.
    Stopped,
}

/// Why [`Broker::accept`] refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refused {
    /// The broker is shutting down or in lame duck mode.
    ShuttingDown,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the broker is shutting down")
    }
}

impl std::error::Error for Refused {}

/// The actions of the one shutdown: stop listening, flush, close each connection, stopped.
///
/// Returned by the first [`Broker::shutdown`] only. Perform the outputs in order, through the
/// same code that handles [`Broker::poll_output`].
#[must_use = "the shutdown actions must be performed"]
#[derive(Debug)]
pub struct Shutdown {
    outputs: Vec<Output>,
}

impl IntoIterator for Shutdown {
    type Item = Output;
    type IntoIter = std::vec::IntoIter<Output>;
    fn into_iter(self) -> Self::IntoIter {
        self.outputs.into_iter()
    }
}

/// One subscription.
#[derive(Debug)]
struct Subscription {
    conn: ConnId,
    subject: Bytes,
    queue: Option<Bytes>,
    sid: Bytes,
    /// Auto-unsubscribe after this many deliveries.
    max: Option<u64>,
    delivered: u64,
    /// Owned by a leaf link: the other side's interest (`LS+`), delivered as `LMSG`.
    leaf: bool,
    /// Owned by a link this broker dialed (its hub's interest, which is not passed on to
    /// other hubs).
    from_spoke: bool,
    /// Queue members behind a leaf link's queue interest (1 for local subscriptions).
    weight: u32,
    /// The account whose subject index holds it.
    account: AccountId,
}

/// A connection slot: reused after a close with a new generation.
#[derive(Debug, Default)]
struct Slot {
    generation: u32,
    conn: Option<Box<Conn>>,
}

/// Lame duck progress.
#[derive(Debug, Clone, Copy)]
struct LameDuck {
    /// When the next client is closed.
    next_close: Instant,
    /// Time between two closes.
    interval: Duration,
}

/// The NATS broker state machine. See the crate documentation for how to drive it.
#[derive(Debug)]
pub struct Broker {
    config: Config,
    phase: Phase,
    rng: fastrand::Rng,
    server_id: String,
    info: InfoTemplate,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    next_cid: u64,
    subs: Vec<Option<Subscription>>,
    free_subs: Vec<u32>,
    /// Every account's subject index and the routes between accounts (see `accounts`).
    accounts: Accounts,
    /// Outputs ready in order (closes and the transmits that must precede them).
    ready: VecDeque<Output>,
    /// Connections with queued bytes, transmitted on the next poll.
    dirty: Vec<ConnId>,
    /// Consumers the current input pushed past the stall threshold (see `flow`).
    stalled_consumers: Vec<ConnId>,
    timers: Timers,
    lame_duck: Option<LameDuck>,
    /// Injected faults (see `faults`).
    faults: faults::Faults,
    stats: Stats,
    /// The last `max_closed_clients` closed connections, oldest first.
    closed: VecDeque<ConnInfo>,
    /// Leaf remotes and links (see `leaf`).
    leaf: leaf::LeafState,
    /// What the operator's JWTs establish, in operator mode.
    trust: Option<Rc<crate::operator::Trust>>,
    /// Answers sent by the system services (`seq` in their `server` block).
    system_seq: u64,
    now: Instant,
}

impl Broker {
    /// A running broker with `config`, randomness seeded from `seed`, started at `now`.
    ///
    /// An empty `config.server_id` is replaced by one derived from the seed (56 characters,
    /// starting with `N`, like a nats-server nkey).
    pub fn new(config: Config, seed: u64, now: Instant) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let server_id = if config.server_id.is_empty() {
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
            std::iter::once('N')
                .chain((0..55).map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char))
                .collect()
        } else {
            config.server_id.clone()
        };
        let info = InfoTemplate::new(&config, &server_id);
        let mut timers = Timers::default();
        let leaf = leaf::LeafState::new(&config, &server_id, &mut timers, now);
        let trust = trust_of(&config);
        let mut accounts = Accounts::new(&mut rng);
        accounts.configure(&config, trust.as_deref(), &mut rng);
        Self {
            phase: Phase::Running,
            server_id,
            info,
            slots: Vec::new(),
            free_slots: Vec::new(),
            next_cid: 1,
            subs: Vec::new(),
            free_subs: Vec::new(),
            accounts,
            ready: VecDeque::new(),
            dirty: Vec::new(),
            stalled_consumers: Vec::new(),
            timers,
            lame_duck: None,
            faults: faults::Faults::default(),
            stats: Stats::default(),
            closed: VecDeque::new(),
            leaf,
            system_seq: 0,
            trust,
            now,
            rng,
            config,
        }
    }

    /// The system account's name (`/varz`'s `system_account`), if there is one.
    pub fn system_account(&self) -> Option<&str> {
        self.accounts.system_name()
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the broker is in its lifecycle.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The broker-wide counters.
    pub fn stats(&self) -> Stats {
        Stats {
            subscriptions: self.accounts.iter().map(|a| a.sublist.len()).sum(),
            ..self.stats
        }
    }

    /// Every open connection, as monitoring shows it, in accept order of their slots.
    pub fn connections(&self) -> impl Iterator<Item = ConnInfo> + '_ {
        self.slots
            .iter()
            .filter_map(|slot| slot.conn.as_deref())
            .filter(|c| c.leaf.is_none())
            .map(|c| conn_info(c, &self.accounts))
    }

    /// The last [`Config::max_closed_clients`] closed connections, oldest first, each with
    /// [`ConnInfo::closed`] set (`/connz?state=closed`).
    pub fn closed_connections(&self) -> impl Iterator<Item = &ConnInfo> + '_ {
        self.closed.iter()
    }

    /// The subscriptions of `conn` (none if it is not open), ordered by their slot.
    pub fn subscriptions_of(&self, conn: ConnId) -> Vec<SubInfo> {
        self.slots
            .get(conn.index())
            .and_then(|slot| slot.conn.as_deref())
            .filter(|c| c.id == conn)
            .map(|c| self.subscriptions_of_conn(c).collect())
            .unwrap_or_default()
    }

    fn subscriptions_of_conn<'a>(&'a self, c: &'a Conn) -> impl Iterator<Item = SubInfo> + 'a {
        let mut keys: Vec<SubKey> = c.subs.values().copied().collect();
        keys.sort_unstable_by_key(|k| k.0);
        keys.into_iter().map(move |key| {
            let s = self.sub(key);
            SubInfo {
                conn: c.id,
                cid: c.cid,
                subject: String::from_utf8_lossy(&s.subject).into_owned(),
                queue: s
                    .queue
                    .as_ref()
                    .map(|q| String::from_utf8_lossy(q).into_owned()),
                sid: String::from_utf8_lossy(&s.sid).into_owned(),
                delivered: s.delivered,
                max: s.max,
                account: self.accounts.get(s.account).name.clone(),
            }
        })
    }

    /// The subject index's counters (`/subsz`).
    pub fn sublist_stats(&self) -> crate::sublist::SublistStats {
        let mut total = crate::sublist::SublistStats::default();
        let mut fanout_weight = 0.0;
        for account in self.accounts.iter() {
            let s = account.sublist.stats();
            total.subscriptions += s.subscriptions;
            total.cache_entries += s.cache_entries;
            total.inserts += s.inserts;
            total.removes += s.removes;
            total.matches += s.matches;
            total.cache_hits += s.cache_hits;
            total.max_fanout = total.max_fanout.max(s.max_fanout);
            fanout_weight += s.avg_fanout * s.cache_entries as f64;
        }
        if total.cache_entries > 0 {
            total.avg_fanout = fanout_weight / total.cache_entries as f64;
        }
        total
    }

    /// Every subscription in the index, as monitoring shows it (`/subsz?subs=1`), with the
    /// connection that owns it.
    pub fn subscriptions(&self) -> impl Iterator<Item = SubInfo> + '_ {
        self.subs.iter().flatten().map(|sub| SubInfo {
            conn: sub.conn,
            cid: self
                .slots
                .get(sub.conn.index())
                .and_then(|slot| slot.conn.as_deref())
                .map_or(0, |c| c.cid),
            subject: String::from_utf8_lossy(&sub.subject).into_owned(),
            queue: sub
                .queue
                .as_ref()
                .map(|q| String::from_utf8_lossy(q).into_owned()),
            sid: String::from_utf8_lossy(&sub.sid).into_owned(),
            delivered: sub.delivered,
            max: sub.max,
            account: self.accounts.get(sub.account).name.clone(),
        })
    }

    /// Closes `conn` from the server side (nats-server's `/kick`): what was accepted is flushed,
    /// then the connection closes with [`CloseReason::Kicked`]. Returns `false` if `conn` is
    /// already closed or stale.
    pub fn kick(&mut self, conn: ConnId, now: Instant) -> bool {
        self.advance(now);
        if self.conn_mut(conn).is_none() {
            return false;
        }
        self.close(conn, CloseReason::Kicked, None);
        true
    }

    /// The server id sent in INFO.
    pub fn server_id(&self) -> &str {
        &self.server_id
    }

    /// Registers a new connection and queues its INFO. A connection over `max_connections` is
    /// accepted only to be sent INFO, `-ERR 'maximum connections exceeded'` and a close.
    pub fn accept(&mut self, peer: PeerInfo, now: Instant) -> Result<ConnId, Refused> {
        self.advance(now);
        if self.phase != Phase::Running {
            return Err(Refused::ShuttingDown);
        }
        let id = self.new_conn(peer, now, None);
        if self.config.auth.has_nkeys() {
            // nats-server's nonce: 11 random bytes, base64url without padding (15 characters).
            const ALPHABET: &[u8] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let nonce: String = (0..15)
                .map(|_| ALPHABET[self.rng.usize(..ALPHABET.len())] as char)
                .collect();
            if let Some(c) = self.conn_mut(id) {
                c.nonce = Some(nonce.into());
            }
        }
        self.notice(id, ConnEvent::Created);
        self.stats.connections += 1;
        self.stats.total_connections += 1;
        self.send_info(id, InfoKind::Accept);
        if self.faults.any() && self.fault_refuses_accept(id) {
            return Ok(id);
        }

        if self.stats.connections > self.config.max_connections {
            self.notice(id, ConnEvent::MaxConnectionsExceeded);
            self.close(
                id,
                CloseReason::MaxConnectionsExceeded,
                Some("maximum connections exceeded"),
            );
            return Ok(id);
        }
        self.timers
            .schedule(now + self.config.ping_interval, id, TimerKind::Ping);
        if self.config.auth_required() {
            let deadline = now + self.config.auth_timeout;
            self.conn_mut(id).expect("just inserted").auth_deadline = Some(deadline);
            self.timers.schedule(deadline, id, TimerKind::Auth);
        }
        Ok(id)
    }

    /// A new connection in a free slot (a client, or a leaf link when `leaf` is given).
    fn new_conn(
        &mut self,
        peer: PeerInfo,
        now: Instant,
        leaf: Option<Box<leaf::LeafLink>>,
    ) -> ConnId {
        let index = match self.free_slots.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Slot::default());
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 connections")
            }
        };
        let slot = &mut self.slots[index as usize];
        let id = ConnId {
            index,
            generation: slot.generation,
        };
        let cid = self.next_cid;
        self.next_cid += 1;
        let limits = ParserLimits {
            max_control_line: self.config.max_control_line,
            max_payload: self.config.max_payload,
        };
        let mut parser = Parser::new(limits);
        parser.set_headers(false);
        parser.set_pedantic(ConnectOptions::default().pedantic);
        let conn = Box::new(Conn {
            id,
            cid,
            peer,
            phase: ConnPhase::AwaitConnect,
            opts: ConnectOptions::default(),
            headers: false,
            perms: None,
            read_buf: BytesMut::new(),
            parser,
            out: Default::default(),
            flow: Default::default(),
            subs: Default::default(),
            ping: PingState::new(now, self.config.ping_interval),
            auth_deadline: None,
            traffic: Default::default(),
            start: now,
            last_activity: now,
            leaf,
            nonce: None,
            replies: Default::default(),
            account: 0,
            user: Box::default(),
            tls_names: Vec::new(),
            expires: None,
            max_subs: None,
        });
        slot.conn = Some(conn);
        id
    }

    /// Bytes read from `conn`. Ignored if `conn` is closed or stale.
    ///
    /// Input is accepted while the host was told to pause reading `conn`
    /// ([`Output::PauseReading`]): bytes already read when the pause came are never lost.
    pub fn handle_input(&mut self, conn: ConnId, bytes: BytesMut, now: Instant) {
        self.advance(now);
        if self.phase >= Phase::Draining {
            return;
        }
        self.route_input(conn, bytes, now);
        self.end_input(conn);
    }

    /// The names in `conn`'s verified client certificate (e-mail and DNS names, then the
    /// subject as an RFC 2253 string), which the host learned in the TLS handshake. With
    /// [`Config::tls_map`] the client authenticates as the user so named, as nats-server's
    /// `verify_and_map`. Call before passing the connection's first input.
    pub fn set_tls_names(&mut self, conn: ConnId, names: Vec<String>) {
        if let Some(c) = self.conn_mut(conn) {
            c.tls_names = names;
        }
    }

    /// Whether the host should currently leave `conn` unread (between an
    /// [`Output::PauseReading`] and the matching [`Output::ResumeReading`]). False for a closed
    /// or stale handle.
    pub fn is_reading_paused(&self, conn: ConnId) -> bool {
        self.slots
            .get(conn.index as usize)
            .filter(|slot| slot.generation == conn.generation)
            .and_then(|slot| slot.conn.as_deref())
            .is_some_and(|c| c.flow.is_paused())
    }

    /// Parses and performs every complete operation in `bytes` (after what was buffered).
    fn route_input(&mut self, conn: ConnId, bytes: BytesMut, now: Instant) {
        let Some(c) = self.conn_mut(conn) else { return };
        c.last_activity = now;
        if c.read_buf.is_empty() {
            c.read_buf = bytes;
        } else {
            c.read_buf.unsplit(bytes);
        }
        if c.leaf.is_some() {
            self.route_leaf_input(conn);
            return;
        }
        loop {
            let auth_required = self.config.auth_required();
            let Some(c) = self.conn_mut(conn) else { return };
            if c.read_buf.is_empty() {
                c.release_read_buffer();
                return;
            }
            if c.phase == ConnPhase::AwaitConnect
                && auth_required
                && c.parser.at_op_start()
                && !matches!(c.read_buf[0], b'C' | b'c')
            {
                self.notice(conn, ConnEvent::AuthenticationFailed { credentials: None });
                self.close(
                    conn,
                    CloseReason::AuthenticationFailure,
                    Some("Authorization Violation"),
                );
                return;
            }
            let mut buf = std::mem::take(&mut c.read_buf);
            let parsed = c.parser.parse(&mut buf);
            c.read_buf = buf;
            match parsed {
                Ok(Some(op)) => self.handle_op(conn, op),
                Ok(None) => {
                    if let Some(c) = self.conn_mut(conn) {
                        c.release_read_buffer();
                    }
                    return;
                }
                Err(error) => {
                    self.protocol_error_notice(conn, error);
                    self.close(conn, CloseReason::Protocol(error), error.wire_text());
                    return;
                }
            }
        }
    }

    /// The host finished writing `n` bytes of what was transmitted to `conn`.
    pub fn handle_written(&mut self, conn: ConnId, n: usize, now: Instant) {
        self.advance(now);
        if let Some(c) = self.conn_mut(conn) {
            c.out.written(n);
            self.consumer_drained(conn);
        }
    }

    /// The peer closed `conn`, reading or writing failed, or a write missed its deadline
    /// (`reason` says which). Ignored if `conn` is already closed.
    pub fn handle_eof(&mut self, conn: ConnId, reason: CloseReason, now: Instant) {
        self.advance(now);
        if self.conn_mut(conn).is_some() {
            if matches!(reason, CloseReason::SlowConsumerWriteDeadline) {
                self.stats.slow_consumers += 1;
                let pending = self.conn_mut(conn).map_or(0, |c| c.out.pending());
                let write_deadline = self.config.write_deadline;
                self.notice(
                    conn,
                    ConnEvent::SlowConsumerWriteDeadline {
                        write_deadline,
                        pending,
                    },
                );
            }
            self.close(conn, reason, None);
        }
    }

    /// A timer fired. Spurious or early calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
        if self.phase >= Phase::Draining {
            return;
        }
        while let Some((id, kind)) = self.timers.pop_due(now) {
            match kind {
                TimerKind::Ping => self.ping_timer(id, now),
                TimerKind::Auth => self.auth_timer(id, now),
                TimerKind::Stall => self.stall_timer(id, now),
                TimerKind::LeafDial(remote) => self.leaf_dial_timer(remote as usize),
                TimerKind::Expiry => self.expiry_timer(id, now),
            }
        }
        self.lame_duck_timer(now);
        if self.faults.any() {
            self.fault_timers(now);
        }
    }

    /// The next thing the host must do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(output) = self.ready.pop_front() {
            return Some(output);
        }
        if self.faults.any() {
            if let Some(piece) = self.next_piece(None) {
                return Some(piece);
            }
        }
        while let Some(id) = self.dirty.pop() {
            let Some(c) = self.conn_mut(id) else { continue };
            if c.out.has_data() {
                let segments = c.out.take();
                if self.faults.any() {
                    match self.fault_transmit(id, segments) {
                        Some(output) => return Some(output),
                        None => continue,
                    }
                }
                return Some(Output::Transmit { conn: id, segments });
            }
            c.out.dirty = false;
        }
        None
    }

    /// The next instant at which [`Broker::handle_timeout`] must be called, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase >= Phase::Draining {
            return None;
        }
        let lame = self.lame_duck.map(|l| l.next_close);
        [self.timers.next(), lame, self.faults.deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Requests a graceful shutdown. The first call moves the broker to `Draining` and returns
    /// every action to perform: stop listening, flush what was accepted, close each connection
    /// once, then `Stopped`. Later calls return `None` and change nothing.
    pub fn shutdown(&mut self, now: Instant) -> Option<Shutdown> {
        self.advance(now);
        if self.phase >= Phase::Draining {
            return None;
        }
        self.begin_shutdown();
        Some(Shutdown {
            outputs: self.ready.drain(..).collect(),
        })
    }

    /// Requests lame duck mode: stop accepting, announce `ldm` to clients, close them gradually
    /// over `lame_duck_duration`, then shut down. Returns `false` if already requested or later.
    pub fn lame_duck(&mut self, now: Instant) -> bool {
        self.advance(now);
        if self.phase != Phase::Running {
            return false;
        }
        self.phase = Phase::LameDuck;
        self.ready.push_back(Output::StopListening);
        let ids = self.live_conns();
        if ids.is_empty() {
            self.begin_shutdown();
            return true;
        }
        for &id in &ids {
            self.send_lame_duck_info(id);
        }
        let spread = self
            .config
            .lame_duck_duration
            .saturating_sub(self.config.lame_duck_grace_period);
        let spread = spread.max(Duration::from_secs(1));
        let interval = (spread / ids.len() as u32).min(Duration::from_secs(1));
        self.lame_duck = Some(LameDuck {
            next_close: now + self.config.lame_duck_grace_period,
            interval,
        });
        true
    }

    /// Applies a new configuration (SIGHUP reload). The server identity (id, name) and listen
    /// address are kept; limits apply to existing connections from their next operation.
    pub fn reload(&mut self, config: Config, now: Instant) -> Result<(), ConfigError> {
        self.advance(now);
        config.validate()?;
        // The identity and the listen address stay: clients and INFO keep seeing the same
        // server (a random port, `-p -1`, would otherwise turn into 0).
        let config = Config {
            server_id: self.server_id.clone(),
            server_name: self.config.server_name.clone(),
            host: self.config.host.clone(),
            port: self.config.port,
            websocket: self.config.websocket.clone(),
            // Leaf links and listeners are set up at start (nats-server does not reload them).
            leaf_remotes: self.config.leaf_remotes.clone(),
            leaf_listen: self.config.leaf_listen.clone(),
            ..config
        };
        self.info = InfoTemplate::new(&config, &self.server_id);
        let limits = ParserLimits {
            max_control_line: config.max_control_line,
            max_payload: config.max_payload,
        };
        for slot in &mut self.slots {
            if let Some(c) = slot.conn.as_mut() {
                c.parser.set_limits(limits);
            }
        }
        self.trust = trust_of(&config);
        self.accounts
            .configure(&config, self.trust.as_deref(), &mut self.rng);
        self.config = config;
        self.recheck_authorization();
        Ok(())
    }

    /// After a reload, as nats-server's `reloadAuthorization`: a client whose credentials no
    /// longer authorize it is closed (without an `-ERR`, as nats-server 2.15 does); the others
    /// take their user's new permissions and lose each subscription those no longer allow,
    /// with the subscription's permissions violation naming its sid.
    fn recheck_authorization(&mut self) {
        for id in self.live_conns() {
            let Some(c) = conn_in(&mut self.slots, id) else {
                continue;
            };
            if c.leaf.is_some() || c.phase != ConnPhase::Active {
                continue;
            }
            let opts = c.opts.clone();
            // A user moved to another account is closed too: its subscriptions live in the
            // old account's subject space.
            let account = c.account;
            let identity = self
                .authenticate(id, &opts)
                .filter(|identity| identity.account == account);
            let Some(identity) = identity else {
                let credentials = opts.credentials();
                self.notice(id, ConnEvent::AuthenticationFailed { credentials });
                self.close(id, CloseReason::AuthenticationFailure, None);
                continue;
            };
            let payload = identity
                .limits
                .payload
                .map_or(self.config.max_payload, |p| {
                    usize::try_from(p)
                        .unwrap_or(usize::MAX)
                        .min(self.config.max_payload)
                });
            let max_control_line = self.config.max_control_line;
            let Some(c) = conn_in(&mut self.slots, id) else {
                continue;
            };
            c.perms = identity.permissions;
            c.max_subs = identity.limits.subscriptions;
            c.parser.set_limits(ParserLimits {
                max_control_line,
                max_payload: payload,
            });
            let Some(perms) = c.perms.as_deref() else {
                continue;
            };
            let mut keys: Vec<SubKey> = c.subs.values().copied().collect();
            keys.sort_unstable_by_key(|k| k.0);
            let lost: Vec<(SubKey, String)> = keys
                .into_iter()
                .filter_map(|key| {
                    let sub = self.subs[key.0 as usize].as_ref()?;
                    if perms
                        .subscribe
                        .permits_subscription(&sub.subject, sub.queue.as_deref())
                    {
                        return None;
                    }
                    let mut text = format!(
                        "Permissions Violation for Subscription to \"{}\"",
                        String::from_utf8_lossy(&sub.subject)
                    );
                    if let Some(queue) = &sub.queue {
                        text.push_str(&format!(
                            " using queue \"{}\"",
                            String::from_utf8_lossy(queue)
                        ));
                    }
                    text.push_str(&format!(" (sid \"{}\")", String::from_utf8_lossy(&sub.sid)));
                    Some((key, text))
                })
                .collect();
            for (key, text) in lost {
                self.send_err(id, &text);
                self.remove_sub(key);
            }
        }
    }

    // ----- inputs, per operation -----

    fn handle_op(&mut self, id: ConnId, op: ClientOp) {
        match op {
            ClientOp::Connect(json) => self.on_connect(id, &json),
            ClientOp::Pub {
                subject,
                reply,
                payload,
            } => {
                self.on_pub(id, subject, reply, 0, payload);
            }
            ClientOp::HPub {
                subject,
                reply,
                header_len,
                message,
            } => {
                let headers = self.conn_mut(id).is_some_and(|c| c.headers);
                if !headers {
                    self.close(id, CloseReason::ProtocolViolation, None);
                    return;
                }
                self.on_pub(id, subject, reply, header_len, message);
            }
            ClientOp::Sub {
                subject,
                queue,
                sid,
            } => self.on_sub(id, subject, queue, sid),
            ClientOp::Unsub { sid, max } => self.on_unsub(id, &sid, max),
            ClientOp::Ping => self.on_ping(id),
            ClientOp::Pong => {
                let now = self.now;
                if let Some(c) = self.conn_mut(id) {
                    c.ping.outstanding = 0;
                    c.ping.rtt_known = true;
                    if let Some(sent) = c.ping.ping_sent.take() {
                        c.ping.rtt = Some(now.saturating_duration_since(sent));
                    }
                }
            }
            ClientOp::InvalidPublishSubject => self.send_err(id, "Invalid Publish Subject"),
            ClientOp::Info(json) => {
                if let Err(e) = client_info::check(&json) {
                    let reason = e.to_string();
                    self.notice(id, ConnEvent::InvalidJson { reason });
                    self.close(id, CloseReason::ProtocolViolation, None);
                }
            }
            ClientOp::Ok => {}
            ClientOp::Err(text) => {
                let text = String::from_utf8_lossy(&text).into_owned();
                self.notice(id, ConnEvent::ClientError { text });
                self.close(id, CloseReason::ProtocolViolation, None);
            }
            // `ClientOp` is non-exhaustive for other crates only.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    fn on_connect(&mut self, id: ConnId, json: &[u8]) {
        if self.faults.any() && self.fault_refuses_connect(id) {
            return;
        }
        let Some(update) = self.conn_mut(id).map(|c| c.opts.update(json)) else {
            return;
        };
        let opts = match update {
            Ok(opts) => opts,
            Err(e) => {
                let reason = e.to_string();
                self.notice(id, ConnEvent::InvalidJson { reason });
                self.close(id, CloseReason::ProtocolViolation, None);
                return;
            }
        };
        let identity = self
            .authenticate(id, &opts)
            .filter(|_| !opts.asks_for_account());
        let (perms, account, user, expires, limits) = match identity {
            Some(identity) => (
                identity.permissions,
                identity.account,
                identity.user,
                identity.expires,
                identity.limits,
            ),
            None => {
                let credentials = opts.credentials();
                self.notice(id, ConnEvent::AuthenticationFailed { credentials });
                self.close(
                    id,
                    CloseReason::AuthenticationFailure,
                    Some("Authorization Violation"),
                );
                return;
            }
        };
        if !(0..=1).contains(&opts.protocol) {
            self.notice(id, ConnEvent::InvalidClientProtocol);
            self.close(
                id,
                CloseReason::BadClientProtocol,
                Some("invalid client protocol"),
            );
            return;
        }
        if opts.no_responders && !opts.headers {
            self.notice(id, ConnEvent::NoRespondersRequiresHeaders);
            self.close(
                id,
                CloseReason::NoRespondersRequiresHeaders,
                Some("no responders requires headers support"),
            );
            return;
        }
        let now = self.now;
        let first_ping = self.first_ping_delay();
        let server_headers = self.config.headers;
        if self.conn_mut(id).is_some_and(|c| c.account != account) {
            // A second CONNECT into another account: the old account's subscriptions go.
            let keys: Vec<SubKey> = self
                .conn_mut(id)
                .map(|c| c.subs.values().copied().collect())
                .unwrap_or_default();
            keys.into_iter().for_each(|key| self.remove_sub(key));
        }
        if let Some(max) = limits.connections {
            let first = self
                .conn_mut(id)
                .is_some_and(|c| c.phase != ConnPhase::Active);
            if first && self.clients_in(account) as u64 >= max {
                self.notice(id, ConnEvent::MaxAccountConnectionsExceeded);
                self.close(
                    id,
                    CloseReason::MaxAccountConnectionsExceeded,
                    Some("maximum account active connections exceeded"),
                );
                return;
            }
        }
        if let Some(at) = expires {
            self.timers.schedule(at, id, TimerKind::Expiry);
        }
        let parser_limits = ParserLimits {
            max_control_line: self.config.max_control_line,
            max_payload: limits.payload.map_or(self.config.max_payload, |p| {
                usize::try_from(p)
                    .unwrap_or(usize::MAX)
                    .min(self.config.max_payload)
            }),
        };
        let Some(c) = self.conn_mut(id) else { return };
        c.account = account;
        c.user = user;
        c.expires = expires;
        c.max_subs = limits.subscriptions;
        c.parser.set_limits(parser_limits);
        c.headers = opts.headers && server_headers;
        c.perms = perms;
        c.parser.set_headers(c.headers);
        c.parser.set_pedantic(opts.pedantic);
        let verbose = opts.verbose;
        c.opts = opts;
        c.auth_deadline = None;
        let was_waiting = c.phase == ConnPhase::AwaitConnect;
        c.phase = ConnPhase::Active;
        if was_waiting {
            if let Some(delay) = first_ping {
                c.ping.deadline = now + delay;
                self.timers.schedule(now + delay, id, TimerKind::Ping);
            }
        }
        if verbose {
            self.send(id, encode::OK);
        }
    }

    /// Who `opts` authenticate `id` as: by the operator's JWTs in operator mode, else by the
    /// configured users, token or certificate names. `None` when nobody.
    fn authenticate(&mut self, id: ConnId, opts: &ConnectOptions) -> Option<Identity> {
        let unix_epoch = self.config.unix_epoch;
        let now = self.now;
        let c = conn_in(&mut self.slots, id)?;
        let (transport, nonce) = (c.peer.transport, c.nonce.as_deref());
        if let crate::Auth::Operator(_) = &self.config.auth {
            let trust = self.trust.as_ref()?;
            let unix_now =
                unix_epoch.map(|e| i64::try_from((e + now.since_epoch()).as_secs()).unwrap_or(0));
            let user = trust.authorize(&opts.jwt, &opts.sig, nonce, transport, unix_now)?;
            // The JWT's expiry as an instant of the host's clock.
            let expires = user.expires.zip(unix_epoch).map(|(exp, epoch)| {
                let exp = Duration::from_secs(u64::try_from(exp).unwrap_or(0));
                Instant::from_since_epoch(exp.saturating_sub(epoch))
            });
            return Some(Identity {
                permissions: user.permissions.map(Box::new),
                account: self.accounts.id(&user.account),
                user: user.user.into(),
                expires,
                limits: JwtLimits {
                    connections: user.max_connections,
                    subscriptions: user.max_subscriptions,
                    payload: user.max_payload,
                },
            });
        }
        let tls_names = self.config.tls_map.then_some(c.tls_names.as_slice());
        let authorized = opts.authorize(
            &self.config.auth,
            self.config.no_auth_user.as_deref(),
            transport,
            nonce,
            tls_names,
        )?;
        Some(Identity {
            permissions: authorized.permissions.cloned().map(Box::new),
            account: self.accounts.id(authorized.account),
            user: authorized.user.into(),
            expires: None,
            limits: JwtLimits::default(),
        })
    }

    /// The clients connected (CONNECT accepted) in `account`.
    fn clients_in(&self, account: AccountId) -> usize {
        self.slots
            .iter()
            .filter_map(|s| s.conn.as_deref())
            .filter(|c| c.leaf.is_none() && c.phase == ConnPhase::Active && c.account == account)
            .count()
    }

    /// A user JWT expired: nats-server's `User Authentication Expired`.
    fn expiry_timer(&mut self, id: ConnId, now: Instant) {
        let Some(c) = self.conn_mut(id) else { return };
        if c.expires.is_some_and(|at| at <= now) {
            self.notice(id, ConnEvent::AuthenticationExpired);
            self.close(
                id,
                CloseReason::AuthenticationExpired,
                Some("User Authentication Expired"),
            );
        }
    }

    /// nats-server's short first PING: min(ping_interval, 2 s) plus up to 20 % jitter.
    fn first_ping_delay(&mut self) -> Option<Duration> {
        if self.config.disable_short_first_ping {
            return None;
        }
        let base = self.config.ping_interval.min(Duration::from_secs(2));
        let jitter_ms = (base.as_millis() / 5) as u64;
        let jitter = Duration::from_millis(self.rng.u64(0..=jitter_ms));
        Some(base + jitter)
    }

    fn on_ping(&mut self, id: ConnId) {
        if self.faults.any() && self.fault_ignores_ping(id) {
            return;
        }
        let now = self.now;
        let Some(c) = self.conn_mut(id) else { return };
        c.ping.last_in = now;
        let announce =
            c.phase == ConnPhase::Active && c.opts.protocol >= 1 && !c.ping.first_ping_answered;
        if c.phase == ConnPhase::Active {
            c.ping.first_ping_answered = true;
        }
        self.send(id, encode::PONG);
        if announce {
            self.send_info(id, InfoKind::ConnectInfo);
        }
    }

    fn on_sub(&mut self, id: ConnId, subject: Bytes, queue: Option<Bytes>, sid: Bytes) {
        // Own copies: slices of the read buffer would pin the whole read allocation for the
        // subscription's lifetime (measured: ~32 KiB per idle connection).
        let subject = Bytes::copy_from_slice(&subject);
        let queue = queue.map(|q| Bytes::copy_from_slice(&q));
        let sid = Bytes::copy_from_slice(&sid);
        let now = self.now;
        let max_subs = self.config.max_subscriptions;
        let Some(c) = self.conn_mut(id) else { return };
        c.ping.last_in = now;
        let (verbose, account) = (c.opts.verbose, c.account);
        if c.subs.contains_key(&sid) {
            // A duplicate sid keeps the first subscription.
            if verbose {
                self.send(id, encode::OK);
            }
            return;
        }
        let over_jwt = c.max_subs.is_some_and(|max| c.subs.len() as u64 >= max);
        if (max_subs > 0 && c.subs.len() >= max_subs) || over_jwt {
            self.send_err(id, "maximum subscriptions exceeded");
            return;
        }
        if c.perms
            .as_ref()
            .is_some_and(|p| !p.subscribe.permits_subscription(&subject, queue.as_deref()))
        {
            let mut text = format!(
                "Permissions Violation for Subscription to \"{}\"",
                String::from_utf8_lossy(&subject)
            );
            if let Some(queue) = &queue {
                text.push_str(&format!(
                    " using queue \"{}\"",
                    String::from_utf8_lossy(queue)
                ));
            }
            self.send_err(id, &text);
            return;
        }
        if !subject::is_valid_subscription(&subject) {
            self.send_err(id, "Invalid Subject");
            return;
        }
        let key = self.alloc_sub(Subscription {
            conn: id,
            subject: subject.clone(),
            queue: queue.clone(),
            sid: sid.clone(),
            max: None,
            delivered: 0,
            leaf: false,
            from_spoke: false,
            weight: 1,
            account,
        });
        if self
            .accounts
            .get_mut(account)
            .sublist
            .insert(&subject, queue.as_deref(), key)
            .is_err()
        {
            self.free_sub(key);
            self.send_err(id, "Invalid Subject");
            return;
        }
        if let Some(c) = self.conn_mut(id) {
            c.subs.insert(sid, key);
        }
        if verbose {
            self.send(id, encode::OK);
        }
        if self.leaf.has_links() {
            self.leaf_interest(account, &subject, queue.as_ref(), 1, None);
        }
        if self.faults.any() {
            self.fault_subscribed(id, &subject);
        }
    }

    fn on_unsub(&mut self, id: ConnId, sid: &[u8], max: Option<u64>) {
        let Some(c) = self.conn_mut(id) else { return };
        let verbose = c.opts.verbose;
        if let Some(&key) = c.subs.get(sid) {
            let delivered = self.sub(key).delivered;
            match max {
                Some(max) if max > delivered => self.sub_mut(key).max = Some(max),
                _ => self.remove_sub(key),
            }
        }
        if verbose {
            self.send(id, encode::OK);
        }
    }

    fn on_pub(
        &mut self,
        id: ConnId,
        subject: Bytes,
        reply: Option<Bytes>,
        header_len: usize,
        message: Bytes,
    ) {
        let now = self.now;
        let Some(c) = self.conn_mut(id) else { return };
        c.ping.last_in = now;
        let (verbose, echo, no_responders) = (c.opts.verbose, c.opts.echo, c.opts.no_responders);
        let account = c.account;
        // One publish rule: server-reserved subjects and the user's publish permissions (a
        // reply subject it received counts under `allow_responses`).
        let by_rules = c.perms.as_deref().is_some_and(|p| !p.may_publish(&subject));
        let responses = c.perms.as_deref().and_then(|p| p.responses);
        let publish_denied = subject.starts_with(b"_GR_.")
            || subject.starts_with(b"$NRG.")
            || (by_rules && !take_response(&mut c.replies, responses, &subject, now));
        c.traffic.in_msgs += 1;
        c.traffic.in_bytes += message.len() as u64;
        self.stats.traffic.in_msgs += 1;
        self.stats.traffic.in_bytes += message.len() as u64;

        if publish_denied {
            let text = format!(
                "Permissions Violation for Publish to \"{}\"",
                String::from_utf8_lossy(&subject)
            );
            self.send_err(id, &text);
            return;
        }
        if let Some(reply) = &reply {
            if [&b"_R_."[..], b"$JS.ACK.", b"_GR_."]
                .iter()
                .any(|p| reply.starts_with(p))
            {
                let text = format!(
                    "Permissions Violation for Publish with Reply of \"{}\"",
                    String::from_utf8_lossy(reply)
                );
                self.send_err(id, &text);
                return;
            }
        }
        if verbose {
            self.send(id, encode::OK);
        }
        if self.config.fault_control && subject.starts_with(control::PREFIX) {
            self.on_control(id, &subject, reply.as_deref(), &message[header_len..]);
            return;
        }
        let matches = self.accounts.matches(account, &subject);
        let msg = Message {
            subject: &subject,
            reply: reply.as_deref(),
            header_len,
            message: &message,
            queues: None,
        };
        if self.faults.any() && self.fault_intercepts(id, echo, &msg) {
            return;
        }
        let mut delivered = self.deliver(id, echo, &matches, &msg);
        if self.accounts.has_routes(account) {
            delivered += self.route_between_accounts(id, account, &msg);
        }
        if subject.starts_with(b"$SYS.REQ.") {
            delivered += self.system_request(id, account, &msg);
        }
        if delivered == 0 && no_responders {
            if let Some(reply) = &reply {
                self.send_no_responders(id, &subject, reply);
            }
        }
    }

    // ----- delivery -----

    /// Delivers to every plain subscriber and one member of each queue group; returns how many
    /// subscriptions received the message.
    fn deliver(
        &mut self,
        from: ConnId,
        echo: bool,
        matches: &Rc<Matches<SubKey>>,
        msg: &Message<'_>,
    ) -> usize {
        let mut delivered = 0;
        // Leaf links already sent this message: one copy per link, whatever matched.
        let mut links_sent: Vec<ConnId> = Vec::new();
        for &key in &matches.plain {
            // A delivery may have closed a slow consumer, and its later subscriptions with it.
            let Some(sub) = self.subs[key.0 as usize].as_ref() else {
                continue;
            };
            if sub.leaf {
                // Never back over the link it came from.
                if sub.conn == from || links_sent.contains(&sub.conn) {
                    continue;
                }
                links_sent.push(sub.conn);
            } else if !echo && sub.conn == from {
                continue;
            }
            if self.deliver_to(key, msg) {
                delivered += 1;
            }
        }
        for group in &matches.queues {
            if group.is_empty() {
                continue;
            }
            // A message from a link goes only to the groups it names.
            if let Some(named) = msg.queues {
                let Some(sub) = self.subs[group[0].0 as usize].as_ref() else {
                    continue;
                };
                let name = sub.queue.as_deref().unwrap_or_default();
                if !named.iter().any(|q| q.as_ref() == name) {
                    continue;
                }
            }
            // Local members first; a link's member only when no local one takes it.
            let mut over_link = None;
            let mut taken = false;
            let start = self.rng.usize(..group.len());
            for i in 0..group.len() {
                let key = group[(start + i) % group.len()];
                let Some(sub) = self.subs[key.0 as usize].as_ref() else {
                    continue;
                };
                if sub.leaf {
                    if sub.conn != from && over_link.is_none() {
                        over_link = Some(key);
                    }
                    continue;
                }
                if !echo && sub.conn == from {
                    continue;
                }
                if self.deliver_to(key, msg) {
                    delivered += 1;
                    taken = true;
                    break;
                }
            }
            if !taken {
                if let Some(key) = over_link {
                    if self.deliver_to(key, msg) {
                        delivered += 1;
                    }
                }
            }
        }
        delivered
    }

    /// Queues one MSG/HMSG for subscription `key`; returns whether it was queued.
    fn deliver_to(&mut self, key: SubKey, msg: &Message<'_>) -> bool {
        let max_pending = self.config.max_pending;
        let now = self.now;
        let Some(sub) = self.subs[key.0 as usize].as_mut() else {
            return false;
        };
        if sub.max.is_some_and(|max| sub.delivered >= max) {
            return false;
        }
        let conn_id = sub.conn;
        let no_stall_drop = self.config.no_fast_producer_stall;
        let stall_threshold = flow::stall_threshold(max_pending);
        let Some(c) = conn_in(&mut self.slots, conn_id) else {
            return false;
        };
        if c.perms
            .as_ref()
            .is_some_and(|p| p.subscribe.denies(msg.subject))
        {
            return false;
        }
        if no_stall_drop && c.out.pending() > stall_threshold {
            // `no_fast_producer_stall`: this consumer misses the message, nobody waits.
            return false;
        }
        if let Some(reply) = msg.reply {
            let answerable = c
                .perms
                .as_deref()
                .is_some_and(|p| p.responses.is_some() && !p.may_publish(reply));
            if answerable {
                remember_reply(c, reply, now);
            }
        }
        sub.delivered += 1;
        let done = sub.max.is_some_and(|max| sub.delivered >= max);
        let sid = &sub.sid;
        let buf = c.out.line_buffer();
        let before = buf.len();
        let body = if sub.leaf {
            let headers = msg.header_len > 0 && c.headers;
            let body = if headers {
                msg.message.clone()
            } else {
                msg.message.slice(msg.header_len..)
            };
            encode::leaf_msg_line(
                buf,
                msg.subject,
                msg.reply,
                sub.queue.as_deref(),
                headers.then_some(msg.header_len),
                body.len(),
            );
            body
        } else if msg.header_len > 0 && c.headers {
            encode::hmsg_line(
                buf,
                msg.subject,
                sid,
                msg.reply,
                msg.header_len,
                msg.message.len(),
            );
            msg.message.clone()
        } else {
            let body = msg.message.slice(msg.header_len..);
            encode::msg_line(buf, msg.subject, sid, msg.reply, body.len());
            body
        };
        c.out.commit(before);
        c.out.push_payload(&body);
        c.traffic.out_msgs += 1;
        c.traffic.out_bytes += body.len() as u64;
        let slow = c.out.pending() > max_pending;
        let stalling = !slow && !no_stall_drop && c.out.pending() > stall_threshold;
        if !c.out.dirty {
            c.out.dirty = true;
            self.dirty.push(conn_id);
        }
        self.stats.traffic.out_msgs += 1;
        self.stats.traffic.out_bytes += body.len() as u64;
        if done {
            self.remove_sub(key);
        }
        if slow {
            self.stats.slow_consumers += 1;
            self.notice(conn_id, ConnEvent::SlowConsumerPendingBytes { max_pending });
            self.close(conn_id, CloseReason::SlowConsumerPendingBytes, None);
        } else if stalling {
            self.note_consumer_load(conn_id);
        }
        true
    }

    /// Sends the 503 no-responders status to the publisher's own subscription on `reply`.
    fn send_no_responders(&mut self, id: ConnId, subject: &[u8], reply: &Bytes) {
        let Some(account) = self.conn_mut(id).map(|c| c.account) else {
            return;
        };
        let matches = self.accounts.matches(account, reply);
        let own = matches
            .plain
            .iter()
            .chain(matches.queues.iter().flatten())
            .copied()
            .find(|&key| self.sub(key).conn == id);
        let Some(key) = own else { return };
        let mut header = Vec::with_capacity(32 + subject.len());
        header.extend_from_slice(b"NATS/1.0 503\r\nNats-Subject: ");
        header.extend_from_slice(subject);
        header.extend_from_slice(b"\r\n\r\n");
        let header = Bytes::from(header);
        let msg = Message {
            subject: reply,
            reply: None,
            header_len: header.len(),
            message: &header,
            queues: None,
        };
        self.deliver_to(key, &msg);
    }

    // ----- timers -----

    fn ping_timer(&mut self, id: ConnId, now: Instant) {
        let interval = self.config.ping_interval;
        let ping_max = self.config.ping_max;
        let Some(c) = self.conn_mut(id) else { return };
        if c.ping.deadline > now {
            return; // superseded by a later deadline
        }
        let idle = now.saturating_duration_since(c.ping.last_in) >= interval;
        if idle || !c.ping.rtt_known {
            if c.ping.outstanding + 1 > ping_max {
                self.stats.stale_connections += 1;
                self.notice(id, ConnEvent::StaleConnection);
                self.close(id, CloseReason::StaleConnection, Some("Stale Connection"));
                return;
            }
            c.ping.outstanding += 1;
            c.ping.ping_sent.get_or_insert(now);
            self.send(id, encode::PING);
        }
        if let Some(c) = self.conn_mut(id) {
            c.ping.deadline = now + interval;
            self.timers.schedule(now + interval, id, TimerKind::Ping);
        }
    }

    fn auth_timer(&mut self, id: ConnId, now: Instant) {
        let Some(c) = self.conn_mut(id) else { return };
        if c.auth_deadline.is_some_and(|deadline| deadline <= now) {
            self.notice(id, ConnEvent::AuthenticationTimeout);
            self.close(
                id,
                CloseReason::AuthenticationTimeout,
                Some("Authentication Timeout"),
            );
        }
    }

    fn lame_duck_timer(&mut self, now: Instant) {
        while let Some(lame) = self.lame_duck {
            if lame.next_close > now {
                return;
            }
            match self.live_conns().first() {
                Some(&id) => {
                    self.close(id, CloseReason::ServerShutdown, None);
                    self.lame_duck = Some(LameDuck {
                        next_close: lame.next_close + lame.interval,
                        ..lame
                    });
                }
                None => {
                    self.lame_duck = None;
                    self.begin_shutdown();
                }
            }
        }
    }

    fn send_lame_duck_info(&mut self, id: ConnId) {
        if self.conn_mut(id).is_some_and(|c| c.opts.protocol >= 1) {
            self.send_info(id, InfoKind::LameDuck);
        }
    }

    // ----- lifecycle -----

    /// Moves to `Draining`: queues stop-listening, every flush and close, then `Stopped`.
    fn begin_shutdown(&mut self) {
        if self.phase == Phase::Running {
            self.ready.push_back(Output::StopListening);
        }
        self.phase = Phase::Draining;
        self.lame_duck = None;
        // Held messages are delivered and waiting pieces sent before the closes.
        self.end_all_faults();
        for id in self.live_conns() {
            self.close(id, CloseReason::ServerShutdown, None);
        }
        self.dirty.clear();
        self.timers.clear();
        self.ready.push_back(Output::Stopped);
        self.phase = Phase::Stopped;
    }

    /// Closes a connection exactly once: optional `-ERR`, flush, forget its subscriptions, and
    /// queue the final transmit and the close.
    fn close(&mut self, id: ConnId, reason: CloseReason, err: Option<&str>) {
        if let Some(text) = err {
            self.send_err(id, text);
        }
        let is_leaf = self.conn_mut(id).is_some_and(|c| c.leaf.is_some());
        let event = if is_leaf {
            ConnEvent::LeafClosed { reason }
        } else {
            ConnEvent::Closed { reason }
        };
        self.notice(id, event);
        let Some(slot) = self.slots.get_mut(id.index as usize) else {
            return;
        };
        if slot.generation != id.generation {
            return;
        }
        let Some(mut conn) = slot.conn.take() else {
            return;
        };
        // Remembered as it was, subscriptions included, for `/connz?state=closed`.
        let closed_info =
            (self.config.max_closed_clients > 0).then(|| conn_info(&conn, &self.accounts));
        slot.generation = slot.generation.wrapping_add(1);
        self.free_slots.push(id.index);
        match conn.leaf.take() {
            Some(link) => self.leaf_link_closed(id, &link),
            None => self.stats.connections -= 1,
        }
        if self.faults.any() {
            self.fault_closing(&conn, reason.flushes());
        }
        for (_, key) in conn.subs.drain() {
            self.unindex_sub(key);
        }
        // A slow consumer's backlog, or bytes for a socket that failed, are dropped unsent
        // (nats-server's `skipFlushOnClose`): its memory comes back at once.
        if conn.out.has_data() && reason.flushes() {
            self.ready.push_back(Output::Transmit {
                conn: id,
                segments: conn.out.take(),
            });
        }
        // Producers waiting for this consumer to drain wait no more.
        let waiters = conn.flow.take_waiters();
        self.release(id, &waiters);
        if let Some(mut info) = closed_info {
            info.closed = Some((self.now, reason));
            if self.closed.len() >= self.config.max_closed_clients {
                self.closed.pop_front();
            }
            self.closed.push_back(info);
        }
        drop(conn);
        self.ready.push_back(Output::Close { conn: id, reason });
    }

    // ----- helpers -----

    /// Queues a notice about `id` for the host's log (before the close it usually explains).
    fn notice(&mut self, id: ConnId, event: ConnEvent) {
        let auth_required = self.config.auth.is_required();
        let Some(c) = conn_in(&mut self.slots, id) else {
            return;
        };
        let account = &self.accounts.get(c.account).name;
        let kind = if c.leaf.is_some() { "lid" } else { "cid" };
        let mut client = match c.peer.addr {
            Some(addr) => format!("{addr} - {kind}:{}", c.cid),
            None => format!("{kind}:{}", c.cid),
        };
        if c.phase == ConnPhase::Active {
            // nats-server's `"vVERSION:LANG:NAME"`, then `"ACCOUNT/USER"` once authenticated.
            let user = auth_required.then(|| c.opts.user_label(account));
            let labels = [Some(c.opts.client_label()), user.flatten()];
            for label in labels.into_iter().flatten().filter(|l| !l.is_empty()) {
                client.push_str(" - ");
                client.push_str(&go_quote(label.as_bytes()));
            }
        }
        self.ready.push_back(Output::Notice(Box::new(Notice {
            conn: id,
            client,
            event,
        })));
    }

    /// The notice for a parse error: nats-server's text for a refused control line, or the
    /// start of the bytes the parser stopped at.
    fn protocol_error_notice(&mut self, id: ConnId, error: ParseError) {
        let Some(c) = self.conn_mut(id) else { return };
        let detail = match c.parser.rejection() {
            Some(text) => text.to_owned(),
            None if error == ParseError::MaxControlLine => error.to_string(),
            None => format!(
                "Client parser ERROR: proto='{}...'",
                proto_snippet(&c.read_buf)
            ),
        };
        self.notice(id, ConnEvent::Protocol { error, detail });
    }

    /// Time only moves forward.
    fn advance(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    fn conn_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        conn_in(&mut self.slots, id)
    }

    fn live_conns(&self) -> Vec<ConnId> {
        self.slots
            .iter()
            .filter_map(|s| s.conn.as_ref().map(|c| c.id))
            .collect()
    }

    fn mark_dirty(&mut self, id: ConnId) {
        if let Some(c) = self.conn_mut(id) {
            if !c.out.dirty {
                c.out.dirty = true;
                self.dirty.push(id);
            }
        }
    }

    fn send(&mut self, id: ConnId, bytes: &[u8]) {
        if let Some(c) = self.conn_mut(id) {
            c.out.push_slice(bytes);
            self.mark_dirty(id);
        }
    }

    /// Queues an INFO line for `id`, completed for what it announces.
    fn send_info(&mut self, id: ConnId, kind: InfoKind) {
        let Some(c) = conn_in(&mut self.slots, id) else {
            return;
        };
        let info = InfoFor {
            client_id: c.cid,
            client_ip: c.peer.addr,
            nonce: c.nonce.as_deref(),
            account: (kind == InfoKind::ConnectInfo).then(|| {
                let account = self.accounts.get(c.account);
                (account.name.as_str(), account.system)
            }),
            lame_duck: kind == InfoKind::LameDuck,
            websocket: c.peer.transport == crate::Transport::WebSocket,
        };
        let buf = c.out.line_buffer();
        let before = buf.len();
        self.info.write(buf, info);
        c.out.commit(before);
        self.mark_dirty(id);
    }

    fn send_err(&mut self, id: ConnId, text: &str) {
        if let Some(c) = self.conn_mut(id) {
            let buf = c.out.line_buffer();
            let before = buf.len();
            encode::err(buf, text);
            c.out.commit(before);
            self.mark_dirty(id);
        }
    }

    fn sub(&self, key: SubKey) -> &Subscription {
        self.subs[key.0 as usize]
            .as_ref()
            .expect("live subscription key")
    }

    fn sub_mut(&mut self, key: SubKey) -> &mut Subscription {
        self.subs[key.0 as usize]
            .as_mut()
            .expect("live subscription key")
    }

    fn alloc_sub(&mut self, sub: Subscription) -> SubKey {
        match self.free_subs.pop() {
            Some(index) => {
                self.subs[index as usize] = Some(sub);
                SubKey(index)
            }
            None => {
                self.subs.push(Some(sub));
                SubKey(u32::try_from(self.subs.len() - 1).expect("fewer than 2^32 subscriptions"))
            }
        }
    }

    fn free_sub(&mut self, key: SubKey) -> Option<Subscription> {
        let sub = self.subs[key.0 as usize].take();
        if sub.is_some() {
            self.free_subs.push(key.0);
        }
        sub
    }

    /// Removes a subscription from the index and its connection's sid table.
    fn remove_sub(&mut self, key: SubKey) {
        let Some(sub) = self.subs[key.0 as usize].as_ref() else {
            return;
        };
        let (conn, sid) = (sub.conn, sub.sid.clone());
        if let Some(c) = self.conn_mut(conn) {
            c.subs.remove(&sid);
        }
        self.unindex_sub(key);
    }

    /// Removes a subscription from the index and frees its key.
    fn unindex_sub(&mut self, key: SubKey) {
        if let Some(sub) = self.free_sub(key) {
            self.accounts.get_mut(sub.account).sublist.remove(
                &sub.subject,
                sub.queue.as_deref(),
                key,
            );
            if self.leaf.has_links() {
                let origin = sub.leaf.then_some((sub.conn, sub.from_spoke));
                let delta = -i32::try_from(sub.weight).unwrap_or(i32::MAX);
                self.leaf_interest(sub.account, &sub.subject, sub.queue.as_ref(), delta, origin);
            }
        }
    }
}

/// The live connection `id` in `slots` (a free function so other fields stay borrowable).
/// A connection as monitoring shows it.
fn conn_info(c: &Conn, accounts: &Accounts) -> ConnInfo {
    ConnInfo {
        account: accounts.get(c.account).name.clone(),
        user: c.user.to_string(),
        id: c.id,
        cid: c.cid,
        peer: c.peer,
        name: c.opts.name.clone(),
        lang: c.opts.lang.clone(),
        version: c.opts.version.clone(),
        start: c.start,
        last_activity: c.last_activity,
        traffic: c.traffic,
        subscriptions: c.subs.len(),
        pending_bytes: c.out.pending(),
        stalls: c.flow.stalls,
        rtt: c.ping.rtt,
        closed: None,
    }
}

/// Reply subjects remembered per connection before old ones are pruned (nats-server's
/// `replyPermLimit`).
const REPLY_PERM_LIMIT: usize = 4096;

/// A message with a reply subject reached `c`, whose user has `allow_responses` and may not
/// publish there by its rules.
fn remember_reply(c: &mut Conn, reply: &[u8], now: Instant) {
    if c.replies.len() >= REPLY_PERM_LIMIT {
        let responses = c.perms.as_deref().and_then(|p| p.responses);
        if let Some(r) = responses {
            c.replies.retain(|_, (at, n)| {
                (r.max == 0 || *n < r.max)
                    && (r.expires.is_zero() || now.saturating_duration_since(*at) <= r.expires)
            });
        }
    }
    c.replies.insert(Bytes::copy_from_slice(reply), (now, 0));
}

/// Whether a connection may publish to `subject` as a response (and counts it), as nats-server's
/// `pubAllowedFullCheck` does: the n-th response past `max`, or one after `expires`, ends the
/// permission.
fn take_response(
    replies: &mut std::collections::HashMap<Bytes, (Instant, u32)>,
    limits: Option<crate::ResponsePermission>,
    subject: &[u8],
    now: Instant,
) -> bool {
    let Some(limits) = limits else {
        return false;
    };
    let Some((at, n)) = replies.get_mut(subject) else {
        return false;
    };
    *n += 1;
    let over = limits.max > 0 && *n > limits.max;
    let late = !limits.expires.is_zero() && now.saturating_duration_since(*at) > limits.expires;
    if over || late {
        replies.remove(subject);
        return false;
    }
    true
}

fn conn_in(slots: &mut [Slot], id: ConnId) -> Option<&mut Conn> {
    let slot = slots.get_mut(id.index as usize)?;
    if slot.generation != id.generation {
        return None;
    }
    slot.conn.as_deref_mut()
}

/// Who a CONNECT authenticated as.
#[derive(Debug)]
struct Identity {
    permissions: Option<Box<crate::Permissions>>,
    account: AccountId,
    user: Box<str>,
    /// When its credentials expire (a user JWT's `exp`).
    expires: Option<Instant>,
    /// A user JWT's limits.
    limits: JwtLimits,
}

/// The limits a user JWT and its account set (`None`: none).
#[derive(Debug, Default, Clone, Copy)]
struct JwtLimits {
    connections: Option<u64>,
    subscriptions: Option<u64>,
    payload: Option<u64>,
}

/// What the operator's JWTs establish, in operator mode with a valid configuration.
fn trust_of(config: &Config) -> Option<Rc<crate::operator::Trust>> {
    match &config.auth {
        crate::Auth::Operator(operator) => operator.trust().ok().map(Rc::new),
        _ => None,
    }
}

/// Why an INFO line is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InfoKind {
    /// The first bytes of a new connection.
    Accept,
    /// After the first PONG for a protocol-1 client (nats-server ≥ 2.12).
    ConnectInfo,
    /// Lame duck mode announced (`ldm`).
    LameDuck,
}

/// A message being routed.
#[derive(Debug)]
struct Message<'a> {
    subject: &'a [u8],
    reply: Option<&'a [u8]>,
    /// Length of the header block at the front of `message` (0: no headers).
    header_len: usize,
    message: &'a Bytes,
    /// For a message from a leaf link: the queue groups it may go to (none: plain
    /// subscribers only). `None` for local publishes (every group).
    queues: Option<&'a [Bytes]>,
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;

#[cfg(test)]
mod leaf_tests;

#[cfg(test)]
mod notice_tests;

#[cfg(test)]
mod accounts_tests;
