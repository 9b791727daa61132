//! An hour of schedule time with a simulated clock (nothing sleeps): the worker queues
//! exactly the batches its channels' schedules ask for, by the holiday calendar, and
//! runs them to the end. SQLite, demo data, in process.

mod common;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use common::*;
use fundrecon::config::Config;
use fundrecon::store::Store;
use fundrecon::worker::{Clock, Options, Worker};

fn local(s: &str) -> DateTime<Utc> {
    let n = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    Shanghai.from_local_datetime(&n).single().unwrap().with_timezone(&Utc)
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Runs one simulated hour from `start` (local) and returns the batches by id.
async fn hour(cfg: &Config, store: &Store, start: &str) -> Vec<(String, NaiveDate, String, String)> {
    let t0 = local(start);
    let clock = Clock::simulated(t0);
    let opts = Options {
        id: Some("sim".into()),
        drain: false,
        until: Some(t0 + chrono::Duration::hours(1)),
        clock: clock.clone(),
    };
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let wall = std::time::Instant::now();
    let mut w = Worker::start(cfg, store, &opts).await.unwrap();
    w.run(&opts, rx).await.unwrap();
    assert!(clock.now() >= t0 + chrono::Duration::hours(1), "the simulated hour passed");
    assert!(wall.elapsed() < std::time::Duration::from_secs(60), "simulated, not slept: {:?}", wall.elapsed());
    let mut out = Vec::new();
    for r in store.runs(false).await.unwrap() {
        let by = store.queue_row(r.id).await.unwrap().unwrap().queued_by.unwrap_or_default();
        out.push((r.channel, r.business_date, r.state, by));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hour_of_schedule_time_runs_the_expected_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg_path = demo_copy(tmp.path(), &format!("sqlite://{}", tmp.path().join("sim.db").display()));
    // BOC every half hour, ICBC at 00:15 on weekdays; no catch-up of earlier fires.
    let text = read(&cfg_path)
        .replace("name = \"boc-drop\"\n", "name = \"boc-drop\"\nschedule = \"0 0/30 * * * *\"\n")
        .replace("name = \"icbc-drop\"\n", "name = \"icbc-drop\"\nschedule = \"0 15 0 * * Mon-Fri\"\n")
        + "\n[worker]\ncatch_up_hours = 0\npoll_secs = 60\n";
    std::fs::write(&cfg_path, text).unwrap();
    let cfg = Config::load(&cfg_path).unwrap();
    let store = Store::open(&cfg.database_url()).await.unwrap();

    // Thursday 21 March 2024 23:20 → Friday 00:20: BOC fires at 23:30 (business date
    // Wednesday 20th) and 00:00 (Thursday 21st), ICBC at 00:15 (Thursday 21st).
    let got = hour(&cfg, &store, "2024-03-21 23:20").await;
    let want = [
        ("boc-drop", d("2024-03-20"), "done", "schedule boc-drop at 2024-03-21 23:30:00"),
        ("boc-drop", d("2024-03-21"), "done", "schedule boc-drop at 2024-03-22 00:00:00"),
        ("icbc-drop", d("2024-03-21"), "done", "schedule icbc-drop at 2024-03-22 00:15:00"),
    ];
    let got_ref: Vec<(&str, NaiveDate, &str, &str)> =
        got.iter().map(|(c, d, s, q)| (c.as_str(), *d, s.as_str(), q.as_str())).collect();
    assert_eq!(got_ref, want);
    for date in ["2024-03-20", "2024-03-21"] {
        assert!(tmp.path().join("reports").join(date).join("matches.csv").is_file(), "{date} reported");
    }

    // National Day: an hour on 1 October 2024 queues the batches of Monday 30 September
    // (BOC at 06:00 and 06:30 give the same date: one batch); ICBC does not fire.
    let got = hour(&cfg, &store, "2024-10-01 05:50").await;
    let new: Vec<(&str, NaiveDate, &str)> =
        got.iter().skip(3).map(|(c, d, s, _)| (c.as_str(), *d, s.as_str())).collect();
    assert_eq!(new, [("boc-drop", d("2024-09-30"), "done")]);
    // The next morning's fires ask for the same date again: nothing new.
    let got = hour(&cfg, &store, "2024-10-02 05:50").await;
    assert_eq!(got.len(), 4, "{got:?}");
    store.close().await;
}
