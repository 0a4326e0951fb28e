//! PEM files named by `tls:` → what they hold, checked at load: certificates a root store takes,
//! a key that is the first certificate's (and says which one it is, when the chain is in the
//! wrong order), never a FIFO or a device opened, never more than 1 MiB read. Each problem is
//! located at the field that names the file.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::checker::Checker;
use crate::scenario::model::{Identity, Trust};

/// The largest PEM file read (a chain of a few certificates is a few KiB).
const MAX_PEM: u64 = 1 << 20;

/// `client_ca:` and `client_cert:` name the run's own CA or certificate by this word.
pub(super) const RUN: &str = "run";

impl Checker<'_> {
    /// A certificate and its key, read from the files written at `cert` and `key` (each: its
    /// field path and the file's name), and checked to belong together.
    pub(super) fn identity(
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
    pub(super) fn trust(&mut self, path: &str, written: &str) -> Trust {
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
}
