//! The monitoring endpoints' JSON, with nats-server 2.15's field names, order and types, built
//! from the broker's counters.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use skiff_core::{Broker, ConnInfo, Phase, SubInfo, Transport};

use super::gofmt;
use crate::http::{Request, Response};

/// The default and largest page of `/connz` and `/subsz`.
const DEFAULT_LIMIT: usize = 1024;

/// What the monitor knows besides the broker: when the server started, where it listens, and
/// its own counters.
#[derive(Debug)]
pub(crate) struct MonitorState {
    /// Wall-clock time of the broker's instant zero.
    pub(crate) epoch: SystemTime,
    /// When the server started (`start`, `config_load_time`).
    pub(crate) started: SystemTime,
    /// The monitoring listener as bound.
    pub(crate) http: SocketAddr,
    /// The host the monitoring listener was asked to bind (`http_host`).
    pub(crate) http_host: String,
    /// The WebSocket listener, if any (`websocket` in `/varz`).
    pub(crate) websocket: Option<WebsocketVarz>,
    /// Requests served per endpoint (`http_req_stats`).
    pub(crate) requests: RefCell<BTreeMap<String, u64>>,
    /// The last CPU sample: (wall time, process CPU time).
    cpu_sample: Cell<Option<(std::time::Instant, Duration)>>,
}

impl MonitorState {
    /// State for a monitor bound at `http` (asked for `http_host`), whose broker's instant zero
    /// was at `epoch`.
    pub(crate) fn new(
        epoch: SystemTime,
        http: SocketAddr,
        http_host: String,
        websocket: Option<WebsocketVarz>,
    ) -> Self {
        Self {
            epoch,
            started: SystemTime::now(),
            http,
            http_host,
            websocket,
            requests: RefCell::new(BTreeMap::new()),
            cpu_sample: Cell::new(process_cpu_time().map(|t| (std::time::Instant::now(), t))),
        }
    }

    fn wall(&self, at: skiff_core::Instant) -> SystemTime {
        self.epoch + at.since_epoch()
    }

    /// CPU use in percent since the last sample (nats-server samples `ps` the same way).
    fn cpu_percent(&self) -> f64 {
        let Some(cpu) = process_cpu_time() else {
            return 0.0;
        };
        let now = std::time::Instant::now();
        let percent = match self.cpu_sample.get() {
            Some((at, before)) if now > at => {
                let wall = now.duration_since(at).as_secs_f64();
                (cpu.saturating_sub(before).as_secs_f64() / wall * 100.0 * 10.0).round() / 10.0
            }
            _ => 0.0,
        };
        self.cpu_sample.set(Some((now, cpu)));
        percent
    }
}

/// The WebSocket listener as `/varz` shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct WebsocketVarz {
    /// Bound host.
    pub(crate) host: String,
    /// Bound port.
    pub(crate) port: u16,
    /// `no_tls`.
    pub(crate) no_tls: bool,
    /// `same_origin`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) same_origin: bool,
    /// `allowed_origins`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) allowed_origins: Vec<String>,
    /// `compression`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) compression: bool,
    /// `handshake_timeout` in nanoseconds.
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) handshake_timeout: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct ByKind {
    clients: u64,
    routes: u64,
    gateways: u64,
    leafs: u64,
}

