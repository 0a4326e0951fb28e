//! What a scenario says of TLS, checked: a server's certificate and what it asks of its clients,
//! a client's trust and identity, and the kinds of handshake failure a step can expect. Built by
//! `validate/tls.rs` (which reads the PEM files, so that a bad one is the file's problem, located);
//! turned into rustls configurations by `exec/tls/config.rs`.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use schemars::JsonSchema;
use serde::Deserialize;

/// A certificate chain and its private key, read from PEM files.
#[derive(Debug)]
pub struct Identity {
    /// The chain, the end entity's certificate first.
    pub chain: Vec<CertificateDer<'static>>,
    /// Its private key.
    pub key: PrivateKeyDer<'static>,
    /// Where the chain was read (shown, and given to programs as `{cert_file}`).
    pub cert_file: PathBuf,
    /// Where the key was read.
    pub key_file: PathBuf,
}

impl PartialEq for Identity {
    fn eq(&self, other: &Self) -> bool {
        self.chain == other.chain && self.key.secret_der() == other.key.secret_der()
    }
}

/// Certificates a peer is trusted by: the run's own CA, or the ones in a PEM file.
#[derive(Debug, Clone, PartialEq)]
pub enum Trust {
    /// The CA netlab makes for each run (`{ca_file}`).
    RunCa,
    /// The certificates of a PEM file, each a root.
    Roots(Arc<Vec<CertificateDer<'static>>>),
}

/// Which certificate a TLS server presents.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerIdentity {
    /// One made for the run, signed by the run's CA, for the bind address and `localhost` —
    /// or made wrong on purpose (`faults: { certificate: … }`).
    Made(Option<CertificateFault>),
    /// One read from files.
    Files(Arc<Identity>),
}

/// A certificate made wrong on purpose (`faults: { certificate: … }`), each a lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateFault {
    /// It expired long ago: a client says `certificate_expired`.
    Expired,
    /// It is for another name (`wrong.example`): a client says `name_mismatch`.
    WrongName,
    /// It is signed by a CA nobody trusts: a client says `unknown_ca`.
    OtherCa,
}

/// Whether a server asks its clients for a certificate, and whom it trusts to have signed it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientAuth {
    /// Who must have signed a client's certificate.
    pub trust: Trust,
    /// A client without a certificate is refused (`required`), or served (`optional`).
    pub required: bool,
}

/// A TLS version, as `versions:` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema)]
pub enum TlsVersion {
    /// TLS 1.2.
    #[serde(rename = "tls1.2")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "tls1.3")]
    Tls13,
}

/// A TLS server's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerTls {
    /// The certificate it presents.
    pub identity: ServerIdentity,
    /// The application protocols it offers (ALPN), preferred first; none: ALPN is not used.
    pub alpn: Vec<Vec<u8>>,
    /// Client certificates it asks for, if any.
    pub client_auth: Option<ClientAuth>,
    /// The versions it speaks (both when empty).
    pub versions: Vec<TlsVersion>,
    /// Whether connections start in plain text and turn to TLS when a rule says `starttls`.
    pub starts_plain: bool,
}

impl ServerTls {
    /// Whether a connection speaks TLS from its first byte (else from a `starttls` rule on).
    pub fn at_connect(&self) -> bool {
        !self.starts_plain
    }
}

/// A client's certificate, when it shows one.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientIdentity {
    /// One made for the run, signed by the run's CA (`client_cert: run`).
    Run,
    /// One signed by a CA nobody trusts (`client_cert: other_ca`): refused by a server that
    /// checks.
    OtherCa,
    /// One read from files.
    Files(Arc<Identity>),
}

/// Whom a client trusts to have signed its server's certificate.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerTrust {
    /// These certificates.
    Trusted(Trust),
    /// Anyone: the certificate is not checked (`insecure: true`), and the transcript says so.
    Insecure,
}

/// A TLS client's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientTls {
    /// Whom it trusts.
    pub trust: ServerTrust,
    /// The name it asks for and checks the certificate against (`sni:`); `None`: the host it
    /// connects to (`localhost` for a server of the scenario).
    pub sni: Option<String>,
    /// The application protocols it offers (ALPN), preferred first.
    pub alpn: Vec<Vec<u8>>,
    /// The certificate it shows when asked.
    pub identity: Option<ClientIdentity>,
    /// The versions it speaks (both when empty).
    pub versions: Vec<TlsVersion>,
    /// Whether it connects in plain text and turns to TLS at a `starttls` step.
    pub starts_plain: bool,
}

/// The TLS files of the run a program under test is given, where the run has them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// The run's CA (`{ca_file}`, `NETLAB_CA_FILE`).
    pub ca: Option<String>,
    /// Its certificate chain (`{cert_file}`, `NETLAB_CERT_FILE`): its server's, for a program
    /// in a TLS server's place; one signed by the run's CA, for a client program.
    pub cert: Option<String>,
    /// Its key (`{key_file}`, `NETLAB_KEY_FILE`).
    pub key: Option<String>,
}

impl TlsFiles {
    /// The placeholders a program's command line may use for them.
    pub const NAMES: [&'static str; 3] = ["ca_file", "cert_file", "key_file"];

    /// The file named `name` (one of `NAMES`), if the run has it.
    pub fn get(&self, name: &str) -> Option<&String> {
        match name {
            "ca_file" => self.ca.as_ref(),
            "cert_file" => self.cert.as_ref(),
            "key_file" => self.key.as_ref(),
            _ => None,
        }
    }
}

impl ClientTls {
    /// Whether it speaks TLS from its connect (else from its `starttls` step on).
    pub fn at_connect(&self) -> bool {
        !self.starts_plain
    }
}

/// Why a handshake failed, as `expect_tls_error` names it: one kind per lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TlsErrorKind {
    /// The certificate is signed by a CA the checking side does not trust.
    UnknownCa,
    /// The certificate is refused for another reason (malformed, wrong use, bad signature).
    BadCertificate,
    /// The certificate has expired (or is not valid yet).
    CertificateExpired,
    /// The certificate is not for the name asked for.
    NameMismatch,
    /// The peers found nothing in common, or one does not speak TLS.
    HandshakeFailure,
    /// No application protocol (ALPN) both offer.
    NoApplicationProtocol,
    /// The server asks for a client certificate and none was shown.
    CertificateRequired,
}

impl TlsErrorKind {
    /// Every kind, in the order the format documents them.
    pub const ALL: [TlsErrorKind; 7] = [
        TlsErrorKind::UnknownCa,
        TlsErrorKind::BadCertificate,
        TlsErrorKind::CertificateExpired,
        TlsErrorKind::NameMismatch,
        TlsErrorKind::HandshakeFailure,
        TlsErrorKind::NoApplicationProtocol,
        TlsErrorKind::CertificateRequired,
    ];

    /// The name the file writes it by.
    pub fn name(self) -> &'static str {
        match self {
            TlsErrorKind::UnknownCa => "unknown_ca",
            TlsErrorKind::BadCertificate => "bad_certificate",
            TlsErrorKind::CertificateExpired => "certificate_expired",
            TlsErrorKind::NameMismatch => "name_mismatch",
            TlsErrorKind::HandshakeFailure => "handshake_failure",
            TlsErrorKind::NoApplicationProtocol => "no_application_protocol",
            TlsErrorKind::CertificateRequired => "certificate_required",
        }
    }
}

impl std::fmt::Display for TlsErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_named_as_serde_reads_it() {
        for kind in TlsErrorKind::ALL {
            let read: Result<TlsErrorKind, _> = serde_yaml::from_str(kind.name());
            assert_eq!(read.ok(), Some(kind));
        }
    }
}
