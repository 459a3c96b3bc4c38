//! The system account's services, as far as core NATS clients ask for them:
//! `$SYS.REQ.USER.INFO` from any account (who am I, which account, which permissions) and
//! `$SYS.REQ.SERVER.PING` (`.STATSZ`) from the system account. Every other `$SYS.REQ.`
//! subject has no responder, as in an account that does not import it on nats-server.
//!
//! nats-server stamps its `server.time` with the wall clock; the core reads no clock, so the
//! field is left out (Go clients decode the zero time).

use bytes::Bytes;
use serde::Serialize;

use super::accounts::AccountId;
use super::{Broker, Message};
use crate::{ConnId, Rules, subject};

/// nats-server's `ServerInfo` header of every system answer (without `time`).
#[derive(Debug, Serialize)]
struct ServerInfo<'a> {
    name: &'a str,
    host: &'a str,
    id: &'a str,
    ver: &'a str,
    jetstream: bool,
    flags: u64,
    seq: u64,
}

/// nats-server's `UserInfo`.
#[derive(Debug, Serialize)]
struct UserInfo<'a> {
    user: &'a str,
    account: &'a str,
    account_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<PublicPermissions<'a>>,
}

/// The permissions a user info answer shows (both blocks, as nats-server's).
#[derive(Debug, Serialize)]
struct PublicPermissions<'a> {
    publish: PublicRules<'a>,
    subscribe: PublicRules<'a>,
}

/// One allow/deny pair of a user info answer.
#[derive(Debug, Serialize)]
struct PublicRules<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    allow: Option<&'a [String]>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    deny: &'a [String],
}

impl<'a> PublicRules<'a> {
    fn of(rules: &'a Rules) -> Self {
        Self {
            allow: rules.allow.as_deref(),
            deny: &rules.deny,
        }
    }
}

/// The statistics part of a `$SYS.REQ.SERVER.PING` answer (nats-server's `ServerStats`
/// without what a core cannot know: start time, memory, CPU).
#[derive(Debug, Serialize)]
struct Statsz {
    connections: usize,
    total_connections: u64,
    active_accounts: usize,
    subscriptions: usize,
    sent: MsgBytes,
    received: MsgBytes,
    slow_consumers: u64,
    active_servers: u32,
}

/// A message and byte count.
#[derive(Debug, Serialize)]
struct MsgBytes {
    msgs: u64,
    bytes: u64,
}

impl Broker {
    /// Answers a `$SYS.REQ.` request from `from` in `account`, if it is one the broker serves
    /// to that account; returns how many subscriptions received the answer.
    pub(super) fn system_request(
        &mut self,
        from: ConnId,
        account: AccountId,
        msg: &Message<'_>,
    ) -> usize {
        let Some(reply) = msg.reply.filter(|r| subject::is_valid_literal(r)) else {
            return 0;
        };
        if self.accounts.system_name().is_none() {
            return 0;
        }
        let system = self.accounts.get(account).system;
        let (key, data) = match msg.subject {
            b"$SYS.REQ.USER.INFO" => ("data", self.user_info(from, account)),
            b"$SYS.REQ.SERVER.PING" | b"$SYS.REQ.SERVER.PING.STATSZ" if system => {
                let stats = self.stats();
                let statsz = serde_json::to_string(&Statsz {
                    connections: stats.connections,
                    total_connections: stats.total_connections,
                    active_accounts: self.active_accounts(),
                    subscriptions: stats.subscriptions,
                    sent: MsgBytes {
                        msgs: stats.traffic.out_msgs,
                        bytes: stats.traffic.out_bytes,
                    },
                    received: MsgBytes {
                        msgs: stats.traffic.in_msgs,
                        bytes: stats.traffic.in_bytes,
                    },
                    slow_consumers: stats.slow_consumers,
                    active_servers: 1,
                });
                ("statsz", statsz.ok())
            }
            _ => return 0,
        };
        let Some(data) = data else { return 0 };
        self.system_seq += 1;
        let name = if self.config.server_name.is_empty() {
            &self.server_id
        } else {
            &self.config.server_name
        };
        let server = ServerInfo {
            name,
            host: &self.config.host,
            id: &self.server_id,
            ver: &self.config.version,
            jetstream: false,
            flags: 0,
            seq: self.system_seq,
        };
        let body = format!(
            "{{\"server\":{},\"{key}\":{data}}}",
            serde_json::to_string(&server).expect("plain fields serialize")
        );
        self.answer(from, account, reply, Bytes::from(body));
        1
    }

    /// Delivers a service's `body` to the requester's `reply` subject in `account`.
    pub(super) fn answer(&mut self, from: ConnId, account: AccountId, reply: &[u8], body: Bytes) {
        let matches = self.accounts.matches(account, reply);
        let answer = Message {
            subject: reply,
            reply: None,
            header_len: 0,
            message: &body,
            queues: None,
        };
        self.deliver(from, true, &matches, &answer);
    }

    /// Accounts with at least one client connected.
    fn active_accounts(&self) -> usize {
        let mut seen: Vec<AccountId> = self
            .slots
            .iter()
            .filter_map(|s| s.conn.as_deref())
            .filter(|c| c.leaf.is_none())
            .map(|c| c.account)
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }

    /// The `data` of a user info answer for `from`.
    fn user_info(&mut self, from: ConnId, account: AccountId) -> Option<String> {
        let name = self.accounts.get(account).name.clone();
        let c = self.conn_mut(from)?;
        let user = c.user.clone();
        let permissions = c.perms.as_deref().map(|p| PublicPermissions {
            publish: PublicRules::of(&p.publish),
            subscribe: PublicRules::of(&p.subscribe),
        });
        serde_json::to_string(&UserInfo {
            user: &user,
            account: &name,
            account_name: &name,
            permissions,
        })
        .ok()
    }
}
