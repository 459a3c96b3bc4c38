//! TLS on the client listener, as nats-server's `tls {}` block and `--tls*` flags: a rustls
//! server configuration from PEM files, and the upgrade of an accepted TCP connection.
//!
//! nats-server sends INFO in plain text and then expects the client's TLS handshake (the
//! client learns from `tls_required` that it must start one); with `handshake_first` the
//! handshake comes first and INFO follows inside TLS. `TlsAcceptor::accept` does either: the driver
//! writes INFO straight to the socket (plain mode) and everything after it goes through
//! the TLS stream once the handshake, bounded by `timeout`, has completed.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_lite::io::{ReadHalf, WriteHalf};
use futures_lite::{AsyncRead, AsyncWrite, FutureExt};
use futures_rustls::server::TlsStream;
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use smol::net::TcpStream;

use crate::server::conn::ConnIo;

/// nats-server's `tls {}` options (and `--tls`, `--tlscert`, `--tlskey`, `--tlscacert`,
/// `--tlsverify`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsOptions {
    /// The server's certificate chain (PEM).
    pub cert_file: PathBuf,
    /// The server's private key (PEM).
    pub key_file: PathBuf,
    /// Certificates of the authorities client certificates must chain to (PEM).
    pub ca_file: Option<PathBuf>,
    /// Require and verify a client certificate.
    pub verify: bool,
    /// Verify the client certificate and authenticate as the user it names.
    pub verify_and_map: bool,
    /// How long the TLS handshake may take (nats-server's default: 2 s).
    pub timeout: Duration,
    /// The handshake comes before INFO (`handshake_first`).
    pub handshake_first: bool,
}

impl TlsOptions {
    /// TLS with `cert_file` and `key_file` and nats-server's defaults otherwise.
    pub fn new(cert_file: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
        Self {
            cert_file: cert_file.into(),
            key_file: key_file.into(),
            ca_file: None,
            verify: false,
            verify_and_map: false,
            timeout: Duration::from_secs(2),
            handshake_first: false,
        }
    }

    /// Whether client certificates are required and verified.
    pub fn verifies(&self) -> bool {
        self.verify || self.verify_and_map
    }
}

/// A TLS listener's settings, ready to accept with.
#[derive(Clone)]
pub(crate) struct TlsAcceptor {
    acceptor: futures_rustls::TlsAcceptor,
    timeout: Duration,
    handshake_first: bool,
    map: bool,
}

impl std::fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsAcceptor")
            .field("timeout", &self.timeout)
            .field("handshake_first", &self.handshake_first)
            .finish_non_exhaustive()
    }
}

impl TlsAcceptor {
    /// Loads the certificate, key and CA files of `options`.
    ///
    /// # Errors
    /// A file cannot be read or holds no usable certificate or key; the message names it.
    pub(crate) fn new(options: &TlsOptions) -> Result<Self, String> {
        let config = server_config(options)?;
        Ok(Self {
            acceptor: futures_rustls::TlsAcceptor::from(Arc::new(config)),
            timeout: options.timeout,
            handshake_first: options.handshake_first,
            map: options.verify_and_map,
        })
    }

    /// The TLS handshake on `stream`, bounded by the timeout (failures are logged).
    pub(crate) async fn handshake(
        &self,
        stream: TcpStream,
        peer: std::net::SocketAddr,
    ) -> Option<Stream> {
        let expired = async {
            smol::Timer::after(self.timeout).await;
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "TLS handshake timeout",
            ))
        };
        match self.acceptor.accept(stream).or(expired).await {
            Ok(tls) => Some(tls),
            Err(e) => {
                tracing::error!("{peer} - TLS handshake error: {e}");
                None
            }
        }
    }

    /// The connection `stream` as the driver serves it: INFO written in plain text (unless
    /// the handshake comes first), everything else through TLS. The second value receives
    /// the names of the client's certificate once the handshake is done (with
    /// `verify_and_map`).
    pub(crate) fn accept(
        &self,
        stream: TcpStream,
        peer: std::net::SocketAddr,
    ) -> (ConnIo, Option<TlsNames>) {
        let (to_writer, for_writer) = async_channel::bounded(1);
        let names = self.map.then(TlsNames::default);
        let slot = names.clone();
        let acceptor = self.clone();
        let socket = stream.clone();
        let handshake = async move {
            let Some(tls) = acceptor.handshake(socket, peer).await else {
                return Err(HandshakeFailed::wrap(io::Error::other("handshake failed")));
            };
            if let Some(slot) = slot {
                let _ = slot.0.set(peer_names(&tls));
            }
            let (reader, writer) = futures_lite::io::split(tls);
            let _ = to_writer.try_send(writer);
            Ok(reader)
        };
        let reader = TlsReader::Handshaking(Box::pin(handshake));
        let writer = TlsWriter::Waiting(Box::pin(async move { for_writer.recv().await.ok() }));
        let io = ConnIo::new(reader, writer);
        let io = if self.handshake_first {
            io
        } else {
            io.with_plain_first(stream)
        };
        (io, names)
    }
}

