//! TLS in the comparison: the reference TLS echo server (std + rustls, thread per connection,
//! the plainest program that does the job), the rustls clients that drive it and netlab, and
//! the certificates they use (made with rcgen for the run, written in the scratch directory).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use rustls::{StreamOwned, crypto::ring::default_provider};

use super::reference::PATIENCE;

/// A CA and a certificate it signed for 127.0.0.1 and localhost, in files.
pub struct Pki {
    /// The CA's certificate, which the clients trust.
    pub ca: CertificateDer<'static>,
    /// The server's chain, in PEM.
    pub cert_file: PathBuf,
    /// Its key, in PEM.
    pub key_file: PathBuf,
}

impl Pki {
    /// Makes them, in `dir`.
    pub fn new(dir: &Path) -> anyhow::Result<Pki> {
        let mut ca_params = rcgen::CertificateParams::new(Vec::new())?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_key = rcgen::KeyPair::generate()?;
        let ca = ca_params.self_signed(&ca_key)?;
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let params = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])?;
        let key = rcgen::KeyPair::generate()?;
        let certificate = params.signed_by(&key, &issuer)?;
        let cert_file = dir.join("bench-server.pem");
        let key_file = dir.join("bench-server.key");
        std::fs::create_dir_all(dir)?;
        std::fs::write(&cert_file, format!("{}{}", certificate.pem(), ca.pem()))?;
        std::fs::write(&key_file, key.serialize_pem())?;
        Ok(Pki {
            ca: ca.der().clone(),
            cert_file,
            key_file,
        })
    }

    /// A client configuration trusting the CA (no session resumption: every connection is a
    /// full handshake, as netlab's).
    pub fn client(&self) -> anyhow::Result<Arc<ClientConfig>> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.clone())?;
        let mut config = ClientConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.resumption = rustls::client::Resumption::disabled();
        Ok(Arc::new(config))
    }
}

/// Serves TLS echo on a free loopback port with the chain and key of these files: prints
/// `listening on ADDR`, serves until stdin closes. One thread per connection; no tickets sent,
/// as netlab sends none.
pub fn serve_echo(cert_file: &Path, key_file: &Path) -> anyhow::Result<()> {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(cert_file)?.collect::<Result<_, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key_file)?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.send_tls13_tickets = 0;
    let config = Arc::new(config);
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let Ok(connection) = ServerConnection::new(config) else {
                    return;
                };
                let mut tls = StreamOwned::new(connection, stream);
                let mut buf = [0u8; 1024];
                while let Ok(n) = tls.read(&mut buf) {
                    if n == 0 || tls.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let mut sink = Vec::new();
    let _ = io::stdin().read_to_end(&mut sink);
    Ok(())
}

fn connect(
    addr: SocketAddr,
    config: &Arc<ClientConfig>,
) -> io::Result<StreamOwned<ClientConnection, TcpStream>> {
    let stream = TcpStream::connect_timeout(&addr, PATIENCE)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(PATIENCE))?;
    stream.set_write_timeout(Some(PATIENCE))?;
    let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
    let connection = ClientConnection::new(config.clone(), name).map_err(io::Error::other)?;
    Ok(StreamOwned::new(connection, stream))
}

/// One TLS connection (its handshake not counted), `count` round trips of `size` bytes:
/// round trips per second.
pub fn round_trips(
    addr: SocketAddr,
    config: &Arc<ClientConfig>,
    count: usize,
    size: usize,
) -> io::Result<f64> {
    let mut tls = connect(addr, config)?;
    let message = vec![b'x'; size];
    let mut reply = vec![0u8; size];
    // The handshake, and a first exchange, before the clock starts.
    tls.write_all(&message)?;
    tls.read_exact(&mut reply)?;
    let start = Instant::now();
    for _ in 0..count {
        tls.write_all(&message)?;
        tls.read_exact(&mut reply)?;
    }
    let took = start.elapsed();
    tls.conn.send_close_notify();
    let _ = tls.flush();
    let _ = tls.sock.shutdown(Shutdown::Write);
    Ok(count as f64 / took.as_secs_f64().max(1e-9))
}

/// `count` new TLS connections in turn, each a full handshake and one 8-byte line echoed
/// (reversed by `openssl s_server -rev`): connections per second.
pub fn handshakes(addr: SocketAddr, config: &Arc<ClientConfig>, count: usize) -> io::Result<f64> {
    let start = Instant::now();
    let mut reply = [0u8; 8];
    for _ in 0..count {
        let mut tls = connect(addr, config)?;
        tls.write_all(b"abcdefg\n")?;
        tls.read_exact(&mut reply)?;
        tls.conn.send_close_notify();
        let _ = tls.flush();
    }
    Ok(count as f64 / start.elapsed().as_secs_f64().max(1e-9))
}

/// `openssl s_server -rev` on a free port with these files (a line echoed reversed, one
/// connection at a time); ended when dropped.
pub struct OpensslServer {
    child: std::process::Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl OpensslServer {
    /// Starts it; `None` (said) where openssl is not installed, unless NETLAB_REQUIRE_OPENSSL
    /// is set (CI), where that is an error.
    pub fn start(pki: &Pki, port: u16) -> anyhow::Result<Option<OpensslServer>> {
        let spawned = std::process::Command::new("openssl")
            .args(["s_server", "-quiet", "-rev", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&pki.cert_file)
            .arg("-key")
            .arg(&pki.key_file)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                anyhow::ensure!(
                    std::env::var_os("NETLAB_REQUIRE_OPENSSL").is_none(),
                    "openssl is required here (NETLAB_REQUIRE_OPENSSL is set) but not installed"
                );
                eprintln!("compare: openssl is not installed: its handshake row is skipped");
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        let server = OpensslServer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        // Ready once it accepts (within 5 s): a plain connection it then drops.
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(server.addr).is_err() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "openssl s_server did not listen within 5 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(Some(server))
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        // Our own child, by its id.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
