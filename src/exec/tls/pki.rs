//! The run's own certificates (rcgen): a CA made for each run, the certificates it signs for the
//! servers and clients that ask for `self_signed` / `client_cert: run`, another CA nobody trusts
//! (for `other_ca`), and the files a program under test is given (`{ca_file}`, `{cert_file}`,
//! `{key_file}`). Ed25519 keys: made in well under a millisecond each, and of one size.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::scenario::CertificateFault;

/// A certificate and its key, made for the run.
pub struct Made {
    /// The certificate, then the CA that signed it (as a server sends its chain).
    pub chain: Vec<CertificateDer<'static>>,
    /// Its key.
    pub key: PrivateKeyDer<'static>,
    /// The PEM texts of the chain and of the key, for a program's files.
    pem: (String, String),
}

impl Made {
    /// A copy of its key (keys are not `Clone`: copies are on purpose).
    pub fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }
}

/// A key of the run: Ed25519, whose signatures are always 64 bytes (ECDSA's DER signatures are
/// 70 to 72): a handshake is as long on every run, so that a proxy's byte-count fault (a cut
/// after N bytes) falls at the same place of it every time.
///
/// Written as PKCS#8 version 1 (the seed alone), as OpenSSL reads it: ring makes version 2
/// (the public key beside it), which OpenSSL 3.0 (Python's `ssl`, `openssl s_server`) refuses.
fn new_key() -> Result<KeyPair, rcgen::Error> {
    let made = KeyPair::generate_for(&rcgen::PKCS_ED25519)?;
    let der = made.serialize_der();
    // The seed: the private key's OCTET STRING, inside the document's.
    let at = der
        .windows(4)
        .position(|w| w == [0x04, 0x22, 0x04, 0x20])
        .ok_or(rcgen::Error::CouldNotParseKeyPair)?;
    let seed = der
        .get(at + 4..at + 36)
        .ok_or(rcgen::Error::CouldNotParseKeyPair)?;
    // PrivateKeyInfo v1: version 0, algorithm id-Ed25519 (1.3.101.112), the seed.
    let mut v1 = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    v1.extend_from_slice(seed);
    KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(v1), &rcgen::PKCS_ED25519)
}

/// A serial number of a fixed length (16 bytes, the first 0x01: DER keeps every byte), so that
/// certificates are as long on every run.
fn serial() -> rcgen::SerialNumber {
    let mut bytes = [0u8; 16];
    bytes[0] = 1;
    bytes[1..].iter_mut().for_each(|b| *b = fastrand::u8(..));
    rcgen::SerialNumber::from_slice(&bytes)
}

