//! `actix-web-peer CATEGORY [--host 127.0.0.1] [--port N] [--threads N] [--room N]`:
//! one category of the suite in actix-web, with the reference servers'
//! defaults (port per category, one worker per core, jemalloc).

use actix_web_peer::{database, files, realworld, serve, tasks};
use clap::{Parser, ValueEnum};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The suite's categories in actix-web, embedding the shared crate.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The category to serve.
    category: Category,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on; 0 picks a free one [default: the category's].
    #[arg(long)]
    port: Option<u16>,
    /// actix workers (one single-threaded runtime each) [default: number of
    /// cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Records the store may hold: the task queue's capacity and retained
    /// finished tasks, the file quota, raised to at least this (for scaling
    /// runs) [default: the reference server's bounds].
    #[arg(long, default_value_t = 0)]
    room: usize,
    /// `database` only: `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`
    /// [default: a new SQLite file in a fresh temporary directory].
    #[arg(long, env = "BENCH_DATABASE_URL")]
    database: Option<String>,
    /// `async_operations` only: the HTTP server `/async/upstream` calls.
    #[arg(long, env = "BENCH_UPSTREAM_URL", default_value = shared::asyncops::DEFAULT_UPSTREAM)]
    upstream: String,
    /// `middleware` only: the stacks' settings.
    #[command(flatten)]
    stacks: shared::middleware::MiddlewareArgs,
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
enum Category {
    Basic,
    Validation,
    FileOperations,
    BackgroundTasks,
    RealWorldScenarios,
    Database,
    AsyncOperations,
    Middleware,
}

impl Category {
    fn default_port(self) -> u16 {
        match self {
            Self::Basic => 8000,
            Self::Validation => 8100,
            Self::FileOperations => 8200,
            Self::BackgroundTasks => 8300,
            Self::RealWorldScenarios => 8400,
            Self::Database => 8500,
            Self::AsyncOperations => 8600,
            Self::Middleware => 8700,
        }
    }
}

use shared::tasks::service::DRAIN_TIMEOUT as TASK_DRAIN_TIMEOUT;

type Outcome = Result<(), Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let threads = cli.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let addr = SocketAddr::new(cli.host, cli.port.unwrap_or(cli.category.default_port()));
    let outcome: Outcome = match cli.category {
        Category::Basic => {
            serve(addr, threads, |_| actix_web_peer::basic::routes()).map_err(Into::into)
        }
        Category::Validation => {
            serve(addr, threads, |_| actix_web_peer::validation::routes()).map_err(Into::into)
        }
        Category::FileOperations => file_operations(addr, threads, cli.room),
        Category::BackgroundTasks => background_tasks(addr, threads, cli.room),
        Category::RealWorldScenarios => real_world(addr, threads),
        Category::Database => database(addr, threads, cli.database.as_deref()),
        Category::AsyncOperations => async_operations(addr, threads, &cli.upstream),
        Category::Middleware => middleware(addr, threads, &cli.stacks),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("actix-web-peer: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The file store in a fresh temporary directory, removed at exit.
fn file_operations(addr: SocketAddr, threads: usize, room: usize) -> Outcome {
    let storage = tempfile::Builder::new()
        .prefix("actix-web-peer-files-")
        .tempdir()
        .map_err(|e| format!("cannot create a storage directory: {e}"))?;
    let limits = shared::files::service::Limits::default().with_room(room);
    let service = shared::files::Service::open(storage.path(), &limits)
        .map_err(|e| format!("cannot open the store: {e}"))?;
    serve(addr, threads, |_| files::routes(service.clone()))?;
    drop(service);
    drop(storage);
    Ok(())
}

/// The task queue, on a runtime of its own.
///
/// actix-web runs each worker on its own single-threaded Tokio runtime. The
/// queue's workers are Tokio tasks spawned on whichever runtime
/// `Service::start` is called in: started inside an actix worker, they
/// would all share that one worker's thread with its HTTP connections and
/// go away with it. So the queue gets a small multi-threaded Tokio runtime
/// of its own (two threads; the tasks' work runs on its blocking pool),
/// built here: `start` is called inside it (entered), it lives as long as
/// the server, and at shutdown — once actix has stopped accepting and
/// finished its in-flight requests — the queue is drained on it (running
/// tasks get `TASK_DRAIN_TIMEOUT` to finish) before it is shut down and the
/// work directory removed. Handlers on the actix workers only enqueue and
/// read the queue's state under its lock; nothing they await blocks an
/// actix worker (the journal's writes go to that worker's blocking pool).
fn background_tasks(addr: SocketAddr, threads: usize, room: usize) -> Outcome {
    let work_dir = tempfile::Builder::new()
        .prefix("actix-web-peer-tasks-")
        .tempdir()
        .map_err(|e| format!("cannot create a work directory: {e}"))?;
    let options = shared::tasks::service::Options::default().with_room(room);
    let prepared = shared::tasks::service::prepare(&options, work_dir.path())
        .map_err(|e| format!("cannot open the work directory: {e}"))?;
    let queue_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("task-queue")
        .enable_all()
        .build()?;
    let mut started = None;
    serve(addr, threads, |bound| {
        let service = {
            let _inside = queue_runtime.enter();
            shared::tasks::Service::start(prepared, &options, bound)
        };
        started = Some(service.clone());
        tasks::routes(service)
    })?;
    if let Some(service) = started {
        let left = queue_runtime.block_on(service.shutdown(TASK_DRAIN_TIMEOUT));
        eprintln!("actix-web-peer: {left}");
    }
    queue_runtime.shutdown_timeout(Duration::from_secs(1));
    drop(work_dir);
    Ok(())
}

/// The shop, blog, accounts and analytics, seeded with the reference's
/// defaults (argon2id 19456 KiB / 2 passes / 1 lane, one hashing worker
/// per core).
fn real_world(addr: SocketAddr, threads: usize) -> Outcome {
    let config = shared::realworld::Config::default();
    let service = shared::realworld::service::Service::seeded(
        &config,
        &shared::realworld::service::Options::default(),
    )?;
    serve(addr, threads, |_| realworld::routes(service))?;
    Ok(())
}

/// Scheduling, timer waits and calls to `upstream` (an `http://` URL,
/// checked before binding).
fn async_operations(addr: SocketAddr, threads: usize, upstream: &str) -> Outcome {
    let upstream = shared::asyncops::Upstream::new(upstream)?;
    serve(addr, threads, |_| {
        actix_web_peer::asyncops::routes(upstream)
    })?;
    Ok(())
}

/// The light and heavy stacks; the access log in a temporary directory
/// (removed at exit) unless one is given.
fn middleware(
    addr: SocketAddr,
    threads: usize,
    args: &shared::middleware::MiddlewareArgs,
) -> Outcome {
    let resolved = args
        .resolve()
        .map_err(|e| format!("cannot make the access log's directory: {e}"))?;
    let stacks = shared::middleware::Stacks::open(resolved.config.clone())?;
    serve(addr, threads, |_| {
        actix_web_peer::middleware::routes(stacks)
    })?;
    drop(resolved);
    Ok(())
}

/// The database (a new SQLite file in a temporary directory unless `url`
/// names one), opened and seeded before binding; the pool and cache are
/// shared by every worker.
fn database(addr: SocketAddr, threads: usize, url: Option<&str>) -> Outcome {
    let location = url.map(shared::db::Location::parse).transpose()?;
    let service = shared::db::Service::open(&shared::db::Options {
        location,
        ..Default::default()
    })?;
    serve(addr, threads, |_| database::routes(service.clone()))?;
    drop(service);
    Ok(())
}
