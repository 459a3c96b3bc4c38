//! Scenarios about the connection's life: keep-alive, reconnects and resubscription, stale
//! servers, async INFO (connect_urls, lame duck), refused reconnects, the reconnect buffer.

use std::time::{Duration, Instant};

use skiff::{Fault, Lasting, Refusal, Target};

use super::super::tap::{Recording, Tap};
use super::super::wire::{ClientOp, RawClient, subscribed_subjects};
use super::{NAME, Stage, WAIT, server_addr, start_server};

pub(super) fn count_server_pings(rec: &Recording) -> usize {
    rec.from_server
        .split(|&b| b == b'\n')
        .filter(|line| line == b"PING\r")
        .count()
}

pub(super) fn answers_pings(stage: &mut Stage) -> Result<String, String> {
    std::thread::sleep(Duration::from_millis(1500));
    let rec = stage.recording(0).ok_or("no connection")?;
    let pings = count_server_pings(&rec);
    let pongs = rec
        .client_ops()
        .iter()
        .filter(|op| matches!(op, ClientOp::Pong))
        .count();
    if rec.closed || stage.tap.recordings().len() > 1 {
        return Err(format!(
            "the connection was closed after {pings} server PINGs and {pongs} PONGs"
        ));
    }
    if pings < 2 {
        return Err(format!("kit: the server sent only {pings} PINGs"));
    }
    if pongs + 1 < pings {
        return Err(format!("{pings} server PINGs but only {pongs} PONGs"));
    }
    Ok(format!(
        "{pings} server PINGs in 1.5 s, {pongs} PONGs, connection up"
    ))
}

/// Subscribes to two subjects, has the connection closed (after `-ERR '<err>'` if given),
/// and checks the client reconnects, resends both SUBs and receives on them.
pub(super) fn reconnect_after(stage: &mut Stage, err: Option<&str>) -> Result<String, String> {
    let subjects = ["kit.a.>", "kit.b"];
    for subject in subjects {
        stage.client.command(&format!("sub {subject}"), WAIT)?;
    }
    stage.client.command("flush", WAIT)?;
    let mark = stage.client.mark();
    stage.inject(Fault::Close {
        target: Target::Name(NAME.into()),
        err: err.map(str::to_owned),
    })?;
    let what = err.map_or("a plain close".to_owned(), |e| format!("-ERR '{e}'"));
    expect_resubscribed(stage, 1, &subjects, &what)?;
    stage
        .client
        .wait_for(mark, WAIT, |l| l == "reconnected")
        .map_err(|_| format!("resubscribed after {what} but no reconnected event"))?;
    let mut publisher = stage.publisher()?;
    publisher.publish("kit.a.x", b"after-a")?;
    publisher.publish("kit.b", b"after-b")?;
    publisher.sync()?;
    stage.expect_msg(mark, "kit.a.x", "after-a")?;
    stage.expect_msg(mark, "kit.b", "after-b")?;
    Ok(format!(
        "after {what}: reconnected, resent SUB {} and received on both",
        subjects.join(", ")
    ))
}

/// Waits for a connection at or after `index` (in accept order) to subscribe to every subject
/// in `subjects`.
pub(super) fn expect_resubscribed(
    stage: &Stage,
    index: usize,
    subjects: &[&str],
    after: &str,
) -> Result<(), String> {
    let ok = stage.tap.wait_until(WAIT, |recs| {
        recs.iter().skip(index).any(|r| {
            let subs = subscribed_subjects(&r.client_ops());
            subjects.iter().all(|s| subs.iter().any(|x| x == s))
        })
    });
    if ok {
        return Ok(());
    }
    let recs = stage.tap.recordings();
    match recs.last().filter(|_| recs.len() > index) {
        None => Err(format!(
            "no new connection within {WAIT:?} after {after} (connections seen: {}; {})",
            recs.len(),
            stage.client.tail()
        )),
        Some(r) => Err(format!(
            "reconnected after {after} but subscribed only to {:?}",
            subscribed_subjects(&r.client_ops())
        )),
    }
}

pub(super) fn stale_detection(stage: &mut Stage) -> Result<String, String> {
    stage.client.command("sub kit.stale", WAIT)?;
    stage.client.command("flush", WAIT)?;
    let cid = stage
        .recording(0)
        .and_then(|r| r.client_id())
        .ok_or("kit: no client_id in INFO")?;
    let mark = stage.client.mark();
    let started = Instant::now();
    stage.inject(Fault::IgnorePings {
        target: Target::Cid(cid),
        lasting: Lasting::UntilCleared,
    })?;
    expect_resubscribed(
        stage,
        1,
        &["kit.stale"],
        "the server stopped answering PINGs",
    )?;
    let took = started.elapsed();
    let mut publisher = stage.publisher()?;
    publisher.publish("kit.stale", b"fresh")?;
    publisher.sync()?;
    stage.expect_msg(mark, "kit.stale", "fresh")?;
    Ok(format!(
        "detected the stale server and reconnected after {} ms, resubscribed",
        took.as_millis()
    ))
}

