//! Canary deploys without a controller (docs/canary.md): the canary's
//! objects derived from the rendered release ([`objects`]), the run that
//! shifts traffic step by step and judges every step ([`run`]), and the
//! analysis against Prometheus ([`analysis`]).

pub mod analysis;
pub mod objects;
pub mod run;

use std::time::Duration;

use crate::environment::{Environment, Strategy};

/// The range of `release.canary.interval` and `--canary-interval`.
pub const INTERVAL_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(3600));

/// Why `steps` cannot be a canary's steps, if it cannot.
pub fn steps_problem(steps: &[u32]) -> Option<String> {
    if steps.is_empty() {
        return Some("no step: expected traffic percentages such as [10, 50]".into());
    }
    if let Some(bad) = steps.iter().find(|s| !(1..=99).contains(*s)) {
        return Some(format!(
            "{bad} is not a canary's share of the traffic: expected 1 to 99 (100 is the promotion)"
        ));
    }
    if let Some(w) = steps.windows(2).find(|w| w[1] <= w[0]) {
        return Some(format!(
            "{} after {}: the steps must be strictly ascending, e.g. [10, 50]",
            w[1], w[0]
        ));
    }
    None
}

/// `30s`, `2m`: a canary step's interval, 1s to 1h.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|_| {
        format!("`{text}` is not a duration: expected a number and a unit, e.g. 30s, 2m")
    })?;
    if d < INTERVAL_RANGE.0 || d > INTERVAL_RANGE.1 {
        return Err(format!("`{text}` is out of range: from 1s to 1h"));
    }
    Ok(d)
}

/// `--canary-steps 10,50`.
pub fn parse_steps(text: &str) -> Result<Vec<u32>, String> {
    let steps = text
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| format!("`{}` is not a percentage: expected e.g. 10,50", s.trim()))
        })
        .collect::<Result<Vec<u32>, String>>()?;
    match steps_problem(&steps) {
        Some(problem) => Err(problem),
        None => Ok(steps),
    }
}

/// `--canary-steps`' value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Steps(pub Vec<u32>);

/// [`parse_steps`] for clap.
pub fn parse_steps_arg(text: &str) -> Result<Steps, String> {
    parse_steps(text).map(Steps)
}

/// A deploy's canary settings: the environment's, with the flags over them.
#[derive(Debug, Clone, PartialEq)]
pub struct CanaryPlan {
    pub steps: Vec<u32>,
    pub interval: Duration,
    pub failure_limit: u32,
    pub manual_promotion: bool,
    pub thresholds: analysis::Thresholds,
}

impl CanaryPlan {
    /// The plan for `env` with `--strategy`, `--canary-steps` and
    /// `--canary-interval`; `None` for a rolling deploy.
    pub fn resolve(
        env: &Environment,
        strategy: Option<Strategy>,
        steps: Option<Vec<u32>>,
        interval: Option<Duration>,
    ) -> Option<CanaryPlan> {
        let policy = &env.release.canary;
        if strategy.unwrap_or(env.release.strategy) != Strategy::Canary {
            return None;
        }
        Some(CanaryPlan {
            steps: steps.unwrap_or_else(|| policy.steps.clone()),
            // Validated with the environment.
            interval: interval
                .or_else(|| parse_interval(&policy.interval).ok())
                .unwrap_or(Duration::from_secs(60)),
            failure_limit: policy.failure_limit.max(1),
            manual_promotion: policy.manual_promotion,
            thresholds: policy.analysis,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_ascending_percentages_below_100() {
        assert_eq!(parse_steps("10,50"), Ok(vec![10, 50]));
        assert_eq!(parse_steps(" 5 , 25,75"), Ok(vec![5, 25, 75]));
        assert!(
            parse_steps("50,10")
                .unwrap_err()
                .contains("strictly ascending")
        );
        assert!(
            parse_steps("10,10")
                .unwrap_err()
                .contains("strictly ascending")
        );
        assert!(parse_steps("0,50").unwrap_err().contains("1 to 99"));
        assert!(parse_steps("10,100").unwrap_err().contains("1 to 99"));
        assert!(parse_steps("ten").unwrap_err().contains("not a percentage"));
        assert!(steps_problem(&[]).unwrap().contains("no step"));
    }

    #[test]
    fn interval_is_bounded() {
        assert_eq!(parse_interval("30s"), Ok(Duration::from_secs(30)));
        assert!(
            parse_interval("500ms")
                .unwrap_err()
                .contains("from 1s to 1h")
        );
        assert!(parse_interval("2h").unwrap_err().contains("from 1s to 1h"));
        assert!(
            parse_interval("soon")
                .unwrap_err()
                .contains("not a duration")
        );
    }
}
