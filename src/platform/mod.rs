//! Platform adapters: translate platform input into core events and render core replies
//! back. Nothing else happens here.

pub mod closer;
pub mod console;
pub mod discord;
pub mod refresh;
pub mod telegram;

/// An error with its causes, `outer: inner: root`, for logs: reqwest's own text ("error
/// sending request") hides why (a refused connection, a timeout). A cause whose text its
/// outer error already shows is not repeated.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn chain_keeps_every_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("network error: {0}")]
        struct Outer(#[source] Inner);
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request")]
        struct Inner(#[source] std::io::Error);
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        assert_eq!(
            super::chain(&Outer(Inner(io))),
            "network error: error sending request: Connection refused"
        );
    }
}
