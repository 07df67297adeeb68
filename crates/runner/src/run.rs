//! `runner run`: for each framework and category, start the server from the
//! registry, wait until healthy, verify it, warm up, measure every verified
//! endpoint (and scenario) with wrk while sampling the server's process tree,
//! stop it, and write one results file. The ceiling is measured first, in the
//! same run, with the same load. With `--url`, the one server measured is
//! external: someone else started it, here or on another machine; it is
//! verified and loaded the same way but never restarted, and sampled only
//! when its process id here is given.
//!
//! The modules follow a run's jobs: [`options`] (what was asked),
//! [`setup`] (contracts and setup commands), [`category`] (one server's
//! category: start, verify, measure each target), [`measure`] (one target:
//! wrk runs, sampling, the measurement; the ceiling), [`open`] (the
//! open-model phase), [`scaling`] (a `--state` run); this file assembles
//! them into one results file.

use crate::open_model;
use crate::progress::Progress;
use crate::registry::{Framework, Registry};
use crate::results::{
    CategoryResult, FrameworkResult, OpenModelParameters, Parameters, Results, SCHEMA_VERSION,
};
use crate::server::{Launch, Server};
use crate::{targets, wrk};
use anyhow::{bail, Context, Result};
use contract::Contract;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod category;
mod measure;
mod open;
mod options;
mod scaling;
mod setup;
mod side_by_side;

pub use measure::attach_ceiling;
pub use options::{ExternalTarget, OpenSettings, RunOptions};
pub(crate) use setup::contract_sha256;
pub use setup::{contracts, Setups};

/// Below this many cores busy, a server's background work has drained.
const IDLE_CORES: f64 = 0.05;

struct Runner<'a> {
    opts: &'a RunOptions,
    rt: tokio::runtime::Runtime,
    logs: PathBuf,
    progress: Progress,
    /// oha, when the open-model phase can run.
    oha: Option<PathBuf>,
    /// The upstream of the categories that call one, while the run lasts.
    upstream: Option<crate::upstream::Upstream>,
}

impl Runner<'_> {
    fn launch(&self, label: &str, command: &[String], health: &str, category: &str) -> Launch {
        Launch {
            database: self.opts.database.database_for(label, category),
            upstream: crate::upstream::for_category(self.upstream.as_ref(), category),
            label: label.to_owned(),
            command: crate::registry::with_workers(command, self.opts.workers()).0,
            health: health.to_owned(),
            root: self.opts.root.clone(),
            log: self.logs.join(format!("{label}.log")),
            startup_timeout: self.opts.startup_timeout,
            cpus: self.opts.cpus.as_ref().map(|c| c.server.clone()),
        }
    }

    fn load_cpus(&self) -> Option<&str> {
        self.opts.cpus.as_ref().map(|c| c.load.as_str())
    }

    fn stop(&self, server: Server) {
        let log = server.log().map(Path::to_path_buf).unwrap_or_default();
        if !server.stop() {
            self.progress.note(format!(
                "warning: the server had to be killed (log: {})",
                log.display()
            ));
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The results file.
    pub path: PathBuf,
    /// One line per framework × category that failed to start, verify or
    /// measure (empty when everything passed).
    pub problems: Vec<String>,
}

/// Runs the benchmark and writes `<output>/run-<time>.json`.
pub fn run(opts: &RunOptions) -> Result<Outcome> {
    let registry = Registry::load(&opts.registry)?;
    let frameworks = selected_frameworks(opts, &registry)?;
    let contracts = selected_contracts(opts)?;
    check_load_and_target(opts)?;
    let wrk_version = wrk::version()?;
    // Stopped at the end (when the run started it) by its drop.
    let cluster = opts
        .database
        .needs_cluster(contracts.iter().map(|c| c.category.as_str()))
        .then(crate::database::start_cluster)
        .transpose()
        .context("starting PostgreSQL (scripts/setup_postgres.sh)")?;
    let run_id = format!("run-{}", crate::machine::stamp());
    let logs = opts.output.join(format!("{run_id}-logs"));
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;

    // Stopped at the end by its drop.
    let upstream = match opts.external {
        Some(_) => crate::upstream::Running::default(),
        None => crate::upstream::Running::for_run(
            opts.upstream.as_deref(),
            contracts.iter().map(|c| c.category.as_str()),
            &registry,
            &opts.root,
            &logs,
            opts.cpus.as_ref().map(|c| c.load.as_str()),
        )?,
    };
    let open = OpenPhase::plan(opts, &contracts)?;
    let servers = |c: &Contract| match &opts.external {
        Some(_) => 1,
        None => frameworks
            .iter()
            .filter(|(_, f)| f.serves(&c.category))
            .count() as u64,
    };
    let steps = Steps::count(opts, &contracts, &servers, &open);
    let runner = Runner {
        opts,
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the runtime")?,
        logs,
        progress: Progress::new(steps.total),
        oha: open.oha.clone(),
        upstream: upstream.upstream.clone(),
    };
    runner.announce(&open, &steps);

    let started_at = crate::machine::now();
    let ceiling = runner.ceiling(&registry)?;
    let mut measured: Vec<FrameworkResult> = runner.external(&registry, &contracts);
    let steps = |c: &Contract| Steps::of_category(opts, c, &open);
    if opts.side_by_side(frameworks.len()) {
        measured.extend(runner.side_by_side(&frameworks, &contracts, &steps));
    } else {
        measured.extend(runner.frameworks(&frameworks, &contracts, &steps));
    }
    runner.progress.finish();

    let mut results = Results {
        schema_version: SCHEMA_VERSION,
        started_at,
        finished_at: crate::machine::now(),
        git: crate::machine::git(),
        machine: crate::machine::machine(),
        tools: tools(wrk_version, &open),
        parameters: parameters(
            opts,
            &contracts,
            &frameworks,
            open,
            cluster.as_ref(),
            upstream.description.clone(),
        ),
        ceiling,
        frameworks: measured,
    };
    attach_ceiling(&mut results);
    let path = opts.output.join(format!("{run_id}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&results)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Outcome {
        path,
        problems: problems(&results),
    })
}

/// The registry's frameworks named by `--framework`; none with `--url`,
/// where the name labels the one external server.
fn selected_frameworks<'r>(
    opts: &RunOptions,
    registry: &'r Registry,
) -> Result<Vec<(&'r str, &'r Framework)>> {
    match &opts.external {
        None => registry.select(&opts.frameworks),
        Some(_) if opts.frameworks == "all" || opts.frameworks.contains(',') => {
            bail!("with --url, --framework names the one server measured")
        }
        Some(_) => Ok(Vec::new()),
    }
}