/// `/varz`, in nats-server's field order.
#[derive(Serialize)]
struct Varz<'a> {
    server_id: &'a str,
    server_name: &'a str,
    version: &'a str,
    proto: u8,
    go: &'a str,
    host: &'a str,
    port: u16,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    auth_required: bool,
    max_connections: usize,
    #[serde(skip_serializing_if = "is_zero_usize")]
    max_subscriptions: usize,
    ping_interval: u64,
    ping_max: u32,
    http_host: &'a str,
    http_port: u16,
    http_base_path: &'a str,
    https_port: u16,
    #[serde(serialize_with = "go_float")]
    auth_timeout: f64,
    max_control_line: usize,
    max_payload: usize,
    max_pending: usize,
    cluster: Empty,
    gateway: Empty,
    leaf: LeafField,
    mqtt: Empty,
    websocket: WebsocketField<'a>,
    jetstream: Empty,
    #[serde(serialize_with = "go_float")]
    tls_timeout: f64,
    write_deadline: u64,
    start: String,
    now: String,
    uptime: String,
    mem: u64,
    cores: usize,
    gomaxprocs: usize,
    #[serde(serialize_with = "go_float")]
    cpu: f64,
    connections: usize,
    total_connections: u64,
    routes: usize,
    remotes: usize,
    leafnodes: usize,
    in_msgs: u64,
    in_bytes: u64,
    in_client_msgs: u64,
    in_client_bytes: u64,
    out_msgs: u64,
    out_bytes: u64,
    out_client_msgs: u64,
    out_client_bytes: u64,
    slow_consumers: u64,
    stale_connections: u64,
    stalled_clients: u64,
    subscriptions: usize,
    http_req_stats: BTreeMap<String, u64>,
    config_load_time: String,
    config_digest: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    system_account: Option<&'a str>,
    slow_consumer_stats: ByKind,
    stale_connection_stats: ByKind,
    /// Skiff's own version (INFO's `version` is the nats-server version it matches).
    skiff_version: &'static str,
}

/// A float as Go's JSON writes it: whole numbers without a fraction (`2`, not `2.0`).
fn go_float<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

fn is_zero_usize(n: &usize) -> bool {
    *n == 0
}

/// `/varz`'s `leaf`: the leafnode listener, or `{}` without one.
#[derive(Serialize)]
#[serde(untagged)]
enum LeafField {
    None(Empty),
    Some {
        host: String,
        port: u16,
        #[serde(serialize_with = "go_float")]
        auth_timeout: f64,
        #[serde(serialize_with = "go_float")]
        tls_timeout: f64,
    },
}

#[derive(Serialize)]
#[serde(untagged)]
enum WebsocketField<'a> {
    None(Empty),
    Some(&'a WebsocketVarz),
}

/// `/varz`.
pub(crate) fn varz(broker: &Broker, now: skiff_core::Instant, state: &MonitorState) -> Response {
    let config = broker.config();
    let stats = broker.stats();
    let t = stats.traffic;
    let wall_now = state.wall(now);
    let started = gofmt::timestamp(state.started);
    let varz = Varz {
        server_id: broker.server_id(),
        server_name: if config.server_name.is_empty() {
            broker.server_id()
        } else {
            &config.server_name
        },
        version: &config.version,
        proto: 1,
        go: "rust",
        host: &config.host,
        port: config.port,
        auth_required: config.auth.is_required(),
        max_connections: config.max_connections,
        max_subscriptions: config.max_subscriptions,
        ping_interval: nanos(config.ping_interval),
        ping_max: config.ping_max,
        http_host: &state.http_host,
        http_port: state.http.port(),
        http_base_path: "",
        https_port: 0,
        auth_timeout: config.auth_timeout.as_secs_f64(),
        max_control_line: config.max_control_line,
        max_payload: config.max_payload,
        max_pending: config.max_pending,
        cluster: Empty {},
        gateway: Empty {},
        leaf: config
            .leaf_listen
            .clone()
            .map_or(LeafField::None(Empty {}), |(host, port)| LeafField::Some {
                host,
                port,
                auth_timeout: config.auth_timeout.as_secs_f64(),
                tls_timeout: 2.0,
            }),
        mqtt: Empty {},
        websocket: state
            .websocket
            .as_ref()
            .map_or(WebsocketField::None(Empty {}), WebsocketField::Some),
        jetstream: Empty {},
        tls_timeout: 0.0,
        write_deadline: nanos(config.write_deadline),
        start: started.clone(),
        now: gofmt::timestamp(wall_now),
        uptime: gofmt::uptime(wall_now.duration_since(state.started).unwrap_or_default()),
        mem: resident_memory(),
        cores: cores(),
        gomaxprocs: 1, // the broker runs on one thread
        cpu: state.cpu_percent(),
        connections: stats.connections,
        total_connections: stats.total_connections,
        routes: 0,
        remotes: 0,
        leafnodes: broker.leaf_links().len(),
        in_msgs: t.in_msgs,
        in_bytes: t.in_bytes,
        in_client_msgs: t.in_msgs,
        in_client_bytes: t.in_bytes,
        out_msgs: t.out_msgs,
        out_bytes: t.out_bytes,
        out_client_msgs: t.out_msgs,
        out_client_bytes: t.out_bytes,
        slow_consumers: stats.slow_consumers,
        stale_connections: stats.stale_connections,
        stalled_clients: stats.stalled_clients,
        subscriptions: stats.subscriptions,
        http_req_stats: state.requests.borrow().clone(),
        config_load_time: started,
        config_digest: "",
        system_account: broker.system_account(),
        slow_consumer_stats: ByKind {
            clients: stats.slow_consumers,
            routes: 0,
            gateways: 0,
            leafs: 0,
        },
        stale_connection_stats: ByKind {
            clients: stats.stale_connections,
            routes: 0,
            gateways: 0,
            leafs: 0,
        },
        skiff_version: skiff_core::VERSION,
    };
    Response::json(pretty(&varz))
}

