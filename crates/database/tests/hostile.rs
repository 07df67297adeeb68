//! A hostile client on raw sockets against the database server (on its own
//! SQLite file): every probe gets a 4xx or a close, never a 5xx or a hang,
//! and `/health` keeps answering (see `contract::hostile`).

#[tokio::test]
async fn survives_a_hostile_client() {
    let report = contract::hostile::start_and_probe(env!("CARGO_BIN_EXE_database"), "database")
        .await
        .expect("server starts and the contract loads");
    eprintln!("{}", report.table());
    assert!(report.passed(), "\n{}", report.table());
}
