//! The rustls configurations of a run, made once before anything starts: one per TLS server
//! and per TLS client of the scenario, from its checked settings and the run's certificates
//! (`pki.rs`). What a program under test is given (`{ca_file}`, `{cert_file}`, `{key_file}`)
//! is written here too.
//!
//! For transcripts that are the same every run, nothing is resumed (no session cache, no
//! tickets): each handshake is a full one, whatever came before it.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use super::pki::{Files, RunPki, names_for};
use crate::event::TrustFiles;
use crate::scenario::{
    ClientIdentity, ClientTls, Scenario, Server, ServerIdentity, ServerTls, ServerTrust, Target,
    TlsFiles, TlsVersion, Trust,
};

/// A client's TLS: its configuration and the name it asks for.
#[derive(Clone)]
pub struct ClientSide {
    /// Its rustls configuration.
    pub config: Arc<ClientConfig>,
    /// The name it asks for (SNI; none is sent for an IP address) and checks the certificate
    /// against.
    pub name: ServerName<'static>,
    /// Whether it checks the server's certificate.
    pub verifies: bool,
    /// Whether it has a certificate to show.
    pub has_certificate: bool,
}

impl ClientSide {
    /// The name it sends as SNI (none for an IP address, which is never sent).
    pub fn sni(&self) -> Option<String> {
        match &self.name {
            ServerName::DnsName(name) => Some(name.as_ref().to_string()),
            _ => None,
        }
    }
}

/// A TLS server of the run: its configuration, its certificate's files (for a program in its
/// place), and what a client from outside the run needs to talk to it.
struct ServerSide {
    config: Arc<ServerConfig>,
    files: Files,
    /// `None` when it presents a certificate of its own (its CA is the user's).
    trust: Option<TrustFiles>,
}

/// Everything TLS of a run that speaks it.
struct Built {
    /// The run's certificates (their directory is removed with them).
    pki: RunPki,
    /// Each server's TLS (`None`: it speaks plain text).
    servers: Vec<Option<ServerSide>>,
    /// Each client's (`None`: it speaks plain text).
    clients: Vec<Option<ClientSide>>,
    /// A client certificate of the run: for client programs, and for clients from outside
    /// the run of a server that asks for one signed by the run's CA.
    client_files: Files,
}

/// Everything TLS of one run: nothing when it does not speak TLS.
#[derive(Default)]
pub struct RunTls(Option<Built>);

impl RunTls {
    /// Makes the configurations `scenario` needs (nothing when it does not speak TLS).
    pub fn of(scenario: &Scenario) -> anyhow::Result<RunTls> {
        if !needs_tls(scenario) {
            return Ok(RunTls(None));
        }
        let pki = RunPki::new()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client_files = pki.write("client", &pki.client(false)?)?;
        let as_files = |files: &Files| {
            (
                files.cert.display().to_string(),
                files.key.display().to_string(),
            )
        };
        let mut servers = Vec::new();
        for server in &scenario.servers {
            servers.push(match &server.tls {
                Some(tls) => {
                    let (config, files) = server_config(&pki, &provider, server, tls)?;
                    let asks = tls.client_auth.as_ref();
                    let asks_for_ours = asks.is_some_and(|auth| auth.trust == Trust::RunCa);
                    let trust =
                        matches!(tls.identity, ServerIdentity::Made(_)).then(|| TrustFiles {
                            ca_file: pki.ca_file().display().to_string(),
                            client: asks_for_ours.then(|| as_files(&client_files)),
                        });
                    Some(ServerSide {
                        config: Arc::new(config),
                        files,
                        trust,
                    })
                }
                None => None,
            });
        }
        let mut clients = Vec::new();
        for client in &scenario.clients {
            clients.push(match &client.tls {
                Some(tls) => Some(client_side(&pki, &provider, scenario, client, tls)?),
                None => None,
            });
        }
        Ok(RunTls(Some(Built {
            pki,
            servers,
            clients,
            client_files,
        })))
    }

    fn server_side(&self, index: usize) -> Option<&ServerSide> {
        self.0.as_ref()?.servers.get(index)?.as_ref()
    }

    /// Server `index`'s configuration, if it speaks TLS.
    pub fn server(&self, index: usize) -> Option<&Arc<ServerConfig>> {
        self.server_side(index).map(|side| &side.config)
    }

    /// Client `index`'s TLS, if it speaks it.
    pub fn client(&self, index: usize) -> Option<&ClientSide> {
        self.0.as_ref()?.clients.get(index)?.as_ref()
    }

    /// What a client from outside the run needs to talk to server `index`, when it presents a
    /// certificate the run made: the run's CA, and the run's client certificate when it asks
    /// for one signed by that CA.
    pub fn trust_files_of(&self, index: usize) -> Option<TrustFiles> {
        self.server_side(index)?.trust.clone()
    }

