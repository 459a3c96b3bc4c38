//! Scenarios about what the client sends and receives: CONNECT options, split deliveries,
//! max_payload, drain, requests (no responders, timeouts) and server errors.

use std::time::{Duration, Instant};

use skiff::{Fault, Lasting, Target};

use super::super::wire::{ClientOp, subscribed_subjects};
use super::{NAME, Stage, WAIT};

pub(super) fn first_connect(stage: &Stage, index: usize) -> Result<serde_json::Value, String> {
    let found = stage.tap.wait_until(WAIT, |recs| {
        recs.get(index).is_some_and(|r| {
            r.client_ops()
                .iter()
                .any(|op| matches!(op, ClientOp::Connect(_)))
        })
    });
    if !found {
        return Err(format!("connection {index} sent no CONNECT"));
    }
    let rec = stage.recording(index).expect("recorded");
    rec.client_ops()
        .into_iter()
        .find_map(|op| match op {
            ClientOp::Connect(json) => Some(json),
            _ => None,
        })
        .ok_or_else(|| "no CONNECT".into())
}

pub(super) fn connect_options(stage: &mut Stage) -> Result<String, String> {
    let connect = first_connect(stage, 0)?;
    let field = |name: &str| {
        connect
            .get(name)
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    };
    let mut wrong = Vec::new();
    for (name, expected) in [
        ("verbose", false),
        ("pedantic", false),
        ("headers", true),
        ("no_responders", true),
    ] {
        if field(name) != serde_json::Value::Bool(expected) {
            wrong.push(format!("{name} is {} (want {expected})", field(name)));
        }
    }
    if field("protocol") != serde_json::json!(1) {
        wrong.push(format!("protocol is {} (want 1)", field("protocol")));
    }
    if !matches!(
        field("echo"),
        serde_json::Value::Null | serde_json::Value::Bool(true)
    ) {
        wrong.push(format!("echo is {} (want true or absent)", field("echo")));
    }
    for name in ["lang", "version"] {
        if field(name).as_str().is_none_or(str::is_empty) {
            wrong.push(format!("{name} is {} (want a string)", field(name)));
        }
    }
    if !wrong.is_empty() {
        return Err(format!("CONNECT {connect}: {}", wrong.join("; ")));
    }
    stage.client.command("sub kit.echo", WAIT)?;
    stage.client.command("flush", WAIT)?;
    let mark = stage.client.mark();
    stage.client.command("pub kit.echo mine", WAIT)?;
    stage.client.command("flush", WAIT)?;
    stage
        .expect_msg(mark, "kit.echo", "mine")
        .map_err(|e| format!("echo advertised but {e}"))?;
    Ok(format!(
        "CONNECT verbose/pedantic false, protocol 1, headers and no_responders true, echo {}, lang {}; own message echoed",
        field("echo"),
        field("lang")
    ))
}

pub(super) fn split_delivery(stage: &mut Stage) -> Result<String, String> {
    stage.client.command("sub kit.split", WAIT)?;
    stage.client.command("flush", WAIT)?;
    let mark = stage.client.mark();
    stage.inject(Fault::SplitWrites {
        target: Target::Name(NAME.into()),
        chunk: 1,
        delay: Duration::from_millis(2),
        lasting: Lasting::UntilCleared,
    })?;
    let mut publisher = stage.publisher()?;
    publisher.publish("kit.split", b"first")?;
    publisher.send(b"PUB kit.split kit.reply 6\r\nsecond\r\n")?;
    publisher.publish_with_header("kit.split", "v3", b"third")?;
    publisher.publish("kit.split", b"")?;
    publisher.publish("kit.split", b"fifth")?;
    publisher.sync()?;
    stage.expect_msg(mark, "kit.split", "first")?;
    let second = stage.expect_msg(mark, "kit.split", "second")?;
    if second.split(' ').nth(2) != Some("kit.reply") {
        return Err(format!("the reply subject was lost: {second}"));
    }
    let third = stage.expect_msg(mark, "kit.split", "third")?;
    if third.split(' ').nth(3) != Some("v3") {
        return Err(format!("the header X-Kit: v3 was lost: {third}"));
    }
    stage.expect_msg(mark, "kit.split", "fifth")?;
    let got: Vec<String> = stage
        .client
        .lines_since(mark)
        .into_iter()
        .filter(|l| l.starts_with("msg kit.split "))
        .collect();
    if got.len() != 5 {
        return Err(format!("expected 5 messages, got {}: {got:?}", got.len()));
    }
    Ok("MSG, MSG with reply, HMSG and an empty MSG intact from 1-byte writes".into())
}

