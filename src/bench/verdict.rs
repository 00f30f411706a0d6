//! The one line that heads every report: `PASS:` with the figures people look at first, or
//! `FAIL:` with every reason, and which of those reasons decides the exit code.

use super::compare::Regression;
use super::report::{count, percent, Report};

/// Why a run failed, most serious first: the exit code follows the first one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Some clients could not connect.
    Connect,
    /// Clients hit errors (connections lost, publishes never acknowledged).
    Errors,
    /// Messages the broker acknowledged never arrived.
    Lost,
    /// `--compare`: a figure is worse than the baseline beyond the threshold.
    Regressed,
}

/// What a run comes to.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Every reason it failed, most serious first; empty when it passed.
    pub failures: Vec<Failure>,
    /// The line: `PASS: ...` or `FAIL: ...`.
    pub line: String,
}

impl Verdict {
    /// True when nothing failed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The verdict on `report`, with the figures `--compare` found worse beyond `threshold` percent.
pub fn judge(report: &Report, regressions: &[Regression], threshold: f64) -> Verdict {
    let mut failures = Vec::new();
    let mut reasons = Vec::new();
    if report.connect_failures > 0 {
        failures.push(Failure::Connect);
        reasons.push(format!(
            "{} of {} clients could not connect",
            count(report.connect_failures),
            count(report.clients as u64)
        ));
    }
    if report.errors > 0 {
        failures.push(Failure::Errors);
        let first = report
            .error_kinds
            .first()
            .map_or(String::new(), |k| format!(" (most often: {})", k.error));
        reasons.push(format!("{} errors during the run{first}", count(report.errors)));
    }
    if report.lost > 0 {
        failures.push(Failure::Lost);
        reasons.push(format!(
            "{} acknowledged messages never arrived",
            count(report.lost)
        ));
    }
    if !regressions.is_empty() {
        failures.push(Failure::Regressed);
        let figures: Vec<String> = regressions
            .iter()
            .map(|r| format!("{} {:+.1}%", r.figure, r.change))
            .collect();
        reasons.push(format!(
            "worse than the baseline beyond ±{}%: {}",
            percent(threshold),
            figures.join(", ")
        ));
    }
    let line = if failures.is_empty() {
        format!("PASS: {}", headline(report))
    } else {
        format!("FAIL: {}", reasons.join("; "))
    };
    Verdict { failures, line }
}

/// The figures of a run that passed, shortest first: the rate, then what did not arrive as
/// it should.
fn headline(r: &Report) -> String {
    let qos = r.qos.unwrap_or(0);
    let rate = |x: f64| count(x.round() as u64);
    let order = format!(
        "{} duplicated, {} reordered",
        count(r.duplicates),
        count(r.reordered)
    );
    match r.command {
        "conn" => {
            let mut s = format!(
                "{} of {} connected ({}/s), {} dropped",
                count(r.connected),
                count(r.clients as u64),
                rate(r.connect_rate),
                count(r.dropped)
            );
            if r.publishers > 0 {
                s.push_str(&format!(
                    "; bystander pair {} msg/s accepted, 0 lost",
                    rate(r.accept_rate)
                ));
            }
            s
        }
        "sub" => format!(
            "{} msg/s received, {} not received (gaps in the sequence numbers), {order}",
            rate(r.recv_rate),
            count(r.not_received)
        ),
        _ => {
            let mut s = if qos > 0 {
                format!("{} msg/s accepted", rate(r.accept_rate))
            } else {
                format!("{} msg/s sent", rate(r.send_rate))
            };
            if r.refused > 0 {
                s.push_str(&format!(", {} refused by the broker", count(r.refused)));
            }
            if r.unacknowledged > 0 {
                s.push_str(&format!(", {} unacknowledged", count(r.unacknowledged)));
            }
            if r.subscribers > 0 {
                if qos > 0 {
                    s.push_str(&format!(", 0 lost, {order}"));
                } else {
                    s.push_str(&format!(
                        ", {} not received (QoS 0: nothing is acknowledged, so nothing is lost), {order}",
                        count(r.not_received)
                    ));
                }
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pubsub(qos: u8) -> Report {
        Report {
            command: "pubsub",
            qos: Some(qos),
            clients: 4,
            publishers: 2,
            subscribers: 2,
            accept_rate: 1234.4,
            send_rate: 2000.0,
            ..Report::default()
        }
    }

    #[test]
    fn a_clean_run_passes_with_its_headline() {
        let mut r = pubsub(1);
        r.refused = 1500;
        let v = judge(&r, &[], 5.0);
        assert!(v.passed());
        assert_eq!(
            v.line,
            "PASS: 1,234 msg/s accepted, 1,500 refused by the broker, 0 lost, 0 duplicated, 0 reordered"
        );
    }

    #[test]
    fn at_qos0_missing_messages_are_not_lost() {
        let mut r = pubsub(0);
        r.not_received = 12;
        let v = judge(&r, &[], 5.0);
        assert!(v.passed(), "{v:?}");
        assert!(
            v.line.starts_with("PASS: 2,000 msg/s sent, 12 not received"),
            "{}",
            v.line
        );
    }

    #[test]
    fn every_reason_is_named_and_the_most_serious_comes_first() {
        let mut r = pubsub(1);
        r.lost = 812;
        let regression = Regression {
            figure: "recv_rate",
            change: -12.04,
        };
        let v = judge(&r, std::slice::from_ref(&regression), 5.0);
        assert_eq!(v.failures, vec![Failure::Lost, Failure::Regressed]);
        assert_eq!(
            v.line,
            "FAIL: 812 acknowledged messages never arrived; worse than the baseline beyond ±5%: \
             recv_rate -12.0%"
        );
        r.lost = 0;
        r.errors = 3;
        r.connect_failures = 1;
        let v = judge(&r, &[], 2.5);
        assert_eq!(v.failures, vec![Failure::Connect, Failure::Errors]);
        assert!(
            v.line
                .starts_with("FAIL: 1 of 4 clients could not connect; 3 errors"),
            "{}",
            v.line
        );
    }
}
