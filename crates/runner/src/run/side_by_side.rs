//! Frameworks measured side by side (the default when a run has several):
//! each category's servers all started, verified and warmed up, then each
//! target prepared on all of them at once (restarts, load checks and
//! warm-ups measure nothing, so they overlap) and sampled in rounds, one run per
//! framework per round in a rotating order, until each framework's figures
//! are known. A virtual machine's speed drifts over minutes (a noisy
//! neighbour, the host's load); measured one after another, a framework
//! inherits whatever the machine was doing in its minutes, and two close
//! frameworks swap places from one run to the next. Alternated run by run,
//! the drift falls on all of them alike.
//!
//! Invariant: while one server is measured the others are idle. Before a
//! run, another server with a thread running (still answering what its own
//! load left queued) is waited for; every run reads each other server's
//! CPU before and after, and a run during which one of them used more than
//! [`IDLE_CORES`] all the same is taken again once they have settled, at
//! most [`RETAKES`] times. The measurement counts the runs it took again; a
//! disturbed run kept (the retakes used up, a neighbour that never settles,
//! or a run with errors, which count whatever disturbed it) flags it
//! `disturbed`. Each round runs the frameworks in a fresh shuffled order
//! (seeded by the round, so a run can be repeated), so that no framework
//! always follows the same one.

use super::category::Lane;
use super::measure::Sampling;
use super::setup::Setups;
use super::{Runner, IDLE_CORES};
use crate::registry::Framework;
use crate::results::{CategoryResult, FrameworkResult};
use crate::sampler;
use crate::server::Server;
use crate::targets::{Target, TargetKind};
use anyhow::Result;
use contract::Contract;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::time::{Duration, Instant};

/// Times one run is taken again at most when the other servers were busy.
const RETAKES: u32 = 2;

/// Longest wait for the other servers to settle before a run is retaken.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);

/// A framework's category in a side-by-side run.
enum Seat {
    /// Its server is up: measured with the others.
    Up {
        lane: Box<Lane>,
        /// Time spent on this framework alone (its start, verification,
        /// preparations and runs).
        spent: Duration,
    },
    /// Done, or never started: its result.
    Over(super::category::NotRun),
}

impl Seat {
    /// A result with the time spent on it.
    fn over(mut result: super::category::NotRun, spent: Duration) -> Seat {
        result.wall_seconds = Some(spent.as_secs_f64());
        Seat::Over(result)
    }

    /// The server's process, when it is up and sampled.
    fn pid(&self) -> Option<u32> {
        match self {
            Seat::Up { lane, .. } => lane.server.pid(),
            Seat::Over(_) => None,
        }
    }
}

/// One framework's sampling of the current target.
struct Turn {
    /// Its seat.
    seat: usize,
    /// The target's index in its lane.
    target: usize,
    sampling: Sampling,
}

