//! `tls:` as written → the checked TLS settings of a server or a client: which certificate, whom
//! to trust, what to offer. PEM files are read here, relative to the scenario, so that a missing
//! or malformed one is the file's problem, located at the field that names it.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::checker::Checker;
use crate::scenario::model::{
    CertificateFault, ClientAuth, ClientIdentity, ClientTls, Identity, Rule, Server,
    ServerIdentity, ServerTls, ServerTrust, Step, TlsVersion, Trust,
};
use crate::scenario::positions::join;
use crate::scenario::raw::{RawClientAuth, RawClientTls, RawClientTlsSetting, RawServerTls};

/// The largest PEM file read (a chain of a few certificates is a few KiB).
const MAX_PEM: u64 = 1 << 20;

/// `client_ca:` and `client_cert:` name the run's own CA or certificate by this word.
const RUN: &str = "run";
/// `client_cert:` names a certificate signed by a CA nobody trusts by this word.
const OTHER_CA: &str = "other_ca";

impl Checker<'_> {
    /// The TLS settings of the server at `path` (`raw`: its `tls:`; `fault`: its
    /// `faults.certificate`), whose rules are `rules`; `None` when it speaks plain text.
    pub(super) fn server_tls(
        &mut self,
        path: &str,
        raw: Option<RawServerTls>,
        fault: Option<CertificateFault>,
        (udp, proxy): (bool, bool),
        rules: &[Rule],
    ) -> Option<ServerTls> {
        let tls_path = join(path, "tls");
        let Some(raw) = raw else {
            if fault.is_some() {
                self.at_key(
                    &join(path, "faults.certificate"),
                    "`certificate` is a fault of a TLS server's certificate, and this server speaks plain text",
                )
                .add_help("give the server `tls: { self_signed: true }`");
            }
            if let Some(i) = rules.iter().position(|r| r.starttls) {
                self.at_key(
                    &format!("{path}.rules[{i}].starttls"),
                    "`starttls` turns the connection to TLS, and this server has no `tls:`",
                )
                .add_help("give the server `tls: { self_signed: true }` (its connections start in plain text while a rule says `starttls`)");
            }
            return None;
        };
        if udp {
            self.at_key(
                &tls_path,
                "`tls` applies to tcp servers only (DTLS is not supported)",
            );
            return None;
        }
        if proxy {
            self.at_key(&tls_path, "a proxy passes TLS through as bytes: it does not speak it")
                .add_help("put `tls:` on the server the proxy forwards to; its clients speak TLS through the proxy");
            return None;
        }
        let identity = match (raw.self_signed, raw.cert, raw.key) {
            (Some(true), None, None) => ServerIdentity::Made,
            (None | Some(false), Some(cert), Some(key)) => {
                let cert_path = join(&tls_path, "cert");
                let key_path = join(&tls_path, "key");
                match self.identity((&cert_path, &cert), (&key_path, &key)) {
                    Some(identity) => ServerIdentity::Files(identity),
                    None => ServerIdentity::Made,
                }
            }
            (Some(true), _, _) => {
                self.at_key(
                    &join(&tls_path, "self_signed"),
                    "a server presents one certificate: `self_signed: true`, or `cert` and `key`",
                );
                ServerIdentity::Made
            }
            (_, Some(_), None) => {
                self.at_key(&join(&tls_path, "cert"), "`cert` needs its `key`");
                ServerIdentity::Made
            }
            (_, None, Some(_)) => {
                self.at_key(&join(&tls_path, "key"), "`key` needs its `cert`");
                ServerIdentity::Made
            }
            (_, None, None) => {
                self.at_value(&tls_path, "a TLS server needs a certificate")
                    .add_help("write `tls: { self_signed: true }` (made for the run, signed by its CA: `{ca_file}`), or `tls: { cert: FILE, key: FILE }`");
                ServerIdentity::Made
            }
        };
        if fault.is_some() && identity != ServerIdentity::Made {
            self.at_key(
                &join(path, "faults.certificate"),
                "`certificate` makes the run's certificate wrong on purpose: it needs `self_signed: true`",
            );
        }
        let client_auth = match (raw.client_ca, raw.client_auth) {
            (Some(ca), auth) => {
                let trust = self.trust(&join(&tls_path, "client_ca"), &ca);
                Some(ClientAuth {
                    trust,
                    required: auth != Some(RawClientAuth::Optional),
                })
            }
            (None, Some(_)) => {
                self.at_key(
                    &join(&tls_path, "client_auth"),
                    "`client_auth` needs `client_ca`: the CA a client's certificate must be signed by",
                )
                .add_help("write `client_ca: run` to trust the certificates the run makes (`client_cert: run`)");
                None
            }
            (None, None) => None,
        };
        Some(ServerTls {
            identity,
            alpn: self.alpn(&join(&tls_path, "alpn"), raw.alpn),
            client_auth,
            versions: self.versions(&join(&tls_path, "versions"), raw.versions),
            fault,
            starts_plain: rules.iter().any(|r| r.starttls),
        })
    }

    /// The TLS settings of the client at `path` (`raw`: its `tls:`), whose steps are `steps`,
    /// and which reaches `server` (followed through proxies) if it names one; `None` when it
    /// speaks plain text.
    pub(super) fn client_tls(
        &mut self,
        path: &str,
        raw: Option<RawClientTlsSetting>,
        (server, udp, program): (Option<&Server>, bool, bool),
        steps: &[Step],
        paths: &[String],
    ) -> Option<ClientTls> {
        let tls_path = join(path, "tls");
        if program {
            if raw.is_some() {
                self.at_key(&tls_path, "a program under test makes its own connections: `tls` does not apply")
                    .add_help("give it the run's CA as `{ca_file}` (or `NETLAB_CA_FILE`), and its certificate as `{cert_file}`/`{key_file}`");
            }
            return None;
        }
        let starttls = steps.iter().position(|s| matches!(s, Step::StartTls));
        let expects_error = steps
            .iter()
            .position(|s| matches!(s, Step::ExpectTlsError { .. }));
        let server_tls = server.and_then(|s| s.tls.as_ref());
        let written = raw.is_some();
        let settings = match raw {
            Some(RawClientTlsSetting::On(settings)) => settings,
            // A client of a TLS server speaks it (from the start, or at its `starttls`).
            None if server_tls.is_some_and(|tls| !tls.starts_plain || starttls.is_some()) => {
                RawClientTls::default()
            }
            None if starttls.is_some() || expects_error.is_some() => RawClientTls::default(),
            None => return None,
            Some(RawClientTlsSetting::Off) => {
                for at in [starttls, expects_error].into_iter().flatten() {
                    let step = paths.get(at).map_or(String::new(), |p| join(path, p));
                    let key = steps.get(at).map_or("", Step::keyword);
                    self.at_key(
                        &join(&step, key),
                        "this step speaks TLS, and the client says `tls: false`",
                    );
                }
                return None;
            }
        };
        if udp {
            // Steps that speak TLS are refused on a udp client where they are written.
            if written {
                self.at_key(
                    &tls_path,
                    "`tls` applies to tcp clients only (DTLS is not supported)",
                );
            }
            return None;
        }
        let trust = match (settings.insecure, settings.ca) {
            (Some(true), Some(_)) => {
                self.at_key(
                    &join(&tls_path, "insecure"),
                    "`insecure` checks no certificate, and `ca` says whom to trust: choose one",
                );
                ServerTrust::Insecure
            }
            (Some(true), None) => ServerTrust::Insecure,
            (_, Some(ca)) => ServerTrust::Trusted(self.trust(&join(&tls_path, "ca"), &ca)),
            (_, None) => ServerTrust::Trusted(Trust::RunCa),
        };
        let identity = match (settings.client_cert, settings.client_key) {
            (None, None) => None,
            (None, Some(_)) => {
                self.at_key(
                    &join(&tls_path, "client_key"),
                    "`client_key` needs its `client_cert`",
                );
                None
            }
            (Some(cert), key) if cert == RUN || cert == OTHER_CA => {
                if key.is_some() {
                    self.at_key(
                        &join(&tls_path, "client_key"),
                        format!("`client_cert: {cert}` is made for the run, with its own key"),
                    );
                }
                Some(match cert.as_str() {
                    RUN => ClientIdentity::Run,
                    _ => ClientIdentity::OtherCa,
                })
            }
            (Some(_), None) => {
                self.at_key(
                    &join(&tls_path, "client_cert"),
                    "`client_cert` needs its `client_key`",
                )
                .add_help(
                    "or write `client_cert: run` for a certificate the run makes, signed by its CA",
                );
                None
            }
            (Some(cert), Some(key)) => {
                let cert_path = join(&tls_path, "client_cert");
                let key_path = join(&tls_path, "client_key");
                self.identity((&cert_path, &cert), (&key_path, &key))
                    .map(ClientIdentity::Files)
            }
        };
        if let Some(sni) = &settings.sni
            && rustls::pki_types::ServerName::try_from(sni.as_str()).is_err()
        {
            self.at_value(
                &join(&tls_path, "sni"),
                format!("`{sni}` is not a DNS name or an IP address"),
            );
        }
        self.check_tls_steps(path, steps, paths);
        Some(ClientTls {
            trust,
            sni: settings.sni,
            alpn: self.alpn(&join(&tls_path, "alpn"), settings.alpn),
            identity,
            versions: self.versions(&join(&tls_path, "versions"), settings.versions),
            starts_plain: starttls.is_some(),
        })
    }

    /// Refuses the orders of steps that cannot work, known before anything runs: a second
    /// `starttls` (a connection turns to TLS once), one inside a `repeat` (the second time
    /// through would be a second), an `expect_tls_error` before the connection speaks TLS.
    fn check_tls_steps(&mut self, path: &str, steps: &[Step], paths: &[String]) {
        let at = |i: usize| {
            let step = paths.get(i).map_or(String::new(), |p| join(path, p));
            join(&step, steps.get(i).map_or("", Step::keyword))
        };
        let mut repeated = vec![false; steps.len()];
        for (i, step) in steps.iter().enumerate() {
            if let Step::Repeat { body, .. } = step {
                let end = steps.len().min(i + 1 + body);
                repeated[i + 1..end].iter_mut().for_each(|r| *r = true);
            }
        }
        let mut turned = false;
        let starts_plain = steps.iter().any(|s| matches!(s, Step::StartTls));
        for (i, step) in steps.iter().enumerate() {
            match step {
                Step::StartTls if turned => {
                    self.at_key(
                        &at(i),
                        "the connection turned to TLS at an earlier `starttls`: it turns once",
                    );
                }
                Step::StartTls if repeated[i] => {
                    self.at_key(&at(i), "`starttls` in a `repeat` would turn the connection to TLS again the second time through")
                        .add_help("put `starttls` before the `repeat`");
                    turned = true;
                }
                Step::StartTls => turned = true,
                Step::ExpectTlsError { .. } if starts_plain && !turned => {
                    self.at_key(&at(i), "the connection speaks plain text here: TLS starts at the `starttls` step after this one")
                        .add_help("put `expect_tls_error` right after `starttls`");
                }
                _ => {}
            }
        }
    }

    /// A certificate and its key, read from the files written at `cert` and `key` (each: its
    /// field path and the file's name), and checked to belong together.
    fn identity(
        &mut self,
        (cert_path, cert): (&str, &str),
        (key_path, key): (&str, &str),
    ) -> Option<Arc<Identity>> {
        let chain = self.certificates(cert_path, cert)?;
        let cert_file = self.pem_path(cert);
        let key_file = self.pem_path(key);
        let text = self.pem_text(key_path, key)?;
        if memchr::memmem::find(&text, b"ENCRYPTED PRIVATE KEY").is_some()
            || memchr::memmem::find(&text, b"Proc-Type: 4,ENCRYPTED").is_some()
        {
            self.at_value(
                key_path,
                format!("`{key}` is encrypted: netlab cannot ask for its passphrase"),
            )
            .add_help("write it decrypted for the test: `openssl pkey -in KEY -out KEY.plain`");
            return None;
        }
        let Ok(private) = PrivateKeyDer::from_pem_slice(&text) else {
            self.at_value(key_path, format!("`{key}` holds no private key in PEM"))
                .add_help("a PEM private key starts `-----BEGIN PRIVATE KEY-----` (or `RSA`/`EC PRIVATE KEY`)");
            return None;
        };
        let provider = rustls::crypto::ring::default_provider();
        let Ok(signing) = provider.key_provider.load_private_key(private.clone_key()) else {
            self.at_value(
                key_path,
                format!("`{key}` is a key TLS cannot sign with here"),
            )
            .add_help("use an ECDSA (P-256, P-384), Ed25519 or RSA (2048 bits or more) key");
            return None;
        };
        // Whether the key is that of the chain's certificate number `at`.
        let fits = |at: usize| {
            let own = chain[at..].to_vec();
            rustls::sign::CertifiedKey::new(own, signing.clone())
                .keys_match()
                .is_ok()
        };
        if !fits(0) {
            let problem = self.at_value(
                key_path,
                format!("`{key}` is not the key of the first certificate in `{cert}`"),
            );
            if let Some(at) = (1..chain.len()).find(|at| fits(*at)) {
                problem.add_help(format!(
                    "it is the key of certificate {} of the file: the server's own certificate comes first, then the CAs that signed it",
                    at + 1
                ));
            }
            return None;
        }
        Some(Arc::new(Identity {
            chain,
            key: private,
            cert_file,
            key_file,
        }))
    }

    /// `run` (the run's CA), or the certificates of the PEM file written at `path`.
    fn trust(&mut self, path: &str, written: &str) -> Trust {
        if written == RUN {
            return Trust::RunCa;
        }
        let Some(roots) = self.certificates(path, written) else {
            return Trust::RunCa;
        };
        // Each must be a certificate a root store takes (rustls parses it then): a file that
        // is PEM around bytes that are no certificate is the file's problem, said here.
        let mut store = rustls::RootCertStore::empty();
        for (i, root) in roots.iter().enumerate() {
            if let Err(e) = store.add(root.clone()) {
                let why = match e {
                    rustls::Error::InvalidCertificate(e) => format!("{e:?}"),
                    other => other.to_string(),
                };
                self.at_value(
                    path,
                    format!(
                        "certificate {} of `{written}` cannot be read as a CA's ({why})",
                        i + 1
                    ),
                );
                return Trust::RunCa;
            }
        }
        Trust::Roots(Arc::new(roots))
    }

    /// The certificates of the PEM file `name` (written at `path`); `None` when it has none (said).
    fn certificates(&mut self, path: &str, name: &str) -> Option<Vec<CertificateDer<'static>>> {
        let text = self.pem_text(path, name)?;
        let read: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&text).collect();
        match read {
            Ok(chain) if !chain.is_empty() => Some(chain),
            _ => {
                self.at_value(path, format!("`{name}` holds no certificate in PEM"))
                    .add_help("a PEM certificate starts `-----BEGIN CERTIFICATE-----`");
                None
            }
        }
    }

    /// The text of the PEM file `name`, relative to the scenario (written at `path`).
    fn pem_text(&mut self, path: &str, name: &str) -> Option<Vec<u8>> {
        let file = self.pem_path(name);
        // Opening a FIFO or a device would block, or read for ever: a regular file only.
        if let Ok(metadata) = std::fs::metadata(&file)
            && !metadata.is_file()
        {
            self.at_value(path, format!("`{name}` is not a regular file"));
            return None;
        }
        let read = std::fs::File::open(&file).and_then(|f| {
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_PEM + 1), &mut text)?;
            Ok(text)
        });
        match read {
            Ok(text) if text.len() as u64 > MAX_PEM => {
                self.at_value(
                    path,
                    format!("`{name}` is over 1 MiB: not a PEM file of certificates or a key"),
                );
                None
            }
            Ok(text) => Some(text),
            Err(e) => {
                // As written: the file's place relative to the scenario says where to look.
                self.at_value(
                    path,
                    format!("cannot read `{name}`: {}", crate::diagnostic::io_reason(&e)),
                )
                .add_help("a path in `tls:` is relative to the scenario's directory");
                None
            }
        }
    }

    /// Where the file `name` is: relative to the scenario's directory.
    fn pem_path(&self, name: &str) -> PathBuf {
        let dir = std::path::absolute(self.source.base_dir())
            .unwrap_or_else(|_| self.source.base_dir().to_path_buf());
        dir.join(name)
    }

    /// The application protocols written at `path`, as bytes.
    fn alpn(&mut self, path: &str, written: Option<Vec<String>>) -> Vec<Vec<u8>> {
        let written = written.unwrap_or_default();
        for (i, protocol) in written.iter().enumerate() {
            if protocol.is_empty() || protocol.len() > 255 {
                self.at_value(
                    &format!("{path}[{i}]"),
                    "an application protocol's name is 1 to 255 bytes",
                );
            }
        }
        written.into_iter().map(String::into_bytes).collect()
    }

    /// The versions written at `path`, each once, in order.
    fn versions(&mut self, path: &str, written: Option<Vec<TlsVersion>>) -> Vec<TlsVersion> {
        let said_none = written.as_ref().is_some_and(Vec::is_empty);
        let mut versions = written.unwrap_or_default();
        if said_none {
            self.at_value(path, "name at least one version: `tls1.2`, `tls1.3`");
        }
        versions.sort();
        versions.dedup();
        versions
    }
}
