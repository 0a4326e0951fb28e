//! What a TLS failure is, in types: the `expect_tls_error` kind of a rustls error and its words
//! (without the times some carry), the failure an `io::Error` of a session carries, and the
//! words for a peer that does not speak TLS. One place for "which error is which kind".

use std::io;

use rustls::{AlertDescription, CertificateError, Error};

use crate::event::TlsFailure;
use crate::scenario::TlsErrorKind;

/// Why a handshake failed on bytes that are not TLS: the first byte only, which is the same
/// however the peer's bytes were cut (a server that answers in plain text, a student's that
/// forgot to wrap its socket, is told so).
pub(super) fn plain_text_reason(bytes: &[u8]) -> String {
    let first = bytes.first().copied().unwrap_or(0);
    let shown = [first].escape_ascii().to_string();
    format!(
        "the peer does not speak TLS: its first byte, '{shown}' (0x{first:02x}), cannot begin a TLS record (plain text?)"
    )
}

/// The kind of a rustls error, as `expect_tls_error` names it, and its words.
pub fn failure_of(error: &Error) -> TlsFailure {
    let kind = match error {
        Error::InvalidCertificate(certificate) => match certificate {
            CertificateError::UnknownIssuer => TlsErrorKind::UnknownCa,
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => TlsErrorKind::CertificateExpired,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsErrorKind::NameMismatch
            }
            _ => TlsErrorKind::BadCertificate,
        },
        Error::AlertReceived(alert) => match alert {
            AlertDescription::UnknownCA => TlsErrorKind::UnknownCa,
            AlertDescription::CertificateExpired => TlsErrorKind::CertificateExpired,
            AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateUnknown => TlsErrorKind::BadCertificate,
            AlertDescription::NoApplicationProtocol => TlsErrorKind::NoApplicationProtocol,
            AlertDescription::CertificateRequired => TlsErrorKind::CertificateRequired,
            _ => TlsErrorKind::HandshakeFailure,
        },
        Error::NoApplicationProtocol => TlsErrorKind::NoApplicationProtocol,
        Error::NoCertificatesPresented => TlsErrorKind::CertificateRequired,
        _ => TlsErrorKind::HandshakeFailure,
    };
    TlsFailure {
        kind,
        reason: timeless(error).to_string(),
    }
}

/// `error` without the times some certificate errors carry (the time of the check, how long
/// ago a certificate expired), which differ from run to run: the transcript keeps the words.
fn timeless(error: &Error) -> Error {
    match error {
        Error::InvalidCertificate(CertificateError::ExpiredContext { .. }) => {
            Error::InvalidCertificate(CertificateError::Expired)
        }
        Error::InvalidCertificate(CertificateError::NotValidYetContext { .. }) => {
            Error::InvalidCertificate(CertificateError::NotValidYet)
        }
        other => other.clone(),
    }
}

/// The TLS failure an `io::Error` of a session carries, if it is one.
pub fn failure_in(error: &io::Error) -> Option<&TlsFailure> {
    error.get_ref()?.downcast_ref::<TlsFailure>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::opens_a_tls_record;

    /// Only a TLS content type and major version 3 may begin a record; the reason for any other
    /// first byte names that byte alone (the same however the peer's bytes were cut).
    #[test]
    fn plain_text_is_told_by_its_first_byte() {
        assert!(opens_a_tls_record(&[22, 3, 1]));
        assert!(opens_a_tls_record(&[21]));
        assert!(!opens_a_tls_record(b"Welcome!"));
        assert!(!opens_a_tls_record(&[22, 4]));
        assert_eq!(
            plain_text_reason(b"Welcome!"),
            plain_text_reason(b"W"),
            "a dribbled greeting reads the same"
        );
        assert!(plain_text_reason(b"\n").contains("'\\n' (0x0a)"));
    }

    /// The failure words carry no time: an expired certificate reads the same every run.
    #[test]
    fn an_expired_certificate_is_said_without_times() {
        let error = Error::InvalidCertificate(CertificateError::ExpiredContext {
            time: rustls::pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(9)),
            not_after: rustls::pki_types::UnixTime::since_unix_epoch(
                std::time::Duration::from_secs(1),
            ),
        });
        let failure = failure_of(&error);
        assert_eq!(failure.kind, TlsErrorKind::CertificateExpired);
        assert!(!failure.reason.contains('9'), "{}", failure.reason);
    }
}
