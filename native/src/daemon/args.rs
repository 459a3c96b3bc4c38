//! The essential nats-server flags, parsed by hand (interim, until the full CLI is joined).

use std::path::PathBuf;

use super::DaemonOptions;

/// Usage text for the flags understood here.
pub const USAGE: &str = "\
Usage: skiff [options]

    -a, --addr, --net <host>   Bind to host address (default: 0.0.0.0)
    -p, --port <port>          Use port for clients (default: 4222; -1 for random)
    -n, --name <name>          Server name (default: auto)
    -P, --pid <file>           File to store PID
        --ports_file_dir <dir> Creates a ports file in the specified directory
    -l, --log <file>           File to redirect log output
    -T, --logtime <bool>       Timestamp log entries (default: true)
        --logtime_utc          Timestamps in UTC instead of local timezone
    -D, --debug                Enable debugging output
    -V, --trace                Trace the raw protocol
    -DV                        Debug and trace
    -h, --help                 Show this message
    -v, --version              Show version";

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    /// Run the server.
    Run(Box<DaemonOptions>),
    /// Print the version.
    Version,
    /// Print the usage.
    Help,
}

/// Parses argv (without the program name).
///
/// # Errors
/// An unknown flag, a missing value, or a value that does not parse.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut options = DaemonOptions::default();
    options.server.host = "0.0.0.0".to_owned();
    options.server.port = 4222;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let flag = flag.trim_start_matches('-');
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("flag needs an argument: -{flag}"))
        };
        match flag {
            "a" | "addr" | "net" => options.server.host = value()?,
            "p" | "port" => {
                let v = value()?;
                options.server.port = match v.parse::<i32>() {
                    Ok(-1) => 0,
                    Ok(p) => u16::try_from(p).map_err(|_| format!("invalid port: {v}"))?,
                    Err(_) => return Err(format!("invalid port: {v}")),
                };
            }
            "n" | "name" | "server_name" => options.server.server_name = value()?,
            "P" | "pid" => options.server.pid_file = Some(PathBuf::from(value()?)),
            "ports_file_dir" => options.server.ports_file_dir = Some(PathBuf::from(value()?)),
            "l" | "log" => options.log.file = Some(PathBuf::from(value()?)),
            "T" | "logtime" => options.log.logtime = parse_bool(inline.as_deref())?,
            "logtime_utc" => options.log.logtime_utc = parse_bool(inline.as_deref())?,
            "D" | "debug" => options.log.debug = parse_bool(inline.as_deref())?,
            "V" | "trace" => options.log.trace = parse_bool(inline.as_deref())?,
            "DV" => (options.log.debug, options.log.trace) = (true, true),
            "h" | "help" => return Ok(Parsed::Help),
            "v" | "version" => return Ok(Parsed::Version),
            _ => return Err(format!("flag provided but not defined: {arg}")),
        }
    }
    Ok(Parsed::Run(Box::new(options)))
}

/// A boolean flag: present means true, `=false` turns it off.
fn parse_bool(inline: Option<&str>) -> Result<bool, String> {
    match inline {
        None | Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(v) => Err(format!("invalid boolean value: {v}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> DaemonOptions {
        match parse(args.iter().map(|s| (*s).to_owned())).unwrap() {
            Parsed::Run(o) => *o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_match_nats_server() {
        let o = run(&[]);
        assert_eq!((o.server.host.as_str(), o.server.port), ("0.0.0.0", 4222));
        assert!(o.log.logtime);
    }

    #[test]
    fn flags() {
        let o = run(&[
            "-a",
            "127.0.0.1",
            "-p",
            "-1",
            "--name=x",
            "-DV",
            "-T=false",
            "-P",
            "/tmp/p",
        ]);
        assert_eq!((o.server.host.as_str(), o.server.port), ("127.0.0.1", 0));
        assert_eq!(o.server.server_name, "x");
        assert!(o.log.debug && o.log.trace && !o.log.logtime);
        assert_eq!(o.server.pid_file, Some(PathBuf::from("/tmp/p")));
        assert!(matches!(parse(["-v".to_owned()]), Ok(Parsed::Version)));
        assert!(parse(["--bogus".to_owned()]).is_err());
        assert!(parse(["-p".to_owned()]).is_err());
    }
}