/// One connection in `/connz`, in nats-server's field order.
#[derive(Serialize)]
struct ConnzConn {
    cid: u64,
    kind: &'static str,
    #[serde(rename = "type")]
    kind_type: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    ip: String,
    #[serde(skip_serializing_if = "is_zero_u16")]
    port: u16,
    start: String,
    last_activity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rtt: Option<String>,
    uptime: String,
    idle: String,
    pending_bytes: usize,
    in_msgs: u64,
    out_msgs: u64,
    in_bytes: u64,
    out_bytes: u64,
    #[serde(skip_serializing_if = "is_zero")]
    stalls: u64,
    subscriptions: usize,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    lang: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    authorized_user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscriptions_list: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscriptions_list_detail: Option<Vec<SubDetail>>,
}

fn is_zero_u16(n: &u16) -> bool {
    *n == 0
}

/// A subscription in `/connz?subs=detail` and `/subsz?subs=1`.
#[derive(Serialize)]
struct SubDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_tag: Option<String>,
    subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    qgroup: Option<String>,
    sid: String,
    msgs: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<u64>,
    cid: u64,
}

impl SubDetail {
    fn new(s: SubInfo, with_account: bool) -> Self {
        let account = with_account.then_some(s.account);
        Self {
            account_tag: account.clone(),
            account,
            subject: s.subject,
            qgroup: s.queue,
            sid: s.sid,
            msgs: s.delivered,
            max: s.max,
            cid: s.cid,
        }
    }
}

#[derive(Serialize)]
struct Connz<'a> {
    server_id: &'a str,
    now: String,
    num_connections: usize,
    total: usize,
    offset: usize,
    limit: usize,
    connections: Vec<ConnzConn>,
}

/// `subs=` in `/connz` and `/subsz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SubsMode {
    None,
    List,
    Detail,
}

/// `/connz`.
pub(crate) fn connz(
    broker: &Broker,
    now: skiff_core::Instant,
    state: &MonitorState,
    req: &Request,
) -> Response {
    match connz_checked(broker, now, state, req) {
        Ok(body) => Response::json(body),
        Err(text) => Response::bad_request(&text),
    }
}