/// Where the handshake leaves the client certificate's names.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsNames(Arc<OnceLock<Vec<String>>>);

impl TlsNames {
    /// The names, once the handshake is done.
    pub(crate) fn get(&self) -> Option<Vec<String>> {
        self.0.get().cloned()
    }
}

/// The error a failed or timed-out handshake reads as.
#[derive(Debug)]
pub(crate) struct HandshakeFailed(io::Error);

impl HandshakeFailed {
    fn wrap(e: io::Error) -> io::Error {
        io::Error::other(Self(e))
    }

    /// Whether a read error is a failed handshake.
    pub(crate) fn is(e: &io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<Self>())
    }
}

impl std::fmt::Display for HandshakeFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TLS handshake error: {}", self.0)
    }
}

impl std::error::Error for HandshakeFailed {}

type Stream = TlsStream<TcpStream>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The reading half: the handshake, then the TLS stream's reads.
enum TlsReader {
    Handshaking(BoxFuture<io::Result<ReadHalf<Stream>>>),
    Ready(ReadHalf<Stream>),
    Failed,
}

impl AsyncRead for TlsReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            match &mut *self {
                Self::Handshaking(handshake) => match handshake.as_mut().poll(cx) {
                    Poll::Ready(Ok(reader)) => *self = Self::Ready(reader),
                    Poll::Ready(Err(e)) => {
                        *self = Self::Failed;
                        return Poll::Ready(Err(e));
                    }
                    Poll::Pending => return Poll::Pending,
                },
                Self::Ready(reader) => return Pin::new(reader).poll_read(cx, buf),
                Self::Failed => return Poll::Ready(Ok(0)),
            }
        }
    }
}

/// The writing half: waits for the handshake, then writes through TLS.
enum TlsWriter {
    Waiting(BoxFuture<Option<WriteHalf<Stream>>>),
    Ready(WriteHalf<Stream>),
    Failed,
}

impl TlsWriter {
    /// The TLS writer, once the handshake has produced it.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&mut WriteHalf<Stream>>> {
        if let Self::Waiting(waiting) = self {
            match waiting.as_mut().poll(cx) {
                Poll::Ready(Some(writer)) => *self = Self::Ready(writer),
                Poll::Ready(None) => *self = Self::Failed,
                Poll::Pending => return Poll::Pending,
            }
        }
        match self {
            Self::Ready(writer) => Poll::Ready(Ok(writer)),
            _ => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "no TLS session",
            ))),
        }
    }
}

impl AsyncWrite for TlsWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.poll_ready(cx) {
            Poll::Ready(Ok(writer)) => Pin::new(writer).poll_write(cx, buf),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.poll_ready(cx) {
            Poll::Ready(Ok(writer)) => Pin::new(writer).poll_write_vectored(cx, bufs),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.poll_ready(cx) {
            Poll::Ready(Ok(writer)) => Pin::new(writer).poll_flush(cx),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut *self {
            Self::Ready(writer) => Pin::new(writer).poll_close(cx),
            // Nothing was ever sent through TLS: nothing to close.
            _ => Poll::Ready(Ok(())),
        }
    }
}

/// The rustls configuration for `options`.
fn server_config(options: &TlsOptions) -> Result<ServerConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = certificates(&options.cert_file)?;
    let key = PrivateKeyDer::from_pem_file(&options.key_file).map_err(|e| {
        format!(
            "error parsing X509 certificate/key pair: {}: {e}",
            options.key_file.display()
        )
    })?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = if options.verifies() {
        let Some(ca_file) = &options.ca_file else {
            return Err("TLS verify requires a ca_file to verify client certificates with".into());
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in certificates(ca_file)? {
            roots.add(cert).map_err(|e| {
                format!(
                    "failed to parse root ca certificate {}: {e}",
                    ca_file.display()
                )
            })?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| format!("TLS client verification: {e}"))?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("error parsing X509 certificate/key pair: {e}"))
}

/// Every certificate in the PEM file at `path`.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| {
            format!(
                "error parsing X509 certificate/key pair: {}: {e}",
                path.display()
            )
        })?
        .collect();
    let certs = certs.map_err(|e| {
        format!(
            "error parsing X509 certificate/key pair: {}: {e}",
            path.display()
        )
    })?;
    if certs.is_empty() {
        return Err(format!(
            "error parsing X509 certificate/key pair: {}: no certificate found",
            path.display()
        ));
    }
    Ok(certs)
}

