//! Certificates made at test time (rcgen): nothing secret is committed.

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};

/// A CA, a server certificate for 127.0.0.1/localhost and a client certificate for
/// `alice@example.com` (subject `O=Acme,CN=alice` as Go prints it), written as PEM files into a fresh directory.
pub struct Certs {
    /// Where the PEM files are.
    pub dir: PathBuf,
}

impl Certs {
    /// Makes the certificates under a directory named after `tag`.
    pub fn make(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("skiff-tls-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Skiff Test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();

        let server_key = KeyPair::generate().unwrap();
        let mut server =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server_cert = server.signed_by(&server_key, &ca_cert, &ca_key).unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
        client
            .distinguished_name
            .push(DnType::OrganizationName, "Acme");
        client.distinguished_name.push(DnType::CommonName, "alice");
        client.subject_alt_names =
            vec![SanType::Rfc822Name("alice@example.com".try_into().unwrap())];
        let client_cert = client.signed_by(&client_key, &ca_cert, &ca_key).unwrap();

        for (name, pem) in [
            ("ca.pem", ca_cert.pem()),
            ("server.pem", server_cert.pem()),
            ("server-key.pem", server_key.serialize_pem()),
            ("client.pem", client_cert.pem()),
            ("client-key.pem", client_key.serialize_pem()),
        ] {
            std::fs::write(dir.join(name), pem).unwrap();
        }
        Self { dir }
    }

    /// The file `name` of the set.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A `tls {}` block with the server certificate and `extra` settings.
    pub fn block(&self, extra: &str) -> String {
        format!(
            "tls {{\n cert_file: \"{}\"\n key_file: \"{}\"\n ca_file: \"{}\"\n {extra}\n}}\n",
            self.path("server.pem").display(),
            self.path("server-key.pem").display(),
            self.path("ca.pem").display()
        )
    }
}