/// The contracts of `--category` (in a scaling run, those with a preload),
/// with every `--endpoints` name known to one of them.
fn selected_contracts(opts: &RunOptions) -> Result<Vec<Contract>> {
    let mut contracts = contracts(&opts.contracts, &opts.categories)?;
    if !opts.state.is_empty() {
        contracts.retain(|c| {
            let scaled = c.preload.is_some();
            if !scaled {
                eprintln!(
                    "{}: no preload in its contract, not part of a scaling run",
                    c.category
                );
            }
            scaled
        });
        if contracts.is_empty() {
            bail!("--state scales categories whose contract declares a preload (the stateful ones); none was selected");
        }
    }
    if let Some(list) = &opts.endpoints {
        for name in list {
            if !contracts.iter().any(|c| c.endpoint(name).is_some()) {
                let known: Vec<&str> = contracts
                    .iter()
                    .flat_map(|c| c.endpoints.iter().map(|e| e.name.as_str()))
                    .collect();
                bail!("unknown endpoint `{name}` (known: {})", known.join(", "));
            }
        }
    }
    Ok(contracts)
}

/// Refuses a load without connections, and an external target that does
/// not answer or whose `--pid` is not a process here.
fn check_load_and_target(opts: &RunOptions) -> Result<()> {
    if opts.connections.is_empty() || opts.connections.contains(&0) {
        bail!("connections must be at least 1");
    }
    if let Some(target) = &opts.external {
        options::reachable(&target.url)?;
        if let Some(pid) = target.pid {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                bail!("--pid {pid}: no such process on this machine");
            }
        }
    }
    Ok(())
}

/// The progress display's steps: the ceiling's start and levels, then per
/// server and category a start, plus per store size a filling in a
/// scaling run, plus the measurements, plus the open-model phase's offered
/// rates.
struct Steps {
    total: u64,
    /// Steps that are measurements.
    measured: u64,
}

impl Steps {
    /// `servers(c)`: how many servers serve category `c` (the frameworks
    /// that implement it, or the one external server).
    fn count(
        opts: &RunOptions,
        contracts: &[Contract],
        servers: &dyn Fn(&Contract) -> u64,
        open: &OpenPhase,
    ) -> Steps {
        let conns = opts.connections.len() as u64;
        let mut total = 1 + conns;
        // Steps that are not measurements: a start per server and category,
        // a filling per store size in a scaling run, the offered rates.
        let mut other = 1;
        for c in contracts {
            let n = servers(c);
            total += n * Steps::of_category(opts, c, open);
            other += n * (1 + opts.state.len() as u64 + open_points(opts, c, open));
        }
        Steps {
            total,
            measured: total.saturating_sub(other),
        }
    }

