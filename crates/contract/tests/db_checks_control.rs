//! The control of `contract::db_checks`: a server that answers every
//! transfer 201 without moving money, and stores a user's name otherwise
//! than it was sent, fails both checks (so their passing on the real
//! servers means something).

#![allow(clippy::unwrap_used)]

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// The answer of the lying server to one request.
fn answer(method: &str, path: &str) -> (u16, String) {
    match (method, path) {
        ("POST", "/transfers") => (201, r#"{"id":1}"#.into()),
        ("POST", "/users") => (201, r#"{"id":1001}"#.into()),
        ("GET", "/accounts/total") => (200, r#"{"total":5500056900,"accounts":1000}"#.into()),
        ("GET", "/users/1001") => (200, r#"{"id":1001,"name":"sanitized","email":"x"}"#.into()),
        ("GET", p) if p.starts_with("/accounts/") => {
            let id = &p["/accounts/".len()..];
            (
                200,
                format!(r#"{{"id":{id},"user_id":{id},"balance":1000000}}"#),
            )
        }
        _ => (404, r#"{"error":"not_found"}"#.into()),
    }
}

/// Serves HTTP/1.1 keep-alive connections with `answer` until dropped.
async fn lying_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut read = BufReader::new(read);
                loop {
                    let mut line = String::new();
                    if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                    let (method, path) = (method.to_owned(), path.to_owned());
                    let mut length = 0;
                    loop {
                        let mut header = String::new();
                        read.read_line(&mut header).await.unwrap();
                        if header.trim().is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap();
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    read.read_exact(&mut body).await.unwrap();
                    let (status, body) = answer(&method, &path);
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    if write.write_all((head + &body).as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

#[tokio::test]
async fn a_server_that_moves_no_money_fails_the_transfer_check() {
    let url = lying_server().await;
    let e = contract::db_checks::transfers_keep_every_balance(&url, 1, 1)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("the answered transfers give"),
        "{e:#}"
    );
}

#[tokio::test]
async fn a_server_that_rewrites_a_name_fails_the_metacharacter_check() {
    let url = lying_server().await;
    let e = contract::db_checks::metacharacters_are_data(&url)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("read back as"), "{e:#}");
}