impl Runner<'_> {
    /// Every framework's setup, then each category measured side by side;
    /// `steps(category)` is one server's progress steps in it.
    pub(super) fn side_by_side(
        &self,
        frameworks: &[(&str, &Framework)],
        contracts: &[Contract],
        steps: &dyn Fn(&Contract) -> u64,
    ) -> Vec<FrameworkResult> {
        let mut setups = Setups::default();
        let setup: Vec<(Result<(), String>, Duration)> = frameworks
            .iter()
            .map(|(_, f)| {
                let start = Instant::now();
                let outcome = setups.run(f, &self.opts.root, &self.logs, &self.progress);
                (outcome, start.elapsed())
            })
            .collect();
        let mut categories: Vec<Vec<CategoryResult>> = vec![Vec::new(); frameworks.len()];
        for c in contracts {
            // Only the frameworks that implement the category take part.
            let serving: Vec<usize> = (0..frameworks.len())
                .filter(|&i| frameworks[i].1.serves(&c.category))
                .collect();
            let (those, their_setup): (Vec<_>, Vec<_>) = serving
                .iter()
                .map(|&i| (frameworks[i], setup[i].clone()))
                .unzip();
            self.progress
                .begin(&c.category, steps(c) * those.len() as u64);
            let results = self.category_side_by_side(&those, &their_setup, c);
            for (&i, result) in serving.iter().zip(results) {
                categories[i].push(result);
            }
        }
        frameworks
            .iter()
            .zip(setup)
            .zip(categories)
            .map(|((&(name, f), (_, took)), categories)| FrameworkResult {
                name: name.to_owned(),
                description: f.description.clone(),
                version: crate::machine::version_of(&f.version),
                wall_seconds: Some(
                    took.as_secs_f64()
                        + categories
                            .iter()
                            .filter_map(|c| c.wall_seconds)
                            .sum::<f64>(),
                ),
                categories,
            })
            .collect()
    }

    /// One category on every framework: servers started, targets measured
    /// in alternating runs, open-model phases one server after another,
    /// servers stopped. Results in the frameworks' order.
    fn category_side_by_side(
        &self,
        frameworks: &[(&str, &Framework)],
        setup: &[(Result<(), String>, Duration)],
        contract: &Contract,
    ) -> Vec<CategoryResult> {
        let mut seats: Vec<Seat> = frameworks
            .iter()
            .zip(setup)
            .map(|(&(name, f), (setup, _))| {
                let start = Instant::now();
                let known = f.known_in(&contract.category);
                match self
                    .runnable(name, f, contract, setup)
                    .and_then(|command| self.lane(name, f, &command, contract, &known))
                {
                    Ok(lane) => Seat::Up {
                        lane: Box::new(lane),
                        spent: start.elapsed(),
                    },
                    Err(result) => Seat::over(result, start.elapsed()),
                }
            })
            .collect();
        for key in target_keys(contract, &seats) {
            let load = (key.0 == TargetKind::Endpoint)
                .then(|| contract.endpoint(&key.1))
                .flatten()
                .and_then(|e| e.load.as_ref());
            for conns in crate::targets::levels(load, &self.opts.connections) {
                self.target_side_by_side(&mut seats, &key, conns, contract.load.stateful);
            }
        }
        seats
            .into_iter()
            .map(|seat| match seat {
                Seat::Up {
                    mut lane,
                    mut spent,
                } => {
                    let start = Instant::now();
                    let (server, label) = (&mut lane.server, &lane.label);
                    self.open_phase(server, label, contract, &lane.targets, &mut lane.result);
                    self.stop(lane.server);
                    spent += start.elapsed();
                    lane.result.wall_seconds = Some(spent.as_secs_f64());
                    lane.result
                }
                Seat::Over(result) => *result,
            })
            .collect()
    }

    /// One target at one connection count on every server that has it:
    /// each prepared (a fresh store or a settled server, its load
    /// verified), then sampled round by round until each is done; then
    /// every server checked (a crash recorded and the server restarted), and
    /// one that could not be restarted leaves the category.
    fn target_side_by_side(&self, seats: &mut [Seat], key: &Key, conns: u32, stateful: bool) {
        let turns = self.prepare_all(seats, key, conns, stateful);
        self.rounds(seats, turns);
        let name = key.1.as_str();
        for seat in seats.iter_mut() {
            let survived = match seat {
                Seat::Up { lane, spent } => {
                    let start = Instant::now();
                    let during = format!("load: {name}");
                    let up = self.survive(&mut lane.server, &lane.label, &during, &mut lane.result);
                    *spent += start.elapsed();
                    up
                }
                Seat::Over(_) => true,
            };
            if !survived {
                let gone = std::mem::replace(seat, Seat::Over(Box::new(CategoryResult::new(""))));
                if let Seat::Up { lane, spent } = gone {
                    *seat = Seat::over(Box::new(lane.result), spent);
                }
            }
        }
    }

    /// Every server that has the target prepared for it at once: restarts,
    /// load checks and warm-ups are not measured, so they need not wait for
    /// one another; each server is then left idle before the rounds.
    /// Each framework is charged its share of the time this took, in
    /// proportion to its own preparation's.
    fn prepare_all(&self, seats: &mut [Seat], key: &Key, conns: u32, stateful: bool) -> Vec<Turn> {
        let start = Instant::now();
        let prepared: Vec<(Option<Turn>, Duration)> = std::thread::scope(|scope| {
            let handles: Vec<_> = seats
                .iter_mut()
                .enumerate()
                .map(|(i, seat)| {
                    scope.spawn(move || self.prepare_seat(seat, i, key, conns, stateful))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        let wall = start.elapsed();
        let own: Duration = prepared.iter().map(|(_, took)| *took).sum();
        let mut turns = Vec::new();
        for (seat, (turn, took)) in seats.iter_mut().zip(prepared) {
            if let Seat::Up { spent, .. } = seat {
                if !own.is_zero() {
                    *spent += wall.mul_f64(took.as_secs_f64() / own.as_secs_f64());
                }
            }
            turns.extend(turn);
        }
        turns
    }

    /// One server prepared for a target it has (`None` when it has not, is
    /// over, or failed the preparation), and how long that took.
    fn prepare_seat(
        &self,
        seat: &mut Seat,
        index: usize,
        key: &Key,
        conns: u32,
        stateful: bool,
    ) -> (Option<Turn>, Duration) {
        let start = Instant::now();
        let Seat::Up { lane, .. } = seat else {
            return (None, Duration::ZERO);
        };
        let Some(target) = lane.targets.iter().position(|t| is(t, key)) else {
            return (None, Duration::ZERO);
        };
        let t = &lane.targets[target];
        self.progress.step(format!(
            "{}: {} with {conns} connections",
            lane.label, key.1
        ));
        let prepared = self
            .prepare_target(&mut lane.server, &lane.label, t, stateful)
            .and_then(|()| self.sampling(&lane.label, t, conns));
        // Left idle: work a preparation has only just queued (its load
        // check's, its warm-up's) may not run yet when the rounds' first
        // run glances at its neighbours, and would then disturb that run.
        settle(lane.server.pid().into_iter());
        let turn = match prepared {
            Ok(sampling) => Some(Turn {
                seat: index,
                target,
                sampling,
            }),
            Err(e) => {
                self.not_measured(&lane.label, &mut lane.result, &key.1, format!("{e:#}"));
                None
            }
        };
        (turn, start.elapsed())
    }

    /// Runs the turns round by round, one run each per round in a shuffled
    /// order, until every turn's measurement is done or failed.
    fn rounds(&self, seats: &mut [Seat], mut turns: Vec<Turn>) {
        let mut round = 0u64;
        while !turns.is_empty() {
            let mut order: Vec<usize> = (0..turns.len()).collect();
            order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(round));
            let mut finished = Vec::new();
            for slot in order {
                let turn = &mut turns[slot];
                let others: Vec<u32> = seats
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != turn.seat)
                    .filter_map(|(_, s)| s.pid())
                    .collect();
                let Seat::Up { lane, spent } = &mut seats[turn.seat] else {
                    finished.push(slot);
                    continue;
                };
                let start = Instant::now();
                let target = &lane.targets[turn.target];
                let outcome = self.undisturbed(&lane.server, &mut turn.sampling, target, &others);
                *spent += start.elapsed();
                let name = target.name.clone();
                match outcome {
                    Ok(()) if lane.server.exited().is_some() => {
                        let why = "the server died during the measurement".to_owned();
                        self.not_measured(&lane.label, &mut lane.result, &name, why);
                        finished.push(slot);
                    }
                    Ok(()) => {
                        if self.sampled(&turn.sampling) {
                            let m = self.measured(target, &turn.sampling);
                            lane.result.results.push(m);
                            finished.push(slot);
                        }
                    }
                    Err(e) => {
                        self.not_measured(&lane.label, &mut lane.result, &name, format!("{e:#}"));
                        finished.push(slot);
                    }
                }
            }
            finished.sort_unstable();
            for slot in finished.into_iter().rev() {
                turns.remove(slot);
            }
            round += 1;
        }
    }

    /// One run of a sampling while the other servers (`others`) stay idle:
    /// taken again, once they have settled, when one was busy during it.
    fn undisturbed(
        &self,
        server: &Server,
        sampling: &mut Sampling,
        target: &Target,
        others: &[u32],
    ) -> Result<()> {
        // A server still busy with what its own load left behind (a Python
        // worker answering the requests queued when wrk stopped) is waited
        // for before the run, not found out after it.
        settle(others.iter().copied().filter(|&pid| sampler::running(pid)));
        for retake in 0..=RETAKES {
            let before = busy(others);
            let start = Instant::now();
            self.sample(server, sampling, target)?;
            let seconds = start.elapsed().as_secs_f64();
            let disturbed = busy(others)
                .iter()
                .zip(&before)
                .any(|(after, before)| (after - before) / seconds > IDLE_CORES);
            if !disturbed {
                break;
            }
            if retake == RETAKES || !settle(others.iter().copied()) || !sampling.discard_last() {
                sampling.keep_disturbed();
                break;
            }
        }
        Ok(())
    }
}

/// CPU seconds each server's tree has used so far.
fn busy(pids: &[u32]) -> Vec<f64> {
    pids.iter()
        .map(|&pid| sampler::read_tree(pid).cpu_seconds)
        .collect()
}

/// Waits until each of these servers is idle (at most [`SETTLE_TIMEOUT`]
/// each); false when one was still busy.
fn settle(pids: impl Iterator<Item = u32>) -> bool {
    let mut all = true;
    for pid in pids {
        // Every one waited for, also after one that did not settle.
        all &= sampler::wait_idle(pid, IDLE_CORES, SETTLE_TIMEOUT).is_some();
    }
    all
}

/// A target as the contract names it: endpoint or scenario, and its name.
type Key = (TargetKind, String);

/// Whether `target` is the one `key` names.
fn is(target: &Target, key: &Key) -> bool {
    target.kind == key.0 && target.name == key.1
}

/// The targets some server that is up measures, in the contract's order
/// (endpoints, then scenarios).
fn target_keys(contract: &Contract, seats: &[Seat]) -> Vec<Key> {
    let endpoints = contract
        .endpoints
        .iter()
        .map(|e| (TargetKind::Endpoint, e.name.clone()));
    let scenarios = contract
        .scenarios
        .iter()
        .map(|s| (TargetKind::Scenario, s.name.clone()));
    endpoints
        .chain(scenarios)
        .filter(|key| {
            seats.iter().any(|seat| match seat {
                Seat::Up { lane, .. } => lane.targets.iter().any(|t| is(t, key)),
                Seat::Over(_) => false,
            })
        })
        .collect()
}
