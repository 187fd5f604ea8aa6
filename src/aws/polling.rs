//! Polling a long-running AWS operation (a change set, a stack, a drift detection, a stack set
//! operation): capped exponential backoff with a deadline. Throttling while polling slows the
//! poll down instead of failing it; how many transient errors in a row are tolerated is part of
//! the settings.

use std::time::{Duration, Instant};

/// How often and how long to poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Polling {
    pub initial: Duration,
    pub max: Duration,
    /// Give up waiting after this long (the operation goes on in AWS).
    pub timeout: Duration,
    /// Consecutive transient errors (throttling, timeouts) tolerated while polling.
    pub max_transient_errors: u32,
}

impl Polling {
    /// CloudFormation stacks and change sets against AWS: start at 200 ms, back off to 5 s,
    /// wait up to an hour.
    pub fn stack_operations() -> Self {
        Polling {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(5),
            timeout: Duration::from_secs(3600),
            max_transient_errors: 8,
        }
    }

    /// Stack set operations against AWS take minutes (a stack per account and region): start
    /// at 2 s, back off to 30 s, wait up to 6 hours.
    pub fn stack_set_operations() -> Self {
        Polling {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(30),
            timeout: Duration::from_secs(6 * 3600),
            max_transient_errors: 8,
        }
    }

    /// Against an emulator (endpoint override): it answers at once, so poll quickly.
    pub fn emulator() -> Self {
        Polling {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(200),
            timeout: Duration::from_secs(600),
            max_transient_errors: 8,
        }
    }

    /// No waiting at all (unit tests with canned responses).
    pub fn immediate() -> Self {
        Polling {
            initial: Duration::ZERO,
            max: Duration::ZERO,
            timeout: Duration::from_secs(60),
            max_transient_errors: 3,
        }
    }

    pub fn backoff(&self) -> Backoff {
        Backoff {
            next: self.initial,
            max: self.max,
            deadline: Instant::now() + self.timeout,
            timeout: self.timeout,
        }
    }

    /// The first `n` intervals this polling sleeps between attempts (capped doubling).
    pub fn intervals(&self, n: usize) -> Vec<Duration> {
        let mut d = self.initial;
        (0..n)
            .map(|_| {
                let cur = d;
                d = (d * 2).min(self.max);
                cur
            })
            .collect()
    }
}

/// The deadline passed while waiting for `what`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaveUp {
    pub what: String,
    pub after: Duration,
}

/// Capped exponential backoff with a deadline.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
    max: Duration,
    deadline: Instant,
    timeout: Duration,
}

impl Backoff {
    /// Sleeps for the next interval; an error once the deadline has passed.
    pub async fn wait(&mut self, what: &str) -> Result<(), GaveUp> {
        if Instant::now() >= self.deadline {
            return Err(GaveUp {
                what: what.to_string(),
                after: self.timeout,
            });
        }
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(self.max);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_polling_backs_off_to_its_cap() {
        let ms = |p: Polling, n| -> Vec<u128> {
            p.intervals(n).iter().map(Duration::as_millis).collect()
        };
        assert_eq!(
            ms(Polling::stack_operations(), 8),
            [200, 400, 800, 1600, 3200, 5000, 5000, 5000]
        );
        assert_eq!(
            ms(Polling::stack_set_operations(), 6),
            [2000, 4000, 8000, 16000, 30000, 30000]
        );
        assert_eq!(ms(Polling::emulator(), 7), [10, 20, 40, 80, 160, 200, 200]);
    }

    #[tokio::test]
    async fn a_passed_deadline_gives_up_naming_what_it_waited_for() {
        let mut b = Polling {
            timeout: Duration::ZERO,
            ..Polling::immediate()
        }
        .backoff();
        let e = b.wait("stack s").await.unwrap_err();
        assert_eq!(e.what, "stack s");
        assert_eq!(e.after, Duration::ZERO);
    }
}
