//! Rolling back: the revision to return to, the schema check (migrations
//! never run backwards), and the change through the [`Pipeline`].

use crate::cluster::kinds::ServedKinds;
use crate::cluster::records::{ReleaseHistory, ReleaseRecord, ReleaseStatus};
use crate::exit::{ExitStatus, Failure};
use crate::interrupt::Stop;
use crate::redact::Redactor;
use crate::settings::RollbackSettings;

use super::connect::connect_for_writing;
use super::pipeline::{DeployReport, Pipeline, ReportError, outcome_of, rollback_change};
use super::shared::{environment_key, skipped_kinds};
use super::{Confirmer, DeployReporter, Question};

pub async fn rollback(
    settings: &RollbackSettings,
    reporter: &dyn DeployReporter,
    confirmer: &dyn Confirmer,
    redactor: &Redactor,
    stop: Stop,
) -> (DeployReport, Result<ExitStatus, Failure>) {
    let env = &settings.env;
    let fail = |failure: Failure| {
        let report = DeployReport {
            environment: env.name.clone(),
            namespace: env.namespace.name.clone(),
            dry_run: settings.change.dry_run,
            outcome: outcome_of(failure.status),
            error: Some(ReportError::from(&failure)),
            ..DeployReport::default()
        };
        (report, Err(failure))
    };
    let (conn, pending_claim) = match connect_for_writing(env, &settings.access, reporter).await {
        Ok(found) => found,
        Err(f) => return fail(f),
    };
    let history = ReleaseHistory::new(
        &conn.client,
        &env.namespace.name,
        &env.name,
        redactor.clone(),
    );
    let listing = match history.list().await {
        Ok(listing) => listing,
        Err(e) => return fail(e.into()),
    };
    for bad in &listing.unreadable {
        reporter.warn(&format!(
            "release record {} (revision {}) cannot be read and is skipped: {}",
            bad.name, bad.revision, bad.reason
        ));
    }
    let target = match choose_target(&listing.records, settings.revision) {
        Ok(target) => target,
        Err(f) => return fail(f),
    };
    reporter.status(
        "Target",
        &format!(
            "revision {} (version {}, {})",
            target.revision, target.version, target.status
        ),
    );
    let moved = crate::cluster::records::migrations_since(&listing.records, target.revision);
    if !moved.is_empty() {
        reporter.warn(&format!(
            "the database schema moved on since revision {}: migrations ran in revision(s) {}; \
             rolling back re-applies the old workloads but never runs migrations backwards",
            target.revision,
            moved
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if !settings.change.dry_run
            && !settings.change.yes
            && let Err(f) = confirmer.confirm(&Question::YesNo {
                question: "Roll back the workloads onto the newer schema?".into(),
                unattended: "the schema moved on since that revision; pass --yes to roll back the workloads anyway".into(),
                declined: "rollback not confirmed".into(),
            })
        {
            return fail(f);
        }
    }
    let change = rollback_change(target, None);
    let kinds = ServedKinds::new(&conn.client);
    let skip_kinds = skipped_kinds(&kinds, &change.manifests, reporter).await;
    let (key, key_stored) = match environment_key(&conn.client, &env.namespace.name).await {
        Ok(found) => found,
        Err(f) => return fail(f),
    };
    let pipeline = Pipeline {
        pending_claim,
        namespace_missing: false,
        held: Default::default(),
        env,
        conn: &conn,
        settings: &settings.change,
        force_conflicts: false,
        skip_kinds,
        key,
        key_stored,
        kinds,
        redactor: redactor.clone(),
        reporter,
        confirmer,
        stop,
    };
    pipeline.run(change).await
}

/// The revision to return to: the one asked for (which must have
/// succeeded), else the last successful one before the current.
pub fn choose_target(
    list: &[ReleaseRecord],
    asked: Option<u32>,
) -> Result<&ReleaseRecord, Failure> {
    let successful = |r: &&ReleaseRecord| {
        matches!(
            r.status,
            ReleaseStatus::Succeeded | ReleaseStatus::Superseded
        )
    };
    if let Some(revision) = asked {
        let record = list
            .iter()
            .find(|r| r.revision == revision)
            .ok_or_else(|| {
                Failure::invalid(format!(
                    "REVISION: there is no readable revision {revision}; revisions: {}",
                    list.iter()
                        .map(|r| r.revision.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        if !successful(&record) {
            return Err(Failure::invalid(format!(
                "REVISION: revision {revision} {}; only a revision that rolled out successfully can be rolled back to",
                record.status
            )));
        }
        return Ok(record);
    }
    let current = list.iter().find(|r| r.status == ReleaseStatus::Succeeded).ok_or_else(|| {
        Failure::invalid("no successful revision is recorded for this environment: nothing to roll back from")
    })?;
    // The newest revision failed (or died) after the last good one, and was
    // not rolled back: what runs may be half of it, so "back" means the last
    // good revision, applied again.
    if list
        .iter()
        .max_by_key(|r| r.revision)
        .is_some_and(|newest| newest.revision > current.revision && !successful(&newest))
    {
        return Ok(current);
    }
    list.iter()
        .filter(|r| r.revision < current.revision)
        .find(successful)
        .ok_or_else(|| {
            Failure::invalid(format!(
                "no successful revision before the current one ({}): nothing to roll back to",
                current.revision
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(revision: u32, status: ReleaseStatus) -> ReleaseRecord {
        let mut r = ReleaseRecord::begin(
            "local",
            "fintech-ai-local",
            &format!("1.{revision}.0"),
            &[],
            format!("deploy 1.{revision}.0"),
            &crate::identity::Identity::fixed("fixture-user", "fixture-host", "deploy"),
            &crate::redact::DigestKey::generate(),
        );
        r.revision = revision;
        r.status = status;
        r
    }

    #[test]
    fn the_default_target_is_the_one_before_the_current_or_the_last_good_after_a_failure() {
        use ReleaseStatus::*;
        // 3 is live and good: back to 2.
        let list = [
            record(3, Succeeded),
            record(2, Superseded),
            record(1, Superseded),
        ];
        assert_eq!(choose_target(&list, None).unwrap().revision, 2);
        // 3 failed without a rollback: what runs may be half of it; back to 2.
        let list = [
            record(3, Failed),
            record(2, Succeeded),
            record(1, Superseded),
        ];
        assert_eq!(choose_target(&list, None).unwrap().revision, 2);
        // A failure already rolled back is history: 4 is current, back to 2.
        let list = [
            record(4, Succeeded),
            record(3, RolledBack),
            record(2, Superseded),
        ];
        assert_eq!(choose_target(&list, None).unwrap().revision, 2);
        // An asked revision must have succeeded.
        assert!(choose_target(&list, Some(3)).is_err());
    }
}
