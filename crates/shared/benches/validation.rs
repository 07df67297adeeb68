//! In-process validation throughput per case (items/s), on the same fixture
//! bytes that `scripts/compare_pydantic.sh` gives pydantic and msgspec.

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use shared::validation::cases::CASES;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

// The allocator every server binary uses.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn models(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared-endpoints/fixtures");
    let mut g = c.benchmark_group("validate");
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    for case in CASES {
        let path = dir.join(case.fixture);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!((case.run)(&bytes), "{}: unexpected outcome", case.name);
        g.throughput(Throughput::Elements(case.items));
        g.bench_function(BenchmarkId::from_parameter(case.name), |b| {
            b.iter(|| (case.run)(black_box(&bytes)))
        });
    }
    g.finish();
}

#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::models);
}
use harness::benches;
criterion_main!(benches);