/// The names `verify_and_map` matches users against, in nats-server's order: the
/// certificate's e-mail addresses, DNS names and URIs, then its subject as Go prints it
/// (RFC 2253, last RDN first: `CN=alice,O=Acme,C=US`).
fn peer_names(tls: &Stream) -> Vec<String> {
    let (_, session) = tls.get_ref();
    let Some(cert) = session.peer_certificates().and_then(|c| c.first()) else {
        return Vec::new();
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        use x509_parser::extensions::GeneralName;
        for kind in 0..3 {
            for name in &san.value.general_names {
                match (kind, name) {
                    (0, GeneralName::RFC822Name(n))
                    | (1, GeneralName::DNSName(n))
                    | (2, GeneralName::URI(n)) => names.push((*n).to_owned()),
                    _ => {}
                }
            }
        }
    }
    names.push(rfc2253(cert.subject()));
    names
}

/// `name` as Go's `pkix.Name.String()` writes it.
fn rfc2253(name: &x509_parser::x509::X509Name<'_>) -> String {
    use x509_parser::oid_registry as oids;
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let oid = attr.attr_type();
                    let key = [
                        (oids::OID_X509_COMMON_NAME, "CN"),
                        (oids::OID_X509_ORGANIZATION_NAME, "O"),
                        (oids::OID_X509_ORGANIZATIONAL_UNIT, "OU"),
                        (oids::OID_X509_COUNTRY_NAME, "C"),
                        (oids::OID_X509_LOCALITY_NAME, "L"),
                        (oids::OID_X509_STATE_OR_PROVINCE_NAME, "ST"),
                        (oids::OID_X509_STREET_ADDRESS, "STREET"),
                        (oids::OID_X509_POSTAL_CODE, "POSTALCODE"),
                        (oids::OID_X509_SERIALNUMBER, "SERIALNUMBER"),
                        (oids::OID_DOMAIN_COMPONENT, "DC"),
                    ]
                    .iter()
                    .find(|(known, _)| known == oid)
                    .map_or_else(|| oid.to_id_string(), |(_, key)| (*key).to_owned());
                    let value = attr.as_str().unwrap_or_default();
                    format!("{key}={}", escape_rdn_value(value))
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

/// RFC 2253 escaping of an attribute value.
fn escape_rdn_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == ' ' || c == '#'))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The rustls client configuration for a leaf remote's hub: `tls`'s CA file (or the
/// system's certificates) and client certificate.
///
/// # Errors
/// A file cannot be read or holds no usable certificate or key.
pub(crate) fn leaf_client_config(
    tls: &skiff_core::LeafTls,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    match &tls.ca_file {
        Some(ca) => {
            for cert in certificates(Path::new(ca))? {
                roots
                    .add(cert)
                    .map_err(|e| format!("failed to parse root ca certificate {ca}: {e}"))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots);
    let config = match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => {
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("error parsing X509 certificate/key pair: {key}: {e}"))?;
            builder
                .with_client_auth_cert(certificates(Path::new(cert))?, key)
                .map_err(|e| format!("error parsing X509 certificate/key pair: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Connects to a hub that announces TLS in its first INFO: reads that INFO in plain text,
/// then performs the handshake for `host`. Returns the connection as the driver serves it,
/// with the INFO handed to the core first.
pub(crate) async fn connect_leaf(
    mut stream: TcpStream,
    host: &str,
    config: Arc<rustls::ClientConfig>,
) -> io::Result<ConnIo> {
    use futures_lite::AsyncReadExt;
    // Byte by byte: nothing past the INFO line may be taken from the socket before TLS.
    let mut info = Vec::with_capacity(512);
    let mut byte = [0u8; 1];
    while info.last() != Some(&b'\n') {
        if stream.read(&mut byte).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the hub closed before its INFO",
            ));
        }
        info.push(byte[0]);
        if info.len() > 64 * 1024 {
            return Err(io::Error::other("the hub's INFO is too long"));
        }
    }
    let name = rustls_pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| io::Error::other(format!("TLS server name {host:?}: {e}")))?;
    let tls = futures_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await?;
    let (reader, writer) = futures_lite::io::split(tls);
    let reader = futures_lite::io::Cursor::new(info).chain(reader);
    Ok(ConnIo::new(reader, writer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdn_values_are_escaped_as_rfc_2253() {
        assert_eq!(escape_rdn_value("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape_rdn_value(" #x "), "\\ #x\\ ");
        assert_eq!(escape_rdn_value("#x"), "\\#x");
        assert_eq!(escape_rdn_value("plain"), "plain");
    }

    #[test]
    fn missing_files_are_named() {
        let options = TlsOptions::new("/nonexistent/cert.pem", "/nonexistent/key.pem");
        let error = TlsAcceptor::new(&options).unwrap_err();
        assert!(
            error.starts_with("error parsing X509 certificate/key pair: /nonexistent/cert.pem"),
            "{error}"
        );
    }
}
