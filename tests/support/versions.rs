//! `both_versions!`: one test body run once as MQTT 3.1.1 and once as MQTT 5.0, as two tests.

/// Declares two tests from one body: the first with `$level` bound to the first value, the
/// second with it bound to the second (`Level::V311, Level::V5` for the raw packet builder,
/// `4, 5` for helpers taking the protocol level byte). Each name is written out in full,
/// rather than pasted together from a stem, because the conformance table
/// (tests/conformance/STATEMENTS.md) names the tests and `statements.rs` finds them by
/// `fn NAME` in the source.
///
/// ```ignore
/// both_versions! {
///     #[tokio::test]
///     async fn pingreq_gets_pingresp_v311, pingreq_gets_pingresp_v5(level = 4, 5) {
///         ping(level).await;
///     }
/// }
/// ```
macro_rules! both_versions {
    ($(#[$attr:meta])* async fn $v311:ident, $v5:ident($level:ident = $l311:expr, $l5:expr) $body:block) => {
        $(#[$attr])*
        async fn $v311() {
            let $level = $l311;
            $body
        }

        $(#[$attr])*
        async fn $v5() {
            let $level = $l5;
            $body
        }
    };
    ($(#[$attr:meta])* fn $v311:ident, $v5:ident($level:ident = $l311:expr, $l5:expr) $body:block) => {
        $(#[$attr])*
        fn $v311() {
            let $level = $l311;
            $body
        }

        $(#[$attr])*
        fn $v5() {
            let $level = $l5;
            $body
        }
    };
}

// A macro_rules macro is reachable by path (`use super::versions::both_versions`) only once it
// is re-exported as an item.
pub(crate) use both_versions;