pub(super) fn max_payload(stage: &mut Stage) -> Result<String, String> {
    stage.client.command("sub kit.fits", WAIT)?;
    stage.client.command("flush", WAIT)?;
    let mark = stage.client.mark();
    let refusal = stage.client.command("pubsize kit.big 513", WAIT).err();
    stage.client.command("pubsize kit.fits 512", WAIT)?;
    let flushed = stage.client.command("flush", WAIT);
    let rec = stage.recording(0).ok_or("no connection")?;
    let sent_big = rec
        .client_ops()
        .iter()
        .any(|op| matches!(op, ClientOp::Pub { subject, .. } if subject == "kit.big"));
    if sent_big {
        return Err(format!(
            "sent a 513-byte PUB past max_payload 512 (the server closed it: {})",
            if rec.closed { "yes" } else { "no" }
        ));
    }
    let Some(refusal) = refusal else {
        return Err("accepted the 513-byte publish without an error (and did not send it)".into());
    };
    flushed?;
    stage.expect_msg(mark, "kit.fits", &"x".repeat(512))?;
    Ok(format!(
        "513 bytes refused locally ({}); 512 bytes delivered",
        refusal.trim_start_matches("err pubsize ")
    ))
}

pub(super) fn drain(stage: &mut Stage) -> Result<String, String> {
    const COUNT: usize = 200;
    stage.client.command("sub kit.drain.in", WAIT)?;
    stage.client.command("flush", WAIT)?;
    stage.client.send(&format!("burst kit.drain.out {COUNT}"))?;
    stage.client.command("drain", Duration::from_secs(10))?;
    let closed = stage
        .tap
        .wait_until(WAIT, |recs| recs.first().is_some_and(|r| r.closed));
    let rec = stage.recording(0).ok_or("no connection")?;
    let ops = rec.client_ops();
    let published = ops
        .iter()
        .filter(|op| matches!(op, ClientOp::Pub { subject, .. } if subject == "kit.drain.out"))
        .count();
    let unsubscribed = subscribed_subjects(&ops).is_empty();
    match (published == COUNT, unsubscribed, closed) {
        (true, true, true) => Ok(format!(
            "all {COUNT} messages published before drain were flushed, UNSUB sent, then closed"
        )),
        _ => Err(format!(
            "{published} of {COUNT} messages reached the server, UNSUB {}, connection {}",
            if unsubscribed { "sent" } else { "missing" },
            if closed { "closed" } else { "still open" }
        )),
    }
}

pub(super) fn no_responders(stage: &mut Stage) -> Result<String, String> {
    let started = Instant::now();
    let answer = stage.client.command("request kit.nobody hi 4000", WAIT);
    let took = started.elapsed();
    match answer {
        Err(e) if e.starts_with("err request no_responders") && took < Duration::from_secs(3) => {
            Ok(format!(
                "failed with no-responders after {} ms",
                took.as_millis()
            ))
        }
        Err(e) => Err(format!("after {} ms: {e}", took.as_millis())),
        Ok(line) => Err(format!("the request succeeded: {line}")),
    }
}

pub(super) fn permission_error(stage: &mut Stage) -> Result<String, String> {
    stage.client.command("sub kit.allowed", WAIT)?;
    stage.client.command("flush", WAIT)?;
    let mark = stage.client.mark();
    stage.client.command("pub kit.denied x", WAIT)?;
    let _ = stage.client.command("flush", WAIT);
    let error = stage
        .client
        .wait_for(mark, WAIT, |l| {
            l.starts_with("error") && l.to_ascii_lowercase().contains("permissions violation")
        })
        .map_err(|_| {
            format!(
                "the permissions violation was not reported to the application ({})",
                stage.client.tail()
            )
        })?;
    let mut publisher = stage.publisher()?;
    publisher.publish("kit.allowed", b"still")?;
    publisher.sync()?;
    stage.expect_msg(mark, "kit.allowed", "still")?;
    if stage.tap.recordings().len() > 1 {
        return Err(format!(
            "reported it ({error}) but also reconnected, although the server kept the connection"
        ));
    }
    Ok(format!(
        "reported as `{error}`; same connection still delivers"
    ))
}

pub(super) fn request_timeout(stage: &mut Stage) -> Result<String, String> {
    // A silent responder: it receives the request and never answers.
    let mut silent = stage.publisher()?;
    silent.subscribe("kit.silent")?;
    let started = Instant::now();
    let answer = stage.client.command("request kit.silent hi 500", WAIT);
    let took = started.elapsed();
    match answer {
        Err(e) if e.starts_with("err request timeout") && took >= Duration::from_millis(450) => Ok(
            format!("timed out after {} ms (asked for 500)", took.as_millis()),
        ),
        Err(e) => Err(format!("after {} ms: {e}", took.as_millis())),
        Ok(line) => Err(format!("the request succeeded: {line}")),
    }
}
