//! Execution: runs a checked scenario on real sockets with one thread (from a cached pool) per
//! server, per connection and per client instance, starting and stopping the programs under
//! test, all reporting `Event`s to one coordinator, which hands back an `Outcome`. What follows
//! execution knows it only through `event` and `outcome`: `run` is its way in.

mod bind;
mod cancel;
mod client;
mod context;
mod coordinator;
mod descendants;
mod entrance;
mod faults;
mod pool;
mod ports;
mod program;
mod proxy;
mod recorder;
mod resolve;
mod server_tls;
mod settle;
mod socket;
mod tcp_server;
mod tls;
mod transport;
mod udp_proxy;
mod udp_server;

pub use coordinator::{RunOptions, run};
pub use descendants::{adopt_orphans, end_adopted};
pub use pool::end_idle_threads;
