//! Validates one case's fixture over and over, two ways:
//!
//!     validate_repeat CASE REPEATS      N times (`scripts/count_instructions.sh`
//!                                       runs it under callgrind for two N and
//!                                       takes the difference, so start-up
//!                                       cost cancels out)
//!     validate_repeat --list            the case names, one per line
//!     validate_repeat CASE --seconds S  for about S seconds, then prints
//!                                       items per second (the loop that
//!                                       `scripts/compare_pydantic.sh` also
//!                                       runs in Python, so the three engines
//!                                       are timed alike)

use shared::validation::cases::{case, Case, CASES};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

// The allocator every server binary uses.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2);
}

fn run(case: &Case, bytes: &[u8]) {
    if !(case.run)(black_box(bytes)) {
        eprintln!("{}: unexpected outcome", case.name);
        std::process::exit(1);
    }
}

fn main() {
    let usage = "usage: validate_repeat --list | CASE (REPEATS | --seconds S)";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().unwrap_or_else(|| fail(usage));
    if name == "--list" {
        for case in CASES {
            println!("{}", case.name);
        }
        return;
    }
    let case = case(name).unwrap_or_else(|| fail(&format!("no case called {name}")));
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared-endpoints/fixtures")
        .join(case.fixture);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("--seconds"), Some(s)) => {
            let seconds: f64 = s.parse().unwrap_or_else(|_| fail(usage));
            run(case, &bytes);
            let start = Instant::now();
            let deadline = start + Duration::from_secs_f64(seconds);
            let mut calls = 0u64;
            loop {
                for _ in 0..50 {
                    run(case, &bytes);
                }
                calls += 50;
                let now = Instant::now();
                if now >= deadline {
                    let rate = (calls * case.items) as f64 / (now - start).as_secs_f64();
                    println!("{rate:.0}");
                    return;
                }
            }
        }
        (Some(n), None) => {
            let repeats: u64 = n.parse().unwrap_or_else(|_| fail(usage));
            for _ in 0..repeats {
                run(case, &bytes);
            }
            println!("{}", case.items);
        }
        _ => fail(usage),
    }
}