fn connz_checked(
    broker: &Broker,
    now: skiff_core::Instant,
    state: &MonitorState,
    req: &Request,
) -> Result<String, String> {
    let subs = subs_mode(req)?;
    // `auth=true`: the user and account of each connection, and the `user`/`acc` filters.
    let auth = match req.param("auth") {
        None | Some("") => false,
        Some(v) => go_bool(v).ok_or_else(|| {
            format!(
                "Error decoding boolean for 'auth': strconv.ParseBool: parsing \"{v}\": invalid syntax"
            )
        })?,
    };
    let user_filter = req.param("user").filter(|u| auth && !u.is_empty());
    let account_filter = req.param("acc").filter(|a| auth && !a.is_empty());
    let offset = int_param(req, "offset")?.unwrap_or(0);
    let limit = int_param(req, "limit")?
        .filter(|&l| l > 0)
        .unwrap_or(DEFAULT_LIMIT);
    let cid = int_param(req, "cid")?;
    let sort = req.param("sort").unwrap_or("cid");
    let (open, closed) = match req.param("state").unwrap_or("open") {
        "open" | "" => (true, false),
        "closed" => (false, true),
        "any" | "all" => (true, true),
        other => return Err(format!("Error decoding state for {other}")),
    };
    if !matches!(
        sort,
        "cid"
            | ""
            | "start"
            | "subs"
            | "pending"
            | "msgs_to"
            | "msgs_from"
            | "bytes_to"
            | "bytes_from"
            | "last"
            | "idle"
            | "uptime"
            | "rtt"
            | "stop"
            | "reason"
    ) {
        return Err(format!("invalid sorting option: {sort}"));
    }
    if matches!(sort, "stop" | "reason") && open {
        return Err(format!("sort by {sort} only valid on closed connections"));
    }
    let open_conns = broker.connections().filter(|_| open);
    let closed_conns = broker.closed_connections().filter(|_| closed).cloned();
    let mut conns: Vec<ConnInfo> = open_conns
        .chain(closed_conns)
        .filter(|c| cid.is_none_or(|cid| c.cid == cid as u64))
        .filter(|c| user_filter.is_none_or(|u| c.user == u))
        .filter(|c| account_filter.is_none_or(|a| c.account == a))
        .collect();
    let key_desc = |c: &ConnInfo| -> u128 {
        match sort {
            "subs" => c.subscriptions as u128,
            "pending" => c.pending_bytes as u128,
            "msgs_to" => u128::from(c.traffic.out_msgs),
            "msgs_from" => u128::from(c.traffic.in_msgs),
            "bytes_to" => u128::from(c.traffic.out_bytes),
            "bytes_from" => u128::from(c.traffic.in_bytes),
            "last" => c.last_activity.since_epoch().as_nanos(),
            "idle" => now.saturating_duration_since(c.last_activity).as_nanos(),
            "uptime" => now.saturating_duration_since(c.start).as_nanos(),
            "rtt" => c.rtt.unwrap_or_default().as_nanos(),
            "stop" => c.closed.map_or(0, |(at, _)| at.since_epoch().as_nanos()),
            _ => 0,
        }
    };
    match sort {
        "cid" | "" => conns.sort_by_key(|c| c.cid),
        "start" => conns.sort_by_key(|c| (c.start, c.cid)),
        "reason" => conns.sort_by_key(|c| (c.closed.map(|(_, r)| r.as_str()), c.cid)),
        _ => conns.sort_by(|a, b| key_desc(b).cmp(&key_desc(a)).then(a.cid.cmp(&b.cid))),
    }
    let total = conns.len();
    let page: Vec<ConnzConn> = conns
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|c| connz_conn(broker, now, state, c, subs, auth))
        .collect();
    Ok(pretty(&Connz {
        server_id: broker.server_id(),
        now: gofmt::timestamp(state.wall(now)),
        num_connections: page.len(),
        total,
        offset,
        limit,
        connections: page,
    }))
}

fn connz_conn(
    broker: &Broker,
    now: skiff_core::Instant,
    state: &MonitorState,
    c: ConnInfo,
    subs: SubsMode,
    auth: bool,
) -> ConnzConn {
    // A closed connection's clock stopped when it closed; its subscriptions are gone.
    let until = c.closed.map_or(now, |(at, _)| at);
    let list = || {
        if c.closed.is_some() {
            Vec::new()
        } else {
            broker.subscriptions_of(c.id)
        }
    };
    ConnzConn {
        cid: c.cid,
        kind: "Client",
        kind_type: match c.peer.transport {
            Transport::WebSocket => "websocket",
            _ => "nats",
        },
        ip: c.peer.addr.map(|a| a.ip().to_string()).unwrap_or_default(),
        port: c.peer.addr.map_or(0, |a| a.port()),
        start: gofmt::timestamp(state.wall(c.start)),
        last_activity: gofmt::timestamp(state.wall(c.last_activity)),
        stop: c.closed.map(|(at, _)| gofmt::timestamp(state.wall(at))),
        reason: c.closed.map(|(_, reason)| reason.as_str()),
        rtt: c.rtt.map(gofmt::duration),
        uptime: gofmt::uptime(until.saturating_duration_since(c.start)),
        idle: gofmt::uptime(until.saturating_duration_since(c.last_activity)),
        pending_bytes: c.pending_bytes,
        in_msgs: c.traffic.in_msgs,
        out_msgs: c.traffic.out_msgs,
        in_bytes: c.traffic.in_bytes,
        out_bytes: c.traffic.out_bytes,
        stalls: c.stalls,
        subscriptions: c.subscriptions,
        name: c.name,
        lang: c.lang,
        version: c.version,
        authorized_user: if auth { c.user } else { String::new() },
        // nats-server leaves out the global account.
        account: if auth && c.account != skiff_core::GLOBAL_ACCOUNT {
            c.account
        } else {
            String::new()
        },
        subscriptions_list: (subs == SubsMode::List)
            .then(|| list().into_iter().map(|s| s.subject).collect()),
        subscriptions_list_detail: (subs == SubsMode::Detail).then(|| {
            list()
                .into_iter()
                .map(|s| SubDetail::new(s, false))
                .collect()
        }),
    }
}

