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

/// Everything TLS of one run.
#[derive(Default)]
pub struct RunTls {
    /// Each server's configuration (`None`: it speaks plain text, or is a program).
    servers: Vec<Option<Arc<ServerConfig>>>,
    /// Each client's (`None`: it speaks plain text).
    clients: Vec<Option<ClientSide>>,
    /// Each server's certificate files, for a program in its place.
    server_files: Vec<Option<Files>>,
    /// Whether each server presents a certificate the run made (signed by its CA).
    made: Vec<bool>,
    /// Whether each server asks clients for a certificate signed by the run's CA.
    asks_for_run_certificates: Vec<bool>,
    /// A client certificate of the run, for client programs.
    client_files: Option<Files>,
    /// The run's certificates (`None`: the scenario does not speak TLS).
    pki: Option<RunPki>,
}

impl RunTls {
    /// Makes the configurations `scenario` needs (nothing when it does not speak TLS).
    pub fn of(scenario: &Scenario) -> anyhow::Result<RunTls> {
        if !needs_tls(scenario) {
            return Ok(RunTls::default());
        }
        let pki = RunPki::new()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut run = RunTls::default();
        for server in &scenario.servers {
            let (config, files) = match &server.tls {
                Some(tls) => {
                    let (config, files) = server_config(&pki, &provider, server, tls)?;
                    (Some(Arc::new(config)), files)
                }
                None => (None, None),
            };
            run.servers.push(config);
            run.server_files.push(files);
            let made = server.tls.as_ref().map(|tls| &tls.identity);
            run.made.push(made == Some(&ServerIdentity::Made));
            let asks = server.tls.as_ref().and_then(|tls| tls.client_auth.as_ref());
            run.asks_for_run_certificates
                .push(asks.is_some_and(|auth| auth.trust == Trust::RunCa));
        }
        for client in &scenario.clients {
            run.clients.push(match &client.tls {
                Some(tls) => Some(client_side(&pki, &provider, scenario, client, tls)?),
                None => None,
            });
        }
        // For client programs, and for clients from outside the run (`netlab serve`) of a
        // server that asks for a certificate signed by the run's CA.
        run.client_files = Some(pki.write("client", &pki.client(false)?)?);
        run.pki = Some(pki);
        Ok(run)
    }

    /// Server `index`'s configuration, if it speaks TLS.
    pub fn server(&self, index: usize) -> Option<&Arc<ServerConfig>> {
        self.servers.get(index)?.as_ref()
    }

    /// Client `index`'s TLS, if it speaks it.
    pub fn client(&self, index: usize) -> Option<&ClientSide> {
        self.clients.get(index)?.as_ref()
    }

    /// What a client from outside the run needs to talk to server `index`, when it presents a
    /// certificate the run made: the run's CA, and the run's client certificate when it asks
    /// for one signed by that CA.
    pub fn trust_files_of(&self, index: usize) -> Option<TrustFiles> {
        let made = self.made.get(index).copied().unwrap_or(false);
        let pki = self.pki.as_ref().filter(|_| made)?;
        let asks = self
            .asks_for_run_certificates
            .get(index)
            .copied()
            .unwrap_or(false);
        let client = self.client_files.as_ref().filter(|_| asks);
        Some(TrustFiles {
            ca_file: pki.ca_file().display().to_string(),
            client: client.map(|f| (f.cert.display().to_string(), f.key.display().to_string())),
        })
    }

    /// What a program is given: the run's CA file, and its certificate and key files (a
    /// server's own, for a program serving in server `server`'s place; else a client's).
    pub fn program_files(&self, server: Option<usize>) -> TlsFiles {
        let Some(pki) = &self.pki else {
            return TlsFiles::default();
        };
        let own = match server {
            Some(index) => self.server_files.get(index).and_then(Option::as_ref),
            None => self.client_files.as_ref(),
        };
        TlsFiles {
            ca: Some(pki.ca_file().display().to_string()),
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
) -> anyhow::Result<(ServerConfig, Option<Files>)> {
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
        ServerIdentity::Made => {
            let made = pki.server(&names_for(server.bind), tls.fault)?;
            let files = pki.write(&format!("server-{}", server.name), &made)?;
            let config = builder.with_single_cert(made.chain.clone(), made.key())?;
            (config, Some(files))
        }
        ServerIdentity::Files(identity) => {
            let files = Files {
                cert: identity.cert_file.clone(),
                key: identity.key_file.clone(),
            };
            let config =
                builder.with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
            (config, Some(files))
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
