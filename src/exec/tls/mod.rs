//! TLS over a netlab connection (rustls, with ring): the run's certificates (`pki`), the rustls
//! configurations made from the scenario (`config`), and a session driven over a bounded socket
//! (`session`), each wait bounded and woken by the stop signal.

mod config;
mod failure;
mod pki;
mod session;

pub use config::RunTls;
pub use failure::{failure_in, failure_of};
pub use session::{HandshakeError, TlsSession};