#[derive(Serialize)]
struct Subsz<'a> {
    server_id: &'a str,
    now: String,
    num_subscriptions: usize,
    num_cache: usize,
    num_inserts: u64,
    num_removes: u64,
    num_matches: u64,
    #[serde(serialize_with = "go_float")]
    cache_hit_rate: f64,
    max_fanout: usize,
    #[serde(serialize_with = "go_float")]
    avg_fanout: f64,
    total: usize,
    offset: usize,
    limit: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscriptions_list: Option<Vec<SubDetail>>,
}

/// `/subsz` (also `/subscriptionsz`).
pub(crate) fn subsz(
    broker: &Broker,
    now: skiff_core::Instant,
    state: &MonitorState,
    req: &Request,
) -> Response {
    match subsz_checked(broker, now, state, req) {
        Ok(body) => Response::json(body),
        Err(text) => Response::bad_request(&text),
    }
}

fn subsz_checked(
    broker: &Broker,
    now: skiff_core::Instant,
    state: &MonitorState,
    req: &Request,
) -> Result<String, String> {
    let subs = subs_mode(req)? != SubsMode::None;
    let offset = int_param(req, "offset")?.unwrap_or(0);
    let limit = int_param(req, "limit")?
        .filter(|&l| l > 0)
        .unwrap_or(DEFAULT_LIMIT);
    let test = match req.param("test") {
        Some(t) if !skiff_core::subject::is_valid_literal(t.as_bytes()) => {
            return Err(format!(
                "invalid test subject, must be valid publish subject: {t}"
            ));
        }
        other => other,
    };
    let stats = broker.sublist_stats();
    let (total, list) = if subs {
        let matching: Vec<SubInfo> = broker
            .subscriptions()
            .filter(|s| {
                test.is_none_or(|t| {
                    skiff_core::subject::matches_pattern(s.subject.as_bytes(), t.as_bytes())
                })
            })
            .collect();
        let total = matching.len();
        let page = matching
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|s| SubDetail::new(s, true))
            .collect();
        (total, Some(page))
    } else {
        (0, None)
    };
    Ok(pretty(&Subsz {
        server_id: broker.server_id(),
        now: gofmt::timestamp(state.wall(now)),
        num_subscriptions: stats.subscriptions,
        num_cache: stats.cache_entries,
        num_inserts: stats.inserts,
        num_removes: stats.removes,
        num_matches: stats.matches,
        cache_hit_rate: stats.cache_hit_rate(),
        max_fanout: stats.max_fanout,
        avg_fanout: stats.avg_fanout,
        total,
        offset,
        limit,
        subscriptions_list: list,
    }))
}

/// `/leafz`, in nats-server's field order.
#[derive(Serialize)]
struct Leafz<'a> {
    server_id: &'a str,
    now: String,
    leafnodes: usize,
    leafs: Vec<LeafzLink>,
}

/// One leaf link in `/leafz`.
#[derive(Serialize)]
struct LeafzLink {
    id: u64,
    name: String,
    is_spoke: bool,
    account: String,
    ip: String,
    port: u16,
    rtt: String,
    in_msgs: u64,
    out_msgs: u64,
    in_bytes: u64,
    out_bytes: u64,
    subscriptions: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscriptions_list: Option<Vec<String>>,
    compression: &'static str,
}

