//! `tls:` as written → the checked TLS settings of a server or a client: which certificate, whom
//! to trust, what to offer, and the orders of TLS steps that cannot work. The PEM files it names
//! are read by `pem.rs`, at load, so that a missing or malformed one is the file's problem.

use super::checker::Checker;
use super::pem::RUN;
use crate::scenario::model::{
    CertificateFault, ClientAuth, ClientIdentity, ClientTls, Rule, Server, ServerIdentity,
    ServerTls, ServerTrust, Step, TlsVersion, Trust,
};
use crate::scenario::positions::join;
use crate::scenario::raw::{RawClientAuth, RawClientTls, RawClientTlsSetting, RawServerTls};

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
            (Some(true), None, None) => ServerIdentity::Made(None),
            (None | Some(false), Some(cert), Some(key)) => {
                let cert_path = join(&tls_path, "cert");
                let key_path = join(&tls_path, "key");
                match self.identity((&cert_path, &cert), (&key_path, &key)) {
                    Some(identity) => ServerIdentity::Files(identity),
                    None => ServerIdentity::Made(None),
                }
            }
            (Some(true), _, _) => {
                self.at_key(
                    &join(&tls_path, "self_signed"),
                    "a server presents one certificate: `self_signed: true`, or `cert` and `key`",
                );
                ServerIdentity::Made(None)
            }
            (_, Some(_), None) => {
                self.at_key(&join(&tls_path, "cert"), "`cert` needs its `key`");
                ServerIdentity::Made(None)
            }
            (_, None, Some(_)) => {
                self.at_key(&join(&tls_path, "key"), "`key` needs its `cert`");
                ServerIdentity::Made(None)
            }
            (_, None, None) => {
                self.at_value(&tls_path, "a TLS server needs a certificate")
                    .add_help("write `tls: { self_signed: true }` (made for the run, signed by its CA: `{ca_file}`), or `tls: { cert: FILE, key: FILE }`");
                ServerIdentity::Made(None)
            }
        };
        let identity = match (identity, fault) {
            (ServerIdentity::Made(_), fault) => ServerIdentity::Made(fault),
            (files, None) => files,
            (files, Some(_)) => {
                self.at_key(
                    &join(path, "faults.certificate"),
                    "`certificate` makes the run's certificate wrong on purpose: it needs `self_signed: true`",
                );
                files
            }
        };
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