pub(super) fn connect_urls(stage: &mut Stage) -> Result<String, String> {
    let other = start_server(|_| {})?;
    let other_tap = Tap::start(server_addr(&other)?).map_err(|e| format!("kit: tap: {e}"))?;
    stage.client.command("sub kit.moved", WAIT)?;
    stage.client.command("flush", WAIT)?;
    stage.inject(Fault::AsyncInfo {
        target: Target::Name(NAME.into()),
        connect_urls: vec![other_tap.addr().to_string()],
        lame_duck: false,
    })?;
    // A round trip: the INFO (sent before the PONG) has been read.
    stage.client.command("flush", WAIT)?;
    stage.tap.stop_listening();
    let mark = stage.client.mark();
    stage.inject(Fault::Close {
        target: Target::Name(NAME.into()),
        err: None,
    })?;
    let moved = other_tap.wait_until(WAIT, |recs| {
        recs.iter().any(|r| {
            subscribed_subjects(&r.client_ops())
                .iter()
                .any(|s| s == "kit.moved")
        })
    });
    if !moved {
        return Err(format!(
            "the original server went away but the client never connected (and resubscribed) \
             to the announced {} ({})",
            other_tap.addr(),
            stage.client.tail()
        ));
    }
    let mut publisher = RawClient::connect(server_addr(&other)?)?;
    publisher.publish("kit.moved", b"there")?;
    publisher.sync()?;
    stage.expect_msg(mark, "kit.moved", "there")?;
    Ok("moved to the server announced in connect_urls, resubscribed and received there".into())
}

pub(super) fn lame_duck(stage: &mut Stage) -> Result<String, String> {
    stage.client.command("sub kit.ldm", WAIT)?;
    stage.client.command("flush", WAIT)?;
    let mark = stage.client.mark();
    stage.inject(Fault::AsyncInfo {
        target: Target::Name(NAME.into()),
        connect_urls: Vec::new(),
        lame_duck: true,
    })?;
    stage
        .client
        .wait_for(mark, WAIT, |l| l == "lame_duck")
        .map_err(|_| {
            format!(
                "no lame duck notification reached the application ({})",
                stage.client.tail()
            )
        })?;
    let mut publisher = stage.publisher()?;
    publisher.publish("kit.ldm", b"still")?;
    publisher.sync()?;
    stage.expect_msg(mark, "kit.ldm", "still")?;
    if stage.tap.recordings().len() > 1 {
        return Err("reported lame duck mode but also dropped the connection".into());
    }
    Ok("lame duck mode reported to the application; connection still delivers".into())
}

pub(super) fn reconnect_after_refusals(stage: &mut Stage) -> Result<String, String> {
    stage.client.command("sub kit.refused", WAIT)?;
    stage.client.command("flush", WAIT)?;
    stage.inject(Fault::RefuseConnects {
        count: 2,
        refusal: Refusal::MaxConnections,
    })?;
    stage.inject(Fault::RefuseConnects {
        count: 1,
        refusal: Refusal::Authorization,
    })?;
    let mark = stage.client.mark();
    stage.inject(Fault::Close {
        target: Target::Name(NAME.into()),
        err: None,
    })?;
    // Connections 1..=3 are the refused attempts; the fourth must succeed.
    expect_resubscribed(stage, 4, &["kit.refused"], "three refused reconnects")?;
    let mut publisher = stage.publisher()?;
    publisher.publish("kit.refused", b"back")?;
    publisher.sync()?;
    stage.expect_msg(mark, "kit.refused", "back")?;
    Ok(
        "kept reconnecting through 2 max-connections and 1 authorization refusals, \
        resubscribed"
            .into(),
    )
}

pub(super) fn publish_while_disconnected(stage: &mut Stage) -> Result<String, String> {
    let mut subscriber = stage.publisher()?;
    subscriber.subscribe("kit.buffered")?;
    stage.client.command("flush", WAIT)?;
    stage.tap.stop_listening();
    let mark = stage.client.mark();
    stage.inject(Fault::Close {
        target: Target::Name(NAME.into()),
        err: None,
    })?;
    stage
        .client
        .wait_for(mark, WAIT, |l| l == "disconnected")
        .map_err(|_| "no disconnected event after the server closed the connection".to_owned())?;
    stage
        .client
        .command("pub kit.buffered kept", WAIT)
        .map_err(|e| format!("publishing while disconnected failed: {e}"))?;
    stage
        .tap
        .resume_listening()
        .map_err(|e| format!("kit: tap: {e}"))?;
    subscriber.expect_payload(b"kept").map_err(|e| {
        let later: Vec<String> = stage
            .tap
            .recordings()
            .iter()
            .skip(1)
            .map(|r| {
                let ops = r.client_ops();
                let pubs = ops
                    .iter()
                    .filter(|op| matches!(op, ClientOp::Pub { subject, .. } if subject == "kit.buffered"))
                    .count();
                format!("{} ops, {pubs} PUB kit.buffered", ops.len())
            })
            .collect();
        format!(
            "{e}: new connections sent [{}] ({})",
            later.join("; "),
            stage.client.tail()
        )
    })?;
    Ok("the message published while disconnected was sent after the reconnect".into())
}