/// A CA of the run: its certificate and the key it signs with.
struct Authority {
    certificate: CertificateDer<'static>,
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Authority {
    fn new(name: &str) -> Result<Authority, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.serial_number = Some(serial());
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = new_key()?;
        let certificate = params.self_signed(&key)?;
        Ok(Authority {
            certificate: certificate.der().clone(),
            pem: certificate.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// A certificate for `names`, signed by this CA, for a server or a client.
    fn sign(&self, names: &[String], server: bool, expired: bool) -> Result<Made, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::new())?;
        params.subject_alt_names = names
            .iter()
            .map(|name| match name.parse::<IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => Ok(SanType::DnsName(name.clone().try_into()?)),
            })
            .collect::<Result<_, rcgen::Error>>()?;
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, first);
        }
        params.serial_number = Some(serial());
        params.extended_key_usages = vec![match server {
            true => ExtendedKeyUsagePurpose::ServerAuth,
            false => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        if expired {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let key = new_key()?;
        let certificate = params.signed_by(&key, &self.issuer)?;
        Ok(Made {
            chain: vec![certificate.der().clone(), self.certificate.clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            pem: (
                format!("{}{}", certificate.pem(), self.pem),
                key.serialize_pem(),
            ),
        })
    }
}

/// The run's CAs, and the directory their files are written in (removed with it).
pub struct RunPki {
    ca: Authority,
    other: Authority,
    dir: tempfile::TempDir,
}

/// Where the files of one certificate are, for a program under test.
#[derive(Debug, Clone)]
pub struct Files {
    /// The certificate, then its CA, in PEM.
    pub cert: PathBuf,
    /// Its key, in PEM (PKCS#8).
    pub key: PathBuf,
}

impl RunPki {
    /// Makes the run's CAs, and writes the trusted one as `ca.pem`.
    pub fn new() -> anyhow::Result<RunPki> {
        // Named apart from every other run's: a client of another run (a `netlab serve` in
        // another terminal) must not take one for the other and fail on a signature.
        let run = format!("{:016x}", fastrand::u64(..));
        let ca = Authority::new(&format!("netlab run CA {run}"))?;
        let other = Authority::new(&format!("netlab other CA {run} (trusted by nobody)"))?;
        let dir = tempfile::Builder::new().prefix("netlab-tls-").tempdir()?;
        std::fs::write(dir.path().join("ca.pem"), &ca.pem)?;
        Ok(RunPki { ca, other, dir })
    }

    /// The run's CA certificate.
    pub fn ca(&self) -> &CertificateDer<'static> {
        &self.ca.certificate
    }

    /// The file of the run's CA certificate (`{ca_file}`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A server certificate for `names`, wrong as `fault` says.
    pub fn server(
        &self,
        names: &[String],
        fault: Option<CertificateFault>,
    ) -> anyhow::Result<Made> {
        let wrong = [String::from("wrong.example")];
        Ok(match fault {
            None => self.ca.sign(names, true, false)?,
            Some(CertificateFault::Expired) => self.ca.sign(names, true, true)?,
            Some(CertificateFault::WrongName) => self.ca.sign(&wrong, true, false)?,
            Some(CertificateFault::OtherCa) => self.other.sign(names, true, false)?,
        })
    }

    /// A client certificate, signed by the run's CA (or, `other`, by the CA nobody trusts).
    pub fn client(&self, other: bool) -> anyhow::Result<Made> {
        let names = [String::from("netlab-client")];
        Ok(match other {
            false => self.ca.sign(&names, false, false)?,
            true => self.other.sign(&names, false, false)?,
        })
    }

    /// Writes `made` as `{label}.pem` and `{label}.key` in the run's directory.
    pub fn write(&self, label: &str, made: &Made) -> anyhow::Result<Files> {
        let files = Files {
            cert: self.dir.path().join(format!("{label}.pem")),
            key: self.dir.path().join(format!("{label}.key")),
        };
        std::fs::write(&files.cert, &made.pem.0)?;
        write_private(&files.key, &made.pem.1)?;
        Ok(files)
    }
}

/// Writes a private key readable by its owner only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, text.as_bytes())
}

/// The names a made server certificate holds for a server bound to `bind`: the address (the
/// loopback address for an unspecified one, both families' for `::`), and `localhost`.
pub fn names_for(bind: IpAddr) -> Vec<String> {
    let mut names = vec!["localhost".to_string()];
    if bind.is_unspecified() {
        names.push("127.0.0.1".to_string());
        if bind.is_ipv6() {
            names.push("::1".to_string());
        }
    } else {
        names.push(bind.to_string());
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_bind_gets_the_loopback_names() {
        assert_eq!(
            names_for("0.0.0.0".parse().unwrap()),
            ["localhost", "127.0.0.1"]
        );
        assert_eq!(
            names_for("::".parse().unwrap()),
            ["localhost", "127.0.0.1", "::1"]
        );
        assert_eq!(names_for("::1".parse().unwrap()), ["localhost", "::1"]);
    }

    /// Two runs' CAs have names of their own: a client of one run checking a server of another
    /// (a `netlab serve` in another terminal) is told `unknown_ca`, not a bad signature.
    #[test]
    fn every_run_names_its_ca_apart() {
        let (one, two) = (RunPki::new().unwrap(), RunPki::new().unwrap());
        // The common name, as the certificate holds it.
        let name = |pki: &RunPki| {
            let der = pki.ca().as_ref();
            let at = memchr::memmem::find(der, b"netlab run CA ").unwrap();
            der[at..at + 30].to_vec()
        };
        assert_ne!(name(&one), name(&two), "the CAs' subjects differ");
    }

    #[test]
    fn the_files_are_written_and_removed_with_the_run() {
        let pki = RunPki::new().unwrap();
        let made = pki
            .server(&names_for("127.0.0.1".parse().unwrap()), None)
            .unwrap();
        let files = pki.write("hello", &made).unwrap();
        let text = std::fs::read_to_string(&files.cert).unwrap();
        assert_eq!(text.matches("BEGIN CERTIFICATE").count(), 2, "the chain");
        let dir = pki.ca_file().parent().map(Path::to_path_buf).unwrap();
        drop(pki);
        assert!(!dir.exists());
    }
}
