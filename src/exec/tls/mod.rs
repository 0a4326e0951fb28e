//! TLS over a netlab connection (rustls, with ring): the run's certificates (`pki`), the rustls
//! configurations made from the scenario (`config`), and a session driven over a bounded socket
//! (`session`), each wait bounded and woken by the stop signal.

mod config;
mod pki;
mod session;

pub use config::RunTls;
pub use session::{HandshakeError, TlsSession, failure_in, failure_of};
