//! In-process validation throughput per model (items/s), on the same fixture
//! bytes that `scripts/compare_pydantic.sh` gives pydantic.

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use shared::validation::{
    parse, parse_batch, AdvancedUser, ComplexUser, MegaBatch, Order, Product, SimpleUser,
};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

// The allocator every server binary uses.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared-endpoints/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn models(c: &mut Criterion) {
    let mut g = c.benchmark_group("validate");
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));

    macro_rules! single {
        ($name:literal, $file:literal, $model:ty) => {{
            let bytes = fixture($file);
            g.throughput(Throughput::Elements(1));
            g.bench_function(BenchmarkId::from_parameter($name), |b| {
                b.iter(|| parse::<$model>(black_box(&bytes)).is_ok())
            });
        }};
    }
    macro_rules! batch {
        ($name:literal, $file:literal, $model:ty, $n:expr) => {{
            let bytes = fixture($file);
            g.throughput(Throughput::Elements($n));
            g.bench_function(BenchmarkId::from_parameter($name), |b| {
                b.iter(|| parse_batch::<$model>(black_box(&bytes)).map(|r| r.valid))
            });
        }};
    }
    single!("simple_user", "simple_user.json", SimpleUser);
    single!("advanced_user", "advanced_user.json", AdvancedUser);
    single!("complex_user", "complex_user.json", ComplexUser);
    single!("product", "product.json", Product);
    single!("invalid_user", "invalid_user.json", AdvancedUser);
    batch!("users_100", "users_100.json", AdvancedUser, 100);
    batch!("products_100", "products_100.json", Product, 100);
    batch!("orders_50", "orders_50.json", Order, 50);
    {
        let bytes = fixture("mega_batch.json");
        g.throughput(Throughput::Elements(125));
        g.bench_function(BenchmarkId::from_parameter("mega_batch"), |b| {
            b.iter(|| parse::<MegaBatch>(black_box(&bytes)).is_ok())
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