    /// The steps of one server's category: its start, a filling per store
    /// size in a scaling run, its measurements, its offered rates.
    fn of_category(opts: &RunOptions, c: &Contract, open: &OpenPhase) -> u64 {
        let conns = opts.connections.len() as u64;
        let endpoints = c.endpoints.iter().filter(|e| opts.selects(&e.name)).count();
        let scenarios = if opts.scenarios { c.scenarios.len() } else { 0 };
        let closed = match (&c.preload, opts.state.len() as u64) {
            (Some(p), sizes) if sizes > 0 => {
                let measured = p.measure.iter().filter(|n| opts.selects(n)).count() as u64;
                1 + sizes * (1 + measured * conns)
            }
            _ => 1 + (endpoints + scenarios) as u64 * conns,
        };
        closed + open_points(opts, c, open)
    }
}

/// The open-model phase's offered rates in a category of one server.
fn open_points(opts: &RunOptions, c: &Contract, open: &OpenPhase) -> u64 {
    if open.oha.is_none() || !open.categories.contains(&c.category) {
        return 0;
    }
    let suitable = c
        .endpoints
        .iter()
        .filter(|e| opts.selects(&e.name))
        .filter(|e| targets::endpoint(e, 0).is_ok_and(|t| open_model::unsuitable(&t).is_none()))
        .count() as u64;
    suitable * (opts.open.fractions.len() as u64 + 1)
}

/// The open-model phase as planned: its categories, and oha (or why it
/// will not run).
struct OpenPhase {
    categories: Vec<String>,
    oha: Option<PathBuf>,
    /// oha's version, or `not run: …`; None when no category has the phase.
    tool: Option<String>,
}

impl OpenPhase {
    fn plan(opts: &RunOptions, contracts: &[Contract]) -> Result<OpenPhase> {
        let categories: Vec<String> = contracts
            .iter()
            .filter(|c| opts.open.covers(&c.category))
            .map(|c| c.category.clone())
            .collect();
        let oha = if categories.is_empty() {
            None
        } else {
            open_model::find(&opts.root)
        };
        let tool = match &oha {
            Some(path) => Some(open_model::version(path)?),
            None if categories.is_empty() => None,
            None => Some(format!("not run: {}", open_model::INSTALL_HINT)),
        };
        Ok(OpenPhase {
            categories,
            oha,
            tool,
        })
    }
}

impl Runner<'_> {
    /// Says what the run will do before it starts.
    fn announce(&self, open: &OpenPhase, steps: &Steps) {
        if let Some(tool) = open.tool.as_deref().filter(|t| t.starts_with("not run")) {
            self.progress
                .note(format!("warning: the open-model phase is {tool}"));
        }
        let runs = match &self.opts.adaptive {
            Some(a) => format!(
                "{}–{} run(s) (until ±{:.1} %) ",
                a.min_samples,
                a.max_samples,
                a.precision * 100.0
            ),
            None => format!("{} run(s) ", self.opts.repeat.max(1)),
        };
        self.progress.note(format!(
            "measuring {} target(s) × {runs}× {:?} (+ warm-ups); logs in {}",
            steps.measured,
            self.opts.duration,
            self.logs.display()
        ));
    }

    /// The `--url` server's categories, if there is one. A name from the
    /// registry brings its description and documented limitations; any
    /// other name is just a label.
    fn external(&self, registry: &Registry, contracts: &[Contract]) -> Vec<FrameworkResult> {
        let Some(target) = &self.opts.external else {
            return Vec::new();
        };
        let name = self.opts.frameworks.as_str();
        let known = registry.frameworks.get(name);
        vec![FrameworkResult {
            name: name.to_owned(),
            description: known.map_or_else(
                || "an external server".to_owned(),
                |f| f.description.clone(),
            ),
            version: "version not recorded".to_owned(),
            wall_seconds: None,
            categories: contracts
                .iter()
                .map(|c| {
                    let failures = known.map(|f| f.known_in(&c.category)).unwrap_or_default();
                    timed(|| self.external_category(name, target, c, &failures))
                })
                .collect(),
        }]
    }

    /// Each framework's setup, then each category it implements started,
    /// verified and measured (`steps(category)` progress steps), with the
    /// wall time it took.
    fn frameworks(
        &self,
        frameworks: &[(&str, &Framework)],
        contracts: &[Contract],
        steps: &dyn Fn(&Contract) -> u64,
    ) -> Vec<FrameworkResult> {
        let mut setups = Setups::default();
        let mut out = Vec::new();
        for &(name, f) in frameworks {
            let start = std::time::Instant::now();
            let served: Vec<&Contract> =
                contracts.iter().filter(|c| f.serves(&c.category)).collect();
            self.progress
                .begin(name, served.iter().map(|c| steps(c)).sum());
            let setup = setups.run(f, &self.opts.root, &self.logs, &self.progress);
            let categories = served
                .into_iter()
                .map(|c| timed(|| self.framework_category(name, f, c, &setup)))
                .collect();
            out.push(FrameworkResult {
                name: name.to_owned(),
                description: f.description.clone(),
                version: crate::machine::version_of(&f.version),
                categories,
                wall_seconds: Some(start.elapsed().as_secs_f64()),
            });
        }
        out
    }

    /// One framework's category, or why it was not run (its setup failed,
    /// or the registry has no server for it).
    fn framework_category(
        &self,
        name: &str,
        f: &Framework,
        c: &Contract,
        setup: &Result<(), String>,
    ) -> CategoryResult {
        match self.runnable(name, f, c, setup) {
            Ok(command) => self.category(name, f, &command, c, &f.known_in(&c.category)),
            Err(result) => *result,
        }
    }

    /// The command that serves a framework's category, or its result saying
    /// why it cannot run (its setup failed, or the registry has no server
    /// for it).
    fn runnable(
        &self,
        name: &str,
        f: &Framework,
        c: &Contract,
        setup: &Result<(), String>,
    ) -> Result<Vec<String>, category::NotRun> {
        let largest = self.opts.state.last().copied().unwrap_or(0);
        let error = match (f.command_for(&c.category, largest), setup) {
            (Some(command), Ok(())) => return Ok(command),
            (_, Err(e)) => e.clone(),
            (None, Ok(())) => format!("{name} has no server for {} in the registry", c.category),
        };
        self.progress
            .step(format!("{name}/{}: {error}", c.category));
        let mut r = CategoryResult::new(&c.category);
        r.error = Some(error);
        Err(Box::new(r))
    }
}

