//! Cron schedules in Asia/Shanghai against the holiday calendar, data-driven from
//! `fixtures/worker/cron_cases.toml`: next fire times (local and UTC), the business date
//! each fire queues, and that several fires of one date queue one batch.

mod common;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use common::*;
use fundrecon::calendar::Calendar;
use fundrecon::worker::schedule::{self, Schedule};

#[derive(serde::Deserialize)]
struct Cases {
    case: Vec<Case>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    schedule: String,
    after: String,
    fires: Vec<String>,
    #[serde(default)]
    fires_utc: Vec<String>,
    dates: Vec<String>,
}

fn local(s: &str) -> DateTime<Utc> {
    let n = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap_or_else(|e| panic!("{s}: {e}"));
    Shanghai.from_local_datetime(&n).single().unwrap().with_timezone(&Utc)
}

#[test]
fn next_fires_and_business_dates_follow_the_cases() {
    let text = read(&std::path::Path::new(ROOT).join("fixtures/worker/cron_cases.toml"));
    let cases: Cases = toml::from_str(&text).unwrap();
    assert!(cases.case.len() >= 10);
    let cal = Calendar::china();
    for c in &cases.case {
        let s = Schedule::parse(&c.schedule).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let after = local(&c.after);
        let until = local(c.fires.last().unwrap());
        let got = s.fires(Shanghai, after, until);
        let want: Vec<DateTime<Utc>> = c.fires.iter().map(|f| local(f)).collect();
        assert_eq!(got, want, "{}: fires", c.name);
        if !c.fires_utc.is_empty() {
            let utc: Vec<String> = got.iter().map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).collect();
            assert_eq!(utc, c.fires_utc, "{}: UTC", c.name);
        }
        let dates: Vec<String> = got
            .iter()
            .map(|t| schedule::business_date(&cal, Shanghai, *t).map(|d| d.to_string()).unwrap_or_default())
            .collect();
        assert_eq!(dates, c.dates, "{}: business dates", c.name);
        assert_eq!(s.next_fire(Shanghai, after), want.first().copied(), "{}: next fire", c.name);
    }
}

#[test]
fn several_fires_of_one_date_queue_one_batch_per_channel() {
    let cal = Calendar::china();
    let chans = vec![
        ("boc-drop".to_string(), "boc".to_string(), Schedule::parse("0 0/15 * * * *").unwrap()),
        ("icbc-drop".to_string(), "icbc".to_string(), Schedule::parse("0 30 6 * * Mon-Fri").unwrap()),
    ];
    // National Day 2024: from Monday 30 September 06:00 to Wednesday 2 October 07:00.
    let due = schedule::due(&chans, &cal, Shanghai, local("2024-09-30 06:00:00"), local("2024-10-02 07:00:00"));
    let got: Vec<(String, NaiveDate)> = due.iter().map(|d| (d.channel.clone(), d.date)).collect();
    let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    assert_eq!(
        got,
        [
            ("boc-drop".to_string(), d("2024-09-29")), // 06:15 on the 30th: the make-up Sunday
            ("icbc-drop".to_string(), d("2024-09-29")), // 06:30 on the 30th
            ("boc-drop".to_string(), d("2024-09-30")), // midnight into 1 October
            ("icbc-drop".to_string(), d("2024-09-30")), // 06:30 on 1 October; 2 October: nothing new
        ]
    );
    assert_eq!(due[0].fired_at, local("2024-09-30 06:15:00"));
    // An empty window, and a window that ends before it starts, queue nothing.
    assert!(
        schedule::due(&chans, &cal, Shanghai, local("2024-09-30 06:31:00"), local("2024-09-30 06:44:59")).is_empty()
    );
    assert!(
        schedule::due(&chans, &cal, Shanghai, local("2024-10-02 00:00:00"), local("2024-10-01 00:00:00")).is_empty()
    );
}

#[test]
fn the_config_refuses_misleading_schedules_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = demo_copy(dir.path(), "");
    let text = read(&cfg)
        .replace("name = \"boc-drop\"\n", "name = \"boc-drop\"\nschedule = \"0 30 6 * * 2-6\"\n")
        .replace("name = \"icbc-drop\"\n", "name = \"icbc-drop\"\nschedule = \"30 6 * * Mon-Fri\"\n")
        + "\n[worker]\ntimezone = \"Asia/Beijing\"\nlease_secs = 1\nmetrics_listen = \"localhost\"\ncalendar = \"nope.toml\"\n";
    std::fs::write(&cfg, text).unwrap();
    let e = fundrecon::config::Config::load(&cfg).unwrap_err().to_string();
    for want in [
        "channels[0].schedule: \"0 30 6 * * 2-6\": write day-of-week with names",
        "channels[1].schedule: \"30 6 * * Mon-Fri\" has 5 fields",
        "worker.timezone: \"Asia/Beijing\" is not a supported time zone",
        "worker.calendar: ",
        "worker.lease_secs: 1 is outside 2..=3600",
        "worker.metrics_listen: \"localhost\" is not an address:port",
    ] {
        assert!(e.contains(want), "{want} missing from {e}");
    }
}

/// The example production config has the right shape: every key known, schedules and the
/// `[worker]` section valid. Only what exists on a production machine is missing here.
#[test]
fn the_production_example_config_is_valid_but_for_its_machine_paths() {
    let text = read(&std::path::Path::new(ROOT).join("ops/fundrecon-production.toml"));
    let cfg = fundrecon::config::Config::parse(&text).unwrap();
    assert!(cfg.database_url().starts_with("postgres://") || std::env::var("FUNDRECON_DATABASE_URL").is_ok());
    assert!(cfg.channels.iter().all(|c| c.schedule.is_some()));
    for p in cfg.check() {
        assert!(
            p.path.ends_with(".key_file") || p.path.ends_with(".host_key") || p.path.starts_with("books["),
            "unexpected problem: {p}"
        );
    }
}
