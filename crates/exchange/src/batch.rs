//! Steps applied in batches (a page of rows from a front database, or a batch sent over the API):
//! each step checked as [`Exchange::apply`] checks it, then the steps of different cases made
//! together in one transaction, their keys recorded and their log entries written in one
//! statement each. A case's own steps go in order, one per round. Should anything in a batch's
//! transaction fail (a case changed meanwhile, a key taken by a copy sent at the same moment),
//! the transaction is undone and each of its steps is applied alone: a batch never answers
//! differently from the same steps sent one by one.

use crate::events::{self, Applied, Incoming, Ready, actor_of, screen};
use crate::log::{self, NewEntry};
use crate::{Caller, Exchange, ExchangeError};
use futures::StreamExt as _;

use sm3::{Digest, Sm3};
use std::collections::HashSet;

/// Steps made in one transaction at most.
pub const BATCH: usize = 25;

/// Transactions of one call in flight at once.
const IN_FLIGHT: usize = 4;

/// The most steps one call takes.
pub const MAX_STEPS: usize = 100;

/// A step with its place in the call, the bytes its digest is taken over, and that digest.
struct Step {
    at: usize,
    event: Incoming,
    content: Vec<u8>,
    digest: String,
}

type Answer = Result<Applied, ExchangeError>;

impl Exchange {
    /// Applies `events` sent by `caller` (each with its content as received), a case's own in
    /// the order given; the answers in the same order, each as [`Exchange::apply`] would give it.
    pub async fn apply_all(&self, caller: &Caller, events: Vec<(Incoming, Vec<u8>)>) -> Vec<Answer> {
        let mut answers: Vec<Option<Answer>> = events.iter().map(|_| None).collect();
        let mut pending: Vec<Step> = events
            .into_iter()
            .enumerate()
            .map(|(at, (event, content))| {
                let digest = hex::encode(Sm3::digest(&content));
                Step { at, event, content, digest }
            })
            .collect();
        while !pending.is_empty() {
            // A round takes each case's earliest step still to go.
            let mut taken = HashSet::new();
            let (round, later): (Vec<Step>, Vec<Step>) =
                pending.into_iter().partition(|s| taken.insert(s.event.serial_number.trim().to_owned()));
            pending = later;
            let mut batches: Vec<Vec<Step>> = Vec::new();
            for step in round {
                match batches.last_mut() {
                    Some(b) if b.len() < BATCH => b.push(step),
                    _ => batches.push(vec![step]),
                }
            }
            let done: Vec<Vec<(usize, Answer)>> = futures::stream::iter(batches)
                .map(|batch| self.apply_batch(caller, batch))
                .buffer_unordered(IN_FLIGHT)
                .collect()
                .await;
            for (at, answer) in done.into_iter().flatten() {
                answers[at] = Some(answer);
            }
        }
        answers
            .into_iter()
            .map(|a| a.unwrap_or_else(|| Err(ExchangeError::Internal("批量回传的一条消息未得到处理".into()))))
            .collect()
    }

