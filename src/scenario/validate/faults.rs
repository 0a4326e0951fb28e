//! Validation of a server's `faults:`: which apply to which protocol, probabilities in range,
//! sizes and durations positive. Part of `validate`.

use super::checker::Checker;
use super::fields::Unit;
use crate::scenario::model::{Faults, Stall};
use crate::scenario::positions::join;
use crate::scenario::raw::{RawDuration, RawFaults, RawSize};

impl Checker<'_> {
    /// The checked faults of the server at `path` (`udp`: its protocol; `program`: it is a
    /// program under test, which netlab cannot make faulty). A proxy's are `proxy_faults`.
    pub(super) fn faults(
        &mut self,
        path: &str,
        raw: Option<RawFaults>,
        udp: bool,
        program: bool,
    ) -> Faults {
        let Some(raw) = raw else {
            return Faults::default();
        };
        let path = join(path, "faults");
        if program {
            self.at_key(
                &path,
                "`faults` apply to netlab servers, not to a program under test (`exec:`)",
            );
            return Faults::default();
        }
        self.refuse_fields(
            &path,
            &[
                (raw.to_upstream.is_some(), "to_upstream"),
                (raw.to_client.is_some(), "to_client"),
                (raw.stall.is_some(), "stall"),
            ],
            "applies to a proxy only (a server with `proxy:`)",
            Some("a server's faults apply to its replies: `latency`, `slice`, `bandwidth`, `close_after`, `reset`, or `drop` and `duplicate` over udp"),
        );
        self.one_way(&path, raw, udp, 0)
    }

    /// The checked faults of the proxy at `path`, one per way (`to_upstream`, `to_client`): each
    /// way takes a server's faults and `stall`; a `seed` beside them is each way's default.
    pub(super) fn proxy_faults(
        &mut self,
        path: &str,
        raw: Option<RawFaults>,
        udp: bool,
    ) -> (Faults, Faults) {
        let Some(mut raw) = raw else {
            return Default::default();
        };
        let path = join(path, "faults");
        let (to_upstream, to_client) = (raw.to_upstream.take(), raw.to_client.take());
        self.refuse_fields(
            &path,
            &[
                (raw.latency.is_some(), "latency"),
                (raw.slice.is_some(), "slice"),
                (raw.bandwidth.is_some(), "bandwidth"),
                (raw.reset.is_some(), "reset"),
                (raw.close_after.is_some(), "close_after"),
                (raw.drop.is_some(), "drop"),
                (raw.duplicate.is_some(), "duplicate"),
                (raw.stall.is_some(), "stall"),
            ],
            "goes under `to_upstream:` or `to_client:` on a proxy: a proxy's faults apply to one way",
            Some("write `faults: { to_client: { latency: { fixed: 50ms } } }` for what the client receives"),
        );
        let seed = raw.seed.unwrap_or(0);
        let mut way = |name: &str, raw: Option<Box<RawFaults>>| {
            raw.map_or_else(
                || Faults {
                    seed,
                    ..Faults::default()
                },
                |mut raw| {
                    let at = join(&path, name);
                    self.refuse_fields(
                        &at,
                        &[
                            (raw.to_upstream.take().is_some(), "to_upstream"),
                            (raw.to_client.take().is_some(), "to_client"),
                        ],
                        "cannot be inside one way: the two ways sit side by side under `faults:`",
                        None,
                    );
                    self.one_way(&at, *raw, udp, seed)
                },
            )
        };
        (way("to_upstream", to_upstream), way("to_client", to_client))
    }

    /// The faults written at `path` for one way (a server's replies, or a proxy's way), `seed`
    /// when it gives none.
    fn one_way(&mut self, path: &str, raw: RawFaults, udp: bool, seed: u64) -> Faults {
        let path = path.to_string();
        let tcp_only = [
            (raw.slice.is_some(), "slice"),
            (raw.bandwidth.is_some(), "bandwidth"),
            (raw.reset.is_some(), "reset"),
            (raw.close_after.is_some(), "close_after"),
        ];
        let udp_only = [
            (raw.drop.is_some(), "drop"),
            (raw.duplicate.is_some(), "duplicate"),
        ];
        if udp {
            self.refuse_fields(&path, &tcp_only, "applies to tcp servers only", None);
        } else {
            self.refuse_fields(
                &path,
                &udp_only,
                "applies to udp servers only",
                Some("a tcp server can `close_after` some bytes, `reset`, or be slow"),
            );
        }
        let latency = raw.latency.as_ref();
        let slice = raw.slice.as_ref().map(|s| {
            let bytes_path = join(&path, "slice.bytes");
            let n = self.within_one_to(&bytes_path, "`bytes`", s.bytes.0, u64::MAX, Unit::Plain);
            usize::try_from(n).unwrap_or(usize::MAX)
        });
        let bandwidth = raw.bandwidth.map(|RawSize(n)| {
            let bandwidth_path = join(&path, "bandwidth");
            self.within_one_to(
                &bandwidth_path,
                "`bandwidth`",
                n,
                u64::MAX,
                Unit::BytesPerSecond,
            )
        });
        let stall = raw.stall.as_ref().map(|stall| Stall {
            after: stall.after.map_or(0, |RawSize(n)| n),
            duration: stall.duration.map(|RawDuration(d)| d),
        });
        Faults {
            latency: latency
                .and_then(|l| l.fixed)
                .map_or_else(Default::default, |RawDuration(d)| d),
            jitter: latency
                .and_then(|l| l.jitter)
                .map_or_else(Default::default, |RawDuration(d)| d),
            slice,
            slice_pause: raw
                .slice
                .as_ref()
                .and_then(|s| s.pause)
                .map_or_else(Default::default, |RawDuration(d)| d),
            bandwidth,
            reset: raw.reset.unwrap_or(false),
            close_after: raw.close_after.map(|RawSize(n)| n),
            drop: self.probability(&join(&path, "drop"), raw.drop),
            duplicate: self.probability(&join(&path, "duplicate"), raw.duplicate),
            stall,
            seed: raw.seed.unwrap_or(seed),
        }
    }

    fn probability(&mut self, path: &str, value: Option<f64>) -> f64 {
        match value {
            Some(p) if (0.0..=1.0).contains(&p) => p,
            Some(p) => {
                self.at_value(
                    path,
                    format!("`{p}` is not a probability: write a number from 0 to 1"),
                );
                0.0
            }
            None => 0.0,
        }
    }
}
