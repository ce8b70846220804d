//! Task supervision in a running node: a critical task that dies stops the node with a clear
//! error; a restartable one is restarted, counted, and comes back.

use std::time::{Duration, Instant};

use crate::harness::Net;

/// The value of a metric line (`name{labels} value`) in node `i`'s `/metrics`.
async fn metric(net: &Net, i: usize, line: &str) -> Option<f64> {
    let text = reqwest::get(format!("{}/metrics", net.apis[i]))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(line)?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_critical_task_that_dies_stops_the_node_with_a_clear_error() {
    let mut net = Net::init_with(1, 0, &[], |_, _| {});
    // Someone else holds the API's port: the API task fails at once.
    let port = net.apis[0].rsplit(':').next().unwrap().to_owned();
    let _taken = std::net::TcpListener::bind(format!("127.0.0.1:{port}")).unwrap();
    net.restart(0);
    let status = net
        .wait_exit(0, Duration::from_secs(60))
        .await
        .expect("the node keeps running without its API");
    assert!(!status.success());
    let log = net.log(0);
    assert!(
        log.contains("critical task api stopped") && log.contains("in use"),
        "{log}"
    );
}

/// Malachite's network only logs a failed listen; the node itself must not run on cut off.
#[tokio::test]
async fn a_node_that_cannot_listen_for_peers_stops_and_says_why() {
    let mut net = Net::init_with(1, 0, &[], |_, _| {});
    let config: toml::Table = std::fs::read_to_string(net.homes[0].join("config.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let listen = config["p2p"]["listen"].as_str().unwrap();
    let port = listen.rsplit('/').next().unwrap();
    let _taken = std::net::TcpListener::bind(format!("127.0.0.1:{port}")).unwrap();
    net.restart(0);
    let status = net
        .wait_exit(0, Duration::from_secs(60))
        .await
        .expect("the node keeps running without its peers");
    assert!(!status.success());
    let log = net.log(0);
    assert!(
        log.contains(&format!("cannot listen for peers on {listen}")) && log.contains("in use"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restartable_task_that_dies_is_restarted_and_comes_back() {
    let l1 = crate::force::l1_net(|_, _| {}).await;
    let net = &l1.net;
    let data = net.homes[0].join("data");
    let saved = data.join("l1-view.json");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !saved.exists() {
        assert!(Instant::now() < deadline, "the L1 view is never saved");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The disk refuses the saver's next write: a directory where its temporary file goes.
    let tmp = data.join("l1-view.json.tmp");
    std::fs::create_dir(&tmp).unwrap();
    let restarts = "ordo_node_task_restarts_total{task=\"l1-view-saver\"}";
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(net, 0, restarts).await.unwrap_or(0.0) < 1.0 {
        assert!(Instant::now() < deadline, "the saver is never restarted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The node is up all along, and the saver writes again once the disk does.
    assert!(net.height(0).await.is_some());
    std::fs::remove_dir(&tmp).unwrap();
    let before = std::fs::metadata(&saved).unwrap().modified().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let up = metric(net, 0, "ordo_node_task_up{task=\"l1-view-saver\"}").await;
        let written = std::fs::metadata(&saved).unwrap().modified().unwrap() > before;
        if up == Some(1.0) && written {
            break;
        }
        assert!(Instant::now() < deadline, "the saver never came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