    /// What a program is given: the run's CA file, and its certificate and key files (a
    /// server's own, for a program serving in server `server`'s place; else a client's).
    pub fn program_files(&self, server: Option<usize>) -> TlsFiles {
        let Some(built) = &self.0 else {
            return TlsFiles::default();
        };
        let own = match server {
            Some(index) => self.server_side(index).map(|side| &side.files),
            None => Some(&built.client_files),
        };
        TlsFiles {
            ca: Some(built.pki.ca_file().display().to_string()),
            cert: own.map(|f| f.cert.display().to_string()),
            key: own.map(|f| f.key.display().to_string()),
        }
    }
}

/// Whether anything in `scenario` speaks TLS or is given TLS files.
fn needs_tls(scenario: &Scenario) -> bool {
    let programs = scenario
        .servers
        .iter()
        .filter_map(|s| s.program.as_ref().map(|p| &p.program))
        .chain(scenario.clients.iter().filter_map(|c| c.program()));
    scenario.servers.iter().any(|s| s.tls.is_some())
        || scenario.clients.iter().any(|c| c.tls.is_some())
        || programs.into_iter().any(|p| p.uses_tls_files())
}

fn versions(written: &[TlsVersion]) -> Vec<&'static rustls::SupportedProtocolVersion> {
    let all = [TlsVersion::Tls12, TlsVersion::Tls13];
    let chosen = if written.is_empty() {
        &all[..]
    } else {
        written
    };
    chosen
        .iter()
        .map(|v| match v {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        })
        .collect()
}

fn roots(pki: &RunPki, trust: &Trust) -> anyhow::Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match trust {
        Trust::RunCa => store.add(pki.ca().clone())?,
        Trust::Roots(certificates) => {
            for certificate in certificates.iter() {
                store.add(certificate.clone())?;
            }
        }
    }
    Ok(store)
}

fn server_config(
    pki: &RunPki,
    provider: &Arc<CryptoProvider>,
    server: &Server,
    tls: &ServerTls,
) -> anyhow::Result<(ServerConfig, Files)> {
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(&tls.versions))?;
    let builder = match &tls.client_auth {
        None => builder.with_no_client_auth(),
        Some(auth) => {
            let roots = Arc::new(roots(pki, &auth.trust)?);
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
            let verifier = match auth.required {
                true => verifier.build()?,
                false => verifier.allow_unauthenticated().build()?,
            };
            builder.with_client_cert_verifier(verifier)
        }
    };
    let (mut config, files) = match &tls.identity {
        ServerIdentity::Made(fault) => {
            let made = pki.server(&names_for(server.bind), *fault)?;
            let files = pki.write(&format!("server-{}", server.name), &made)?;
            let config = builder.with_single_cert(made.chain.clone(), made.key())?;
            (config, files)
        }
        ServerIdentity::Files(identity) => {
            let files = Files {
                cert: identity.cert_file.clone(),
                key: identity.key_file.clone(),
            };
            let config =
                builder.with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
            (config, files)
        }
    };
    config.alpn_protocols.clone_from(&tls.alpn);
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok((config, files))
}

fn client_side(
    pki: &RunPki,
    provider: &Arc<CryptoProvider>,
    scenario: &Scenario,
    client: &crate::scenario::Client,
    tls: &ClientTls,
) -> anyhow::Result<ClientSide> {
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions(&tls.versions))?;
    let builder = match &tls.trust {
        ServerTrust::Trusted(trust) => builder.with_root_certificates(roots(pki, trust)?),
        ServerTrust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoCheck(provider.clone()))),
    };
    let mut config = match &tls.identity {
        None => builder.with_no_client_auth(),
        Some(ClientIdentity::Run) => {
            let made = pki.client(false)?;
            builder.with_client_auth_cert(made.chain.clone(), made.key())?
        }
        Some(ClientIdentity::OtherCa) => {
            let made = pki.client(true)?;
            builder.with_client_auth_cert(made.chain.clone(), made.key())?
        }
        Some(ClientIdentity::Files(identity)) => {
            builder.with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())?
        }
    };
    config.alpn_protocols.clone_from(&tls.alpn);
    config.resumption = rustls::client::Resumption::disabled();
    let name = match &tls.sni {
        Some(name) => name.clone(),
        None => default_name(scenario, &client.target),
    };
    let name = ServerName::try_from(name.clone())
        .map_err(|_| anyhow::anyhow!("`{name}` is not a DNS name or an IP address"))?;
    Ok(ClientSide {
        config: Arc::new(config),
        name,
        verifies: tls.trust != ServerTrust::Insecure,
        has_certificate: tls.identity.is_some(),
    })
}

/// The name a client asks for when its `tls:` says none: `localhost` for a server of the run
/// (its made certificate holds it), else the host of the address it connects to.
fn default_name(scenario: &Scenario, target: &Target) -> String {
    let address = match target {
        Target::Server(index) => match &scenario.servers[*index].outside {
            Some(address) => address.as_str(),
            None => return "localhost".to_string(),
        },
        Target::Address(address) => address.as_str(),
    };
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_string()
}

/// `insecure: true`: every certificate is taken, its signatures still checked (a handshake
/// with a peer that holds no key for it fails).
#[derive(Debug)]
struct NoCheck(Arc<CryptoProvider>);

impl ServerCertVerifier for NoCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let schemes = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, schemes)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let schemes = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, schemes)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