    async fn apply_batch(&self, caller: &Caller, steps: Vec<Step>) -> Vec<(usize, Answer)> {
        let mut answers = Vec::with_capacity(steps.len());
        let mut refused = Vec::new();
        // The checks before anything is read, and the earlier answers in one query.
        let mut screened = Vec::with_capacity(steps.len());
        for step in steps {
            match screen(&step.event) {
                Ok((key, handler)) => screened.push((step, key, handler)),
                Err(e) => {
                    refused.push(refusal(&step, &e));
                    answers.push((step.at, Err(e)));
                }
            }
        }
        let keys: Vec<&str> = screened.iter().map(|(_, key, _)| key.as_str()).collect();
        let earlier = match self.earlier_answers(caller, &keys).await {
            Ok(earlier) => earlier,
            Err(e) => {
                let message = e.to_string();
                answers.extend(screened.iter().map(|(s, ..)| (s.at, Err(ExchangeError::Internal(message.clone())))));
                return answers;
            }
        };
        let mut fresh = Vec::with_capacity(screened.len());
        for (step, key, handler) in screened {
            match earlier.get(&key) {
                Some((digest, answer)) if *digest == step.digest => {
                    let mut answer = answer.clone();
                    answer.replayed = true;
                    answers.push((step.at, Ok(answer)));
                }
                Some(_) => {
                    let e = ExchangeError::KeyReused(key);
                    refused.push(refusal(&step, &e));
                    answers.push((step.at, Err(e)));
                }
                None => fresh.push((step, key, handler)),
            }
        }
        // Each checked against its case; the decisions borrow their actors.
        let actors: Vec<_> = fresh.iter().map(|(_, _, handler)| actor_of(caller, handler)).collect();
        let mut ready: Vec<(usize, Ready<'_>)> = Vec::with_capacity(fresh.len());
        let mut kept: Vec<Step> = Vec::with_capacity(fresh.len());
        for ((step, key, handler), actor) in fresh.into_iter().zip(&actors) {
            let event = step.event.clone();
            let checked =
                self.ready(caller, actor, event, &step.content, (key.clone(), step.digest.clone(), handler)).await;
            match checked {
                Ok(r) => {
                    ready.push((step.at, r));
                    kept.push(step);
                }
                Err(e) => match self.after_refusal(caller, &key, &step.digest, e).await {
                    Ok(answer) => answers.push((step.at, Ok(answer))),
                    Err(e) => {
                        if !matches!(e, ExchangeError::Db(_) | ExchangeError::Internal(_)) {
                            refused.push(refusal(&step, &e));
                        }
                        answers.push((step.at, Err(e)));
                    }
                },
            }
        }
        if !ready.is_empty() {
            match self.make_all(caller, ready).await {
                Ok(made) => answers.extend(made),
                // Undone as a whole: each alone, as if sent one by one.
                Err(e) => {
                    tracing::debug!(error = %e, "a batch of steps was undone; applying them one by one");
                    for step in kept {
                        let answer = self.apply(caller, step.event, &step.content).await;
                        answers.push((step.at, answer));
                    }
                }
            }
        }
        if !refused.is_empty() {
            let (department, client) = (Some(caller.department), Some(caller.client.id));
            if let Err(err) = self.record(&caller.actor, department, client, "exchange.event", refused).await {
                tracing::warn!(error = %err, "the exchange log could not record refused steps");
            }
        }
        answers
    }

    /// Makes `ready` steps in one transaction, or none of them.
    async fn make_all(
        &self,
        caller: &Caller,
        ready: Vec<(usize, Ready<'_>)>,
    ) -> Result<Vec<(usize, Answer)>, ExchangeError> {
        let mut tx = self.db().begin().await?;
        let mut places = Vec::with_capacity(ready.len());
        let mut made = Vec::with_capacity(ready.len());
        for (at, r) in ready {
            places.push(at);
            made.push(self.make(&mut tx, r).await?);
        }
        if events::record(&mut tx, caller, &made).await? != made.len() {
            tx.rollback().await?;
            return Err(ExchangeError::Internal("批量中的幂等键已被同时发送的另一副本使用".into()));
        }
        let (applied, logged): (Vec<Applied>, Vec<_>) = made.into_iter().map(|m| (m.applied, m.logged)).unzip();
        log::insert(&mut tx, Some(caller.department), Some(caller.client.id), &logged).await?;
        tx.commit().await?;
        Ok(places.into_iter().zip(applied).map(|(at, a)| (at, Ok(a))).collect())
    }
}

fn refusal(step: &Step, e: &ExchangeError) -> NewEntry {
    let serial: String = step.event.serial_number.trim().chars().take(40).collect();
    NewEntry::refused("event", (!serial.is_empty()).then_some(serial), step.content.clone(), e)
}
