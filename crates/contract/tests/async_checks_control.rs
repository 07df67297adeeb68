//! The async checks can fail: a server that answers `/async/upstream` with
//! canned JSON, never calling the upstream, fails them.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use contract::async_checks::{self, Canned};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_calls_its_upstream_fails() {
    let upstream = Canned::start("Hello, World!", "text/plain").await.unwrap();
    let liar = Canned::start(
        r#"{"mode":"upstream","n":1,"answers":[{"status":200,"bytes":13}],"bytes":13}"#,
        "application/json",
    )
    .await
    .unwrap();
    let base = liar.url().trim_end_matches('/').to_owned();
    let c = async_checks::client();
    let e = async_checks::upstream_calls_are_real(&c, &base, &upstream)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("reached the upstream 0 times"),
        "{e}"
    );
    // It answers 200 where the upstream is gone, which must be a 502.
    let e = async_checks::unreachable_upstream_gives_502(&c, &base)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("answered 200"), "{e}");
    // And its "waits" take no time: they did not wait.
    let e = async_checks::waits_overlap(&c, &base, 4).await.unwrap_err();
    assert!(e.to_string().contains("did not wait"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_waits_one_request_at_a_time_fails() {
    let blocking = Canned::serial(
        r#"{"mode":"sleep","ms":200,"slept_ms":200.1}"#,
        "application/json",
        std::time::Duration::from_millis(200),
    )
    .await
    .unwrap();
    let base = blocking.url().trim_end_matches('/').to_owned();
    let c = async_checks::client();
    let e = async_checks::waits_overlap(&c, &base, 4).await.unwrap_err();
    assert!(e.to_string().contains("did not overlap"), "{e}");
}