/// `/leafz` (`subs=1` lists each link's interest).
pub(crate) fn leafz(
    broker: &Broker,
    now: skiff_core::Instant,
    state: &MonitorState,
    req: &Request,
) -> Response {
    let subs = match subs_mode(req) {
        Ok(mode) => !matches!(mode, SubsMode::None),
        Err(text) => return Response::bad_request(&text),
    };
    let leafs: Vec<LeafzLink> = broker
        .leaf_links()
        .into_iter()
        .map(|l| LeafzLink {
            id: l.cid,
            name: l.name,
            is_spoke: l.remote.is_some(),
            account: l.account,
            ip: l.peer.addr.map(|a| a.ip().to_string()).unwrap_or_default(),
            port: l.peer.addr.map_or(0, |a| a.port()),
            rtt: l.rtt.map(gofmt::duration).unwrap_or_default(),
            in_msgs: l.traffic.in_msgs,
            out_msgs: l.traffic.out_msgs,
            in_bytes: l.traffic.in_bytes,
            out_bytes: l.traffic.out_bytes,
            subscriptions: l.interest.len(),
            subscriptions_list: subs.then_some(l.interest),
            compression: "not supported",
        })
        .collect();
    let leafz = Leafz {
        server_id: broker.server_id(),
        now: gofmt::timestamp(state.wall(now)),
        leafnodes: leafs.len(),
        leafs,
    };
    Response::json(pretty(&leafz))
}

/// `/healthz`: ok while the broker serves clients; 503 once it is shutting down.
pub(crate) fn healthz(broker: &Broker) -> Response {
    match broker.phase() {
        Phase::Running => Response::json(r#"{"status":"ok"}"#.to_owned()),
        _ => Response::with_status(
            503,
            "application/json",
            r#"{"status":"unavailable","error":"server is shutting down"}"#.to_owned(),
        ),
    }
}

/// `/`: links to the endpoints.
pub(crate) fn index(version: &str) -> Response {
    let links: String = [
        ("varz", "General"),
        ("connz", "Connections"),
        ("subsz", "Subscriptions"),
        ("leafz", "Leafnodes"),
        ("healthz", "Health"),
    ]
    .iter()
    .map(|(path, title)| {
        format!("\t<a href=./{path}>{title}<span class=\"endpoint\"> /{path}</span></a>\n")
    })
    .collect();
    Response::with_status(
        200,
        "text/html; charset=utf-8",
        format!(
            "<html lang=\"en\">\n<head><title>Skiff</title></head>\n<body>\n\t<h1>Skiff</h1>\n\t<a class='version'>v{version} (skiff {})</a>\n\t<br/>\n{links}</body>\n</html>\n",
            skiff_core::VERSION
        ),
    )
}

fn subs_mode(req: &Request) -> Result<SubsMode, String> {
    match req.param("subs") {
        None | Some("") => Ok(SubsMode::None),
        Some("detail") => Ok(SubsMode::Detail),
        Some(v) => match go_bool(v) {
            Some(true) => Ok(SubsMode::List),
            Some(false) => Ok(SubsMode::None),
            None => Err(format!(
                "Error decoding boolean for 'subs': strconv.ParseBool: parsing \"{v}\": invalid syntax"
            )),
        },
    }
}

fn go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

fn int_param(req: &Request, name: &str) -> Result<Option<usize>, String> {
    match req.param(name) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .map(|n| Some(n.max(0) as usize))
            .map_err(|_| {
                format!(
                    "Error decoding int for '{name}': strconv.Atoi: parsing \"{v}\": invalid syntax"
                )
            }),
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn pretty(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).expect("monitoring JSON serializes")
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Resident set size in bytes (`mem` in `/varz`), from `/proc/self/statm`.
fn resident_memory() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * page_size()
}

fn page_size() -> u64 {
    // sysconf only reads a system constant.
    #[allow(unsafe_code)]
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

/// The process's user + system CPU time, from `/proc/self/stat`.
fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    #[allow(unsafe_code)]
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = u64::try_from(ticks).ok().filter(|&t| t > 0)?;
    Some(Duration::from_nanos(
        (utime + stime) * 1_000_000_000 / ticks,
    ))
}

#[cfg(test)]
mod tests;