/// A category's result with the wall time it took.
fn timed(category: impl FnOnce() -> CategoryResult) -> CategoryResult {
    let start = std::time::Instant::now();
    let mut result = category();
    result.wall_seconds = Some(start.elapsed().as_secs_f64());
    result
}

/// The tools and versions the results record (oha's as the open-model
/// phase found it, not asked again).
fn tools(wrk_version: String, open: &OpenPhase) -> BTreeMap<String, String> {
    let mut tools = BTreeMap::from([("wrk".to_owned(), wrk_version)]);
    if let (Some(_), Some(version)) = (&open.oha, &open.tool) {
        tools.insert("oha".to_owned(), version.clone());
    }
    if let Some(v) = crate::machine::rustc() {
        tools.insert("rustc".to_owned(), v);
    }
    tools
}

/// The run's parameters, as recorded with its results.
fn parameters(
    opts: &RunOptions,
    contracts: &[Contract],
    frameworks: &[(&str, &Framework)],
    open: OpenPhase,
    cluster: Option<&crate::database::Cluster>,
    upstream: Option<String>,
) -> Parameters {
    let database = contracts
        .iter()
        .any(|c| c.category == crate::database::CATEGORY)
        .then(|| crate::database::DatabaseParameters {
            engine: opts.database,
            server: cluster.map(|c| c.version.clone()),
        });
    Parameters {
        database,
        upstream,
        categories: contracts.iter().map(|c| c.category.clone()).collect(),
        frameworks: match &opts.external {
            Some(_) => vec![opts.frameworks.clone()],
            None => frameworks.iter().map(|(n, _)| (*n).to_owned()).collect(),
        },
        duration_seconds: opts.duration.as_secs().max(1),
        warmup_seconds: opts.warmup.as_secs(),
        connections: opts.connections.clone(),
        threads: opts.threads,
        repeat: opts.repeat.max(1),
        endpoints: opts.endpoints.clone(),
        scenarios: opts.scenarios,
        keep_alive: true,
        pipelining: false,
        workers: opts.external.is_none().then(|| opts.workers()),
        cpus: opts.cpus.clone(),
        open_model: open.tool.map(|tool| OpenModelParameters {
            categories: open.categories,
            duration_seconds: opts.open.duration.as_secs().max(1),
            fractions: opts.open.fractions.clone(),
            common_rate: opts.open.common_rate,
            tool,
        }),
        load_generator: crate::results::WRK.to_owned(),
        state: opts.state.clone(),
        adaptive: opts.adaptive,
        side_by_side: opts.side_by_side(frameworks.len()),
    }
}

/// One line per framework × category that failed to start, verify or
/// measure.
fn problems(results: &Results) -> Vec<String> {
    let mut problems = Vec::new();
    for f in &results.frameworks {
        for c in &f.categories {
            if let Some(e) = &c.error {
                problems.push(format!("{}/{}: {e}", f.name, c.category));
            } else if c.verify.failed > 0 {
                problems.push(format!(
                    "{}/{}: {} verification check(s) failed",
                    f.name, c.category, c.verify.failed
                ));
            }
        }
    }
    problems
}
